"""The controls through Slack: the reject modal, the engine ticking by itself, a long step's
status message refreshed, a double click on a rendered button. What the controls do to a
release is tested on the services, in tests/services/test_control_rules.py."""

from __future__ import annotations

from tests.support.harness import CHANNEL, BotHarness


async def test_reject_asks_for_a_reason_in_a_modal_and_ends_the_release(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0BOB", scenario_bot.status_message(), "release_reject")
    modal = scenario_bot.slack.modal("U0BOB")
    assert modal is not None and modal.definition["title"]["text"] == "Reject #1"

    too_short = await scenario_bot.slack.submit_view(
        "U0BOB", modal.id, {"reason": {"reason": "no"}}
    )
    assert too_short.json["response_action"] == "errors"
    assert "Say why" in too_short.json["errors"]["reason"]

    await scenario_bot.slack.submit_view(
        "U0BOB", modal.id, {"reason": {"reason": "error budget is spent"}}
    )
    await scenario_bot.settle()
    status = scenario_bot.status_message()
    assert "rejected" in status.text
    assert "error budget is spent" in str(status.blocks)
    assert "rejected by <@U0BOB>" in str(status.blocks)
    assert any("Rejected by <@U0BOB>: error budget is spent" in r.text for r in status.replies)


async def test_the_requester_cannot_reject_and_gets_no_modal(scenario_bot: BotHarness):
    await scenario_bot.command("U0BOB", "/deploy checkout to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0BOB", scenario_bot.status_message(), "release_reject")
    assert scenario_bot.slack.modal("U0BOB") is None
    assert any("so you cannot reject it yourself" in t for t in scenario_bot.replies_to("U0BOB"))


async def test_engine_ticks_on_its_own_when_started(scenario_bot: BotHarness):
    scheduler = scenario_bot.runtime.engine.start(interval_s=0.05)
    try:
        await scenario_bot.slack.slash_command("U0ALICE", CHANNEL, "/deploy", "checkout to staging")
        await scenario_bot.slack.wait_for(
            lambda: scenario_bot.slack.calls_to("chat.postMessage"), timeout=10
        )
        # the first tick asked CI, which named the version (pending for 2 s)
        await scenario_bot.slack.wait_for(
            lambda: "v1.4.3" in scenario_bot.status_message().text, timeout=10
        )
        scenario_bot.clock.advance(3)
        await scenario_bot.slack.wait_for(
            lambda: "rolling out" in scenario_bot.status_message().text, timeout=10
        )
    finally:
        await scenario_bot.runtime.engine.stop(scheduler)


async def test_a_long_step_shows_its_elapsed_time_moving(database_url):
    from bot.app.catalog_file import parse_catalog
    from tests.support.catalogs import SCENARIO_CATALOG

    slow = SCENARIO_CATALOG.read_text().replace("step_seconds: 3\n", "step_seconds: 60\n", 1)
    scenario_bot = await BotHarness.start(database_url, parse_catalog(slow))
    try:
        await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
        await scenario_bot.advance(2)  # CI
        await scenario_bot.advance(16)
        first = str(scenario_bot.status_message().blocks)
        await scenario_bot.advance(16)
        second = str(scenario_bot.status_message().blocks)
        assert ":arrow_forward: *10%* 15s (25% complete)" in first
        assert ":arrow_forward: *10%* 30s (50% complete)" in second
        assert [r.text for r in scenario_bot.status_message().replies if "10%" in r.text] == []
    finally:
        await scenario_bot.stop()


async def test_a_double_click_on_promote_skips_one_bake_only(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await scenario_bot.advance(6)  # 10% done, its analysis bakes
    status = scenario_bot.status_message()
    shown = next(
        e["value"]
        for b in status.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "release_promote"
    )
    assert shown == "1:1"
    await scenario_bot.click("U0ALICE", status, "release_promote")
    await scenario_bot.advance(3)  # the 50% step is done: a new bake, a fresh Promote button
    # the second click of a double click, from the message as it was rendered before
    await scenario_bot.click("U0ALICE", status, "release_promote", value=shown)
    replies = [r.text for r in scenario_bot.status_message().replies]
    assert sum("Promoted by" in r for r in replies) == 1
    assert any(
        "was for an earlier stage of release #1" in t for t in scenario_bot.replies_to("U0ALICE")
    )
    assert "(analysis 0s/20s)" in str(scenario_bot.status_message().blocks)
