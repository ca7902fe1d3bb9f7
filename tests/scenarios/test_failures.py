"""A button whose value names another release, sent through Slack. What goes wrong in a
release (analysis, CI, usage errors) is tested on the services, in
tests/services/test_failures_and_reports.py."""

from __future__ import annotations

from tests.support.harness import BotHarness


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
