"""Which release a rollback means: what runs now. On-call is never blocked by a newer release
waiting at its gate, and never sent to undo a release that moved no traffic."""

from __future__ import annotations

from tests.support.harness import CHANNEL, BotHarness


def releases(scenario_bot: BotHarness):
    return [m for m in scenario_bot.slack.messages(CHANNEL) if m.bot_id]


async def ship(scenario_bot: BotHarness, line: str) -> None:
    await scenario_bot.command("U0ALICE", line)
    await scenario_bot.advance(3)
    status = releases(scenario_bot)[-1]
    if "waiting for approval" in status.text:
        await scenario_bot.click("U0BOB", status, "release_approve")
    await scenario_bot.run_until(
        lambda: "live" in releases(scenario_bot)[-1].text.lower(), limit_s=300
    )


async def test_rollback_undoes_what_runs_and_aborts_a_newer_release_waiting_for_approval(
    scenario_bot: BotHarness,
):
    await ship(scenario_bot, "/deploy checkout v1.5.0 to production")
    await scenario_bot.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await scenario_bot.advance(3)
    live, waiting = releases(scenario_bot)
    assert "waiting for approval" in waiting.text

    await scenario_bot.command("U0CAROL", "/rollback checkout production latency spike")
    await scenario_bot.run_until(
        lambda: "rolled back" in releases(scenario_bot)[0].text, limit_s=30
    )
    live, waiting = releases(scenario_bot)
    assert "back on `v1.4.2` · `v1.5.0` withdrawn" in str(live.blocks)
    assert "aborted" in waiting.text.lower()
    assert "superseded by the rollback of #1" in str(waiting.blocks)
    assert scenario_bot.replies_to("U0CAROL") == []


async def test_roll_back_on_the_live_release_works_after_a_release_aborted_at_the_gate(
    scenario_bot: BotHarness,
):
    await ship(scenario_bot, "/deploy checkout v1.5.0 to production")
    await scenario_bot.command("U0ALICE", "/deploy checkout v1.5.1 to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0ALICE", releases(scenario_bot)[1], "release_abort")
    await scenario_bot.click("U0CAROL", releases(scenario_bot)[0], "release_rollback")
    await scenario_bot.run_until(
        lambda: "rolled back" in releases(scenario_bot)[0].text, limit_s=30
    )
    assert scenario_bot.replies_to("U0CAROL") == []


async def test_an_old_release_cannot_be_rolled_back_over_a_newer_one(scenario_bot: BotHarness):
    await ship(scenario_bot, "/deploy checkout v1.5.0 to staging")
    await ship(scenario_bot, "/deploy checkout v1.5.1 to staging")
    old = releases(scenario_bot)[0]
    await scenario_bot.click("U0CAROL", old, "release_rollback")
    assert any(
        "#1 is not what runs in checkout/staging now; #2 (v1.5.1) is newer" in text
        and "/rollback checkout staging" in text
        for text in scenario_bot.replies_to("U0CAROL")
    )
    assert "live" in releases(scenario_bot)[1].text.lower()


async def test_the_version_running_before_an_explicit_version_is_known(scenario_bot: BotHarness):
    await ship(scenario_bot, "/deploy checkout v1.4.4 to staging")
    assert "`v1.4.2` → `v1.4.4`" in str(releases(scenario_bot)[0].blocks)


async def test_concurrent_releases_when_the_catalog_allows_them(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy jobs v2.0.0")
    await scenario_bot.command("U0BOB", "/deploy jobs v2.0.1")
    assert len(releases(scenario_bot)) == 2
    await scenario_bot.command("U0ALICE", "/release pause jobs staging")
    assert any(
        "several active releases in staging (#1, #2)" in t
        for t in scenario_bot.replies_to("U0ALICE")
    )
    await scenario_bot.advance(6)
    await scenario_bot.command("U0ALICE", "/release pause #2")
    assert "paused" in releases(scenario_bot)[1].text.lower()
    assert "paused" not in releases(scenario_bot)[0].text.lower()
