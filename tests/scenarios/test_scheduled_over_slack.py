"""A scheduled release through signed Slack requests: the time read in the requester's Slack
zone (users.info), the status message saying when with Start now and Cancel, Start now pressed,
and the engine starting one at its time."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.slack import actions
from tests.support.harness import BotHarness

MONDAY_10_BERLIN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def button_ids(message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def test_a_release_scheduled_in_chat_starts_at_its_time(scenario_bot: BotHarness):
    scenario_bot.clock.set(MONDAY_10_BERLIN)
    await scenario_bot.command("U0ALICE", "/deploy checkout v1.4.3 to staging at 22:00")
    assert scenario_bot.web_api_calls("users.info"), "the requester's zone was asked of Slack"
    status = scenario_bot.status_message()
    assert "scheduled" in status.text.lower()
    assert button_ids(status) == [actions.START, actions.ABORT]
    assert any("22:00 Europe/Berlin (21:00 UTC)" in r.text for r in status.replies)

    await scenario_bot.advance(600, step=60)
    assert "scheduled" in scenario_bot.status_message().text.lower()
    scenario_bot.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    await scenario_bot.run_until(
        lambda: "live" in scenario_bot.status_message().text.lower(), limit_s=300
    )


async def test_start_now_from_the_status_message(scenario_bot: BotHarness):
    scenario_bot.clock.set(MONDAY_10_BERLIN)
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging tonight")
    await scenario_bot.click("U0ALICE", scenario_bot.status_message(), actions.START)
    assert any(
        "Started before its time by <@U0ALICE>" in r.text
        for r in scenario_bot.status_message().replies
    )
    await scenario_bot.run_until(
        lambda: "live" in scenario_bot.status_message().text.lower(), limit_s=300
    )
