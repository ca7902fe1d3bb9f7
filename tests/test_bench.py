"""The benchmarks keep working (their figures live in README, not in tests)."""

from __future__ import annotations

import pytest

from bot.bench_load import run_load_bench


@pytest.mark.slow
async def test_load_bench_drives_bare_bolt_and_releasebot_through_http(tmp_path):
    """Real processes, real signed requests: every command is acked by both, processed by
    releasebot, and its answer seen through response_url."""
    result = await run_load_bench(
        rates=[5.0],
        seconds=1.0,
        command="status",
        sqlite=True,
        admin_url="",
        roles=("all",),
        workdir=tmp_path,
    )
    bare, bot = result.runs[5.0]
    assert len(bare.shots) == len(bot.shots) == 5
    assert bare.refused == bot.refused == {}
    assert bot.processed == 5 and len(bot.answer_s) == 5 and bot.unanswered == 0
    report = result.report()
    assert "on SQLite" in report and "ack, bare bolt" in report
    assert "answer visible" in report and "processed: " in report


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
