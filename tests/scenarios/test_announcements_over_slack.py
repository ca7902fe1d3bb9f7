"""The notify plan through the Slack stand-in: each planned event reaches the planned channel
once, as a real chat.postMessage, and no other channel hears of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.catalog_file import parse_catalog
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL, BotHarness

STAGING = "staging: {order: 1, aliases: [stage], approvals: 0"
PLANNED = SCENARIO_CATALOG.read_text().replace(
    STAGING + "}",
    STAGING + ", notify: {channels: [{channel: C0RELEASES, events: [requested, succeeded]}]}}",
)


@pytest.fixture
async def planned_bot(database_url: str) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(database_url, parse_catalog(PLANNED)) as harness:
        yield harness


async def test_planned_events_reach_the_planned_channel_once(planned_bot: BotHarness):
    bot = planned_bot
    await bot.command("U0ALICE", "/deploy checkout to staging")
    await bot.run_until(lambda: "live" in bot.status_message().text.lower(), limit_s=300)
    await bot.settle()
    announced = [m.text for m in bot.slack.messages("C0RELEASES") if m.bot_id]
    assert len(announced) == 2
    assert "release #1 requested" in announced[0] and "release #1 is live" in announced[1]
    in_deploys = [m for m in bot.slack.messages(CHANNEL) if m.bot_id]
    assert len(in_deploys) == 1, "only the status message in the channel it was asked in"
