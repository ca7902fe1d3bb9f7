"""What goes wrong, as the people in the channel see it."""

from __future__ import annotations

from tests.support.harness import BotHarness


async def test_a_bad_canary_fails_analysis_and_rolls_back_by_itself(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy search canary 10% to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0BOB", scenario_bot.status_message(), "release_approve")
    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text, limit_s=120
    )
    status = scenario_bot.status_message()
    replies = [r.text for r in status.replies]
    assert any("Analysis failed" in r and "error_rate 0.083 (max 0.01)" in r for r in replies)
    assert any("Rolling back to v0.9.0 automatically" in r for r in replies)
    assert any("search in production is on v0.9.0 again" in r for r in replies)
    assert "analysis failed at 10%" in str(status.blocks)
    progress = next(b for b in status.blocks if b.get("block_id") == "status_progress")
    assert "10% (analysis failed)" in progress["elements"][0]["text"]


async def test_a_red_ci_refuses_the_release_naming_the_failing_check(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy legacy to staging")
    await scenario_bot.advance(3)
    status = scenario_bot.status_message()
    assert "rejected" in status.text.lower()
    assert "CI is red: failing: unit-tests" in str(status.blocks)
    assert any("CI gate refused" in r.text and "unit-tests" in r.text for r in status.replies)


async def test_usage_errors_are_private_and_give_an_example(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy chekout canary 10%")
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 150%")
    await scenario_bot.command("U0ALICE", "/release frobnicate")
    replies = scenario_bot.replies_to("U0ALICE")
    assert any(
        "I don't know a service called `chekout`. Did you mean `checkout`?" in r for r in replies
    )
    assert any("150 is not a valid percent" in r for r in replies)
    assert any("`/release frobnicate` is not a release command" in r for r in replies)
    assert all("For example" in r for r in replies)
    assert scenario_bot.slack.messages("C0DEPLOYS") == []


async def test_help_lists_every_command(scenario_bot: BotHarness):
    await scenario_bot.command("U0CAROL", "/release help")
    (reply,) = scenario_bot.replies_to("U0CAROL")
    for command in (
        "/deploy checkout canary 10%",
        "/rollback",
        "/release status",
        "promote",
        "pause",
        "resume",
        "abort",
        "history",
        "flag new-cart 25%",
    ):
        assert command in reply


async def test_status_list_and_history(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await scenario_bot.command("U0ALICE", "/release status checkout")
    await scenario_bot.command("U0ALICE", "/release list")
    await scenario_bot.run_until(
        lambda: "live" in scenario_bot.status_message().text.lower(), limit_s=200
    )
    await scenario_bot.command("U0ALICE", "/release history checkout")
    status, active, history = scenario_bot.replies_to("U0ALICE")
    assert "*#1* checkout → staging" in status and "10% → 50% → 100%" in status
    assert "*#1* checkout → staging" in active
    assert "Last 1 release of checkout" in history and "succeeded" in history


async def test_a_tampered_button_is_refused_and_changes_nothing(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.command("U0ALICE", "/deploy search to staging")
    await scenario_bot.advance(3)
    checkout, search = [m for m in scenario_bot.slack.messages("C0DEPLOYS") if m.bot_id]
    await scenario_bot.click("U0CAROL", checkout, "release_rollback", value="2")
    assert any(
        "does not belong to release #2's message" in t for t in scenario_bot.replies_to("U0CAROL")
    )
    assert "rolling out" in scenario_bot.slack.message("C0DEPLOYS", search.ts).text
