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


async def test_export_bench_streams_generated_events_beside_psql_copy(tmp_path):
    from bot.bench_export import run_export_bench
    from tests.support.peers import POSTGRES_URL, missing, postgres_available

    if (why := postgres_available()) is not None:
        missing(why)
    result = await run_export_bench(POSTGRES_URL, 500, tmp_path)
    assert result.rows == 500 and result.export_bytes > 500 * 100
    assert result.copy_s is not None and result.copy_bytes > 0
    report = result.report()
    assert report.startswith("500 audit events on PostgreSQL")
    assert "rows/s" in report and "psql \\copy (csv)" in report
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    assert len(lines) == 501, "a header and every generated event"


async def test_verify_bench_seals_a_chain_and_checks_it_beside_the_reference():
    from bot.bench_verify import run_verify_bench

    result = await run_verify_bench("sqlite:", 300, baseline=True)
    assert result.ok and result.events == 300 and result.baseline_s is not None
    assert result.report().startswith("300 audit events on SQLite") and "ratio" in result.report()


async def test_dora_bench_reports_the_same_metrics_as_before(tmp_path):
    from bot.bench_dora import run_dora_bench

    result = await run_dora_bench(f"sqlite:///{tmp_path / 'dora.db'}", 300, runs=2, baseline=True)
    assert result.same and len(result.sql_ms) == 2
    assert result.report().startswith("300 releases on SQLite")
