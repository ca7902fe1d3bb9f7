"""The benchmarks keep working (their figures live in README, not in tests): each runs
small and its report keeps its shape; no timing is asserted."""

from __future__ import annotations

import pytest

from bot.benchmarks.fleet import peak_in, stage_lags
from bot.benchmarks.load import run_load_bench


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
    from bot.benchmarks.export import run_export_bench
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


def test_peak_in_counts_the_busiest_window():
    assert peak_in([], 1.0) == 0
    assert peak_in([0.0, 0.5, 0.99, 1.0, 5.0], 1.0) == 3
    assert peak_in([0.0, 0.5, 0.99, 1.0, 5.0], 60.0) == 5


def test_stage_lag_is_measured_from_when_the_previous_stage_was_over():
    stages = [
        {
            "kind": "step",
            "started_at": "2026-01-01T00:00:00+00:00",
            "finished_at": "2026-01-01T00:00:01.500000+00:00",
            "operation_id": f"sim:{1767225600.2}:1:ok:10%",  # done at 00:00:01.2
        },
        {
            "kind": "bake",
            "duration_s": 5,
            "started_at": "2026-01-01T00:00:02+00:00",
            "finished_at": "2026-01-01T00:00:07.250000+00:00",  # due at 00:00:07
        },
        {"kind": "step", "started_at": "2026-01-01T00:00:07.750000+00:00"},
    ]
    lags = stage_lags(stages)
    assert lags.stage == pytest.approx([0.8, 0.75])
    assert lags.end == pytest.approx([0.3, 0.25])
    assert lags.start == pytest.approx([0.5, 0.5])


@pytest.mark.slow
@pytest.mark.parametrize("every_message", [True, False])
async def test_fleet_bench_runs_small_releases_on_sqlite_and_reports_every_figure(
    tmp_path, every_message
):
    from bot.benchmarks.fleet import run_fleet_bench

    result = await run_fleet_bench(
        releases=12,
        channels=2,
        sqlite=True,
        admin_url="",
        workdir=tmp_path,
        rate=100,
        bake_s=1,
        tick_s=0.2,
        within_s=120,
        every_message=every_message,
    )
    assert not result.unfinished
    assert (result.owed is None) == every_message, "owed messages are counted when not waited for"
    assert result.states == {"succeeded": 12}
    assert all(c.acked_at is not None for c in result.commands)
    assert len(result.stage_lag) == len(result.start_lag) == 12 * 4, "four stages follow another"
    assert len(result.first_stage) == 12
    assert result.serve.peak_rss_mb and result.serve.cpu_s > 0
    methods = {rate.method for rate in result.rates}
    assert {"chat.postMessage", "chat.update"} <= methods
    assert set(result.post_channels) == {"C0DEPLOYS", "C0RELEASES"}
    report = result.report()
    assert report.startswith("releasebot bench fleet: 12 releases")
    assert ("every message sent" in report) == every_message
    assert ("messages still owed to Slack then" in report) != every_message
    for figure in (
        "stage lag, start against due",
        "goal p99 < 1 s:",
        "first stage after the ack",
        "peak RSS",
        "goal < 300 MB:",
        "Tier 3, ~50/min per workspace:",
        "chat.postMessage per channel:",
    ):
        assert figure in report, figure


async def test_verify_bench_seals_a_chain_and_checks_it_beside_the_reference():
    from bot.benchmarks.verify import run_verify_bench

    result = await run_verify_bench("sqlite:", 300, baseline=True)
    assert result.ok and result.events == 300 and result.baseline_s is not None
    assert result.report().startswith("300 audit events on SQLite") and "ratio" in result.report()


async def test_dora_bench_reports_the_same_metrics_as_before(tmp_path):
    from bot.benchmarks.dora import run_dora_bench

    result = await run_dora_bench(f"sqlite:///{tmp_path / 'dora.db'}", 300, runs=2, baseline=True)
    assert result.same and len(result.sql_ms) == 2
    assert result.report().startswith("300 releases on SQLite")


@pytest.mark.slow
async def test_slowloris_bench_opens_slow_connections_and_sees_them_dropped(tmp_path):
    """A real serve process with a short header timeout: every slow connection opens and is
    closed by the server (none answered 503), and every command meanwhile is acked."""
    from bot.benchmarks.slowloris import run_slowloris_bench

    result = await run_slowloris_bench(
        connections=20,
        trickle_s=0.2,
        rate=5,
        baseline_s=0.5,
        within_s=60,
        workdir=tmp_path,
        header_timeout_s=0.5,
        command="status",
    )
    assert result.opened == 20 and result.still_open == 0 and result.refused == 0
    assert result.last_dropped_s is not None
    assert result.before and result.during
    assert all(a.ack_ms is not None for a in result.before + result.during)
    assert None not in result.fds
    report = result.report()
    assert report.startswith("releasebot bench slowloris: 20 connections")
    for figure in (
        "still open at  5 s",
        "still open at 15 s",
        "the last one dropped at",
        "serve's open files",
        "ack during the attack",
        "goal: 20 dropped within 15 s",
        "goal: acked in under 100 ms",
    ):
        assert figure in report, figure
