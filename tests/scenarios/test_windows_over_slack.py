"""Deploy windows through signed Slack requests: a deploy outside them is refused privately
with when the next opens and a Schedule for then button, which schedules the same deploy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app.catalog_file import parse_catalog
from bot.slack import actions
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL, BotHarness

WINDOWED = SCENARIO_CATALOG.read_text().replace(
    "production: {order: 2, aliases: [prod], production: true, approvals: 1, auto_rollback: true}",
    "production: {order: 2, aliases: [prod], production: true, approvals: 1, auto_rollback: true,"
    " windows: [{days: mon-thu, start: '22:00', end: '06:00', timezone: Europe/Berlin}]}",
)


@pytest.fixture
async def windowed_bot(database_url: str) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(database_url, parse_catalog(WINDOWED)) as harness:
        yield harness


async def test_outside_the_windows_one_click_schedules_it_for_the_next(windowed_bot: BotHarness):
    bot = windowed_bot
    bot.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Monday, 10:00 in Berlin
    await bot.command("U0ALICE", "/deploy checkout v1.4.3 to production")
    (refusal,) = bot.slack.ephemerals("U0ALICE")
    assert "only in its deploy windows (mon-thu 22:00-06:00 Europe/Berlin)" in refusal.text
    assert [m for m in bot.slack.messages(CHANNEL) if m.bot_id] == []

    await bot.click("U0ALICE", refusal.ts, actions.SCHEDULE_NEXT)
    status = bot.status_message()
    assert "scheduled" in status.text.lower()
    said = "at 2026-11-23 21:00 UTC (21:00 UTC), in 12h00m"
    assert any(said in r.text for r in status.replies)
    bot.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    await bot.advance(3)
    assert "waiting for approval" in bot.status_message().text
