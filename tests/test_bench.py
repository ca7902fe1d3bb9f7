"""`releasebot bench` keeps working (the figures themselves live in README, not in tests)."""

from __future__ import annotations

from bot.bench import run_bench
from bot.settings import Settings
from tests.conftest import EXAMPLE_CATALOG


async def test_bench_sends_real_commands_and_reports_latencies():
    result = await run_bench(Settings(catalog_path=EXAMPLE_CATALOG, database_url=""), 6, 3)
    assert result.commands == 6 and len(result.ack_ms) == len(result.answer_ms) == 6
    report = result.report()
    assert report.startswith("6 slash commands in") and "ack to Slack" in report
