"""`releasebot bench load|fleet|slowloris` (benchmarks that print figures beside their
baselines) and the single-process `releasebot bench-start|bench-export|bench-verify|bench-dora`."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail

bench_app = typer.Typer(
    help="Benchmarks: each prints its figures and its baseline's, measured in the same run.",
    no_args_is_help=True,
)

AdminUrl = Annotated[
    str,
    typer.Option(help="PostgreSQL to make scratch databases in (CREATE DATABASE, dropped after)."),
]
Workdir = Annotated[
    Path | None,
    typer.Option(help="Where the processes' logs go (default: a temporary folder)."),
]


@bench_app.command("load")
def load(
    rate: Annotated[
        list[float] | None,
        typer.Option(help="Requests per second; repeat for several (default 50, 100, 200)."),
    ] = None,
    seconds: Annotated[float, typer.Option(help="How long each rate is held.")] = 20,
    command: Annotated[
        str,
        typer.Option(help="deploy, status, or the text typed ({service} and {n} are filled in)."),
    ] = "deploy",
    sqlite: Annotated[
        bool, typer.Option("--sqlite", help="A SQLite file instead of PostgreSQL.")
    ] = False,
    split: Annotated[
        bool,
        typer.Option(
            "--split/--one-process",
            help="A web process acks and an engine process works (RELEASEBOT_ROLE), or one "
            "process does both (always one on SQLite).",
        ),
    ] = False,
    database_url: AdminUrl = "postgresql://postgres@127.0.0.1:5432/test",
    workdir: Workdir = None,
) -> None:
    """Open-loop load through the real POST /slack/events: signed slash commands at fixed
    rates, to a bare slack-bolt app that only acks and to `releasebot serve` in HTTP mode
    (with the Slack stand-in and a deploy script as processes). Prints ack p50/p99/max for
    both, commands processed per second, and when each answer became visible."""
    from bot.benchmarks.load import run_load_bench

    rates = rate or [50.0, 100.0, 200.0]
    if seconds <= 0 or any(r <= 0 for r in rates):
        raise fail("--rate and --seconds must be above 0")
    roles = ("web", "engine") if split and not sqlite else ("all",)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop what it started
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-load-") as scratch:
        result = asyncio.run(
            run_load_bench(
                rates=rates,
                seconds=seconds,
                command=command,
                sqlite=sqlite,
                admin_url=database_url,
                roles=roles,
                workdir=workdir or Path(scratch),
            )
        )
    typer.echo(result.report())


@bench_app.command("fleet")
def fleet(
    releases: Annotated[
        int, typer.Option(min=1, help="Concurrent releases, one per service (20 for a quick run).")
    ] = 1000,
    channels: Annotated[
        int,
        typer.Option(
            min=1,
            max=2,
            help="Channels the releases are spread over (the stand-in's workspace has two).",
        ),
    ] = 2,
    sqlite: Annotated[
        bool, typer.Option("--sqlite/--postgres", help="A SQLite file, or PostgreSQL.")
    ] = False,
    rate: Annotated[float, typer.Option(help="/deploy commands sent per second.")] = 200.0,
    step_seconds: Annotated[
        int, typer.Option(min=0, help="How long each deploy step takes (simulated).")
    ] = 1,
    bake_seconds: Annotated[int, typer.Option(min=1, help="How long each bake lasts.")] = 5,
    tick: Annotated[
        float, typer.Option(help="The engine's tick (RELEASEBOT_TICK_SECONDS; default as shipped).")
    ] = 1.0,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every release to finish.")
    ] = 1800.0,
    every_message: Annotated[
        bool,
        typer.Option(
            "--every-message/--releases-only",
            help="Wait until every message is sent, or measure once the releases are done "
            "(status updates then still owed go at Slack's pace: about 50 a minute).",
        ),
    ] = True,
    database_url: AdminUrl = "postgresql://postgres@127.0.0.1:5432/test",
    workdir: Workdir = None,
) -> None:
    """Many concurrent releases on the simulated backend, with short steps, through
    `releasebot serve` in HTTP mode: prints how late each stage starts against when it was
    due (p50/p99), the time until all finish, peak RSS, CPU, and Slack calls per second and
    per minute per method, against the goals and Slack's rate-limit tiers."""
    from bot.benchmarks.fleet import run_fleet_bench

    if rate <= 0 or tick <= 0 or timeout <= 0:
        raise fail("--rate, --tick and --timeout must be above 0")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop what it started
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-fleet-") as scratch:
        result = asyncio.run(
            run_fleet_bench(
                releases=releases,
                channels=channels,
                sqlite=sqlite,
                admin_url=database_url,
                workdir=workdir or Path(scratch),
                rate=rate,
                step_s=step_seconds,
                bake_s=bake_seconds,
                tick_s=tick,
                within_s=timeout,
                every_message=every_message,
            )
        )
    typer.echo(result.report())


@bench_app.command("slowloris")
def slowloris(
    connections: Annotated[
        int, typer.Option(min=1, help="Slow connections opened at once (20 for a quick run).")
    ] = 1000,
    trickle: Annotated[
        float, typer.Option(help="Each slow connection sends one more byte this often (s).")
    ] = 3.0,
    rate: Annotated[float, typer.Option(help="Signed slash commands sent per second.")] = 20.0,
    command: Annotated[
        str, typer.Option(help="deploy (/deploy to 200 services in turn) or status.")
    ] = "deploy",
    sqlite: Annotated[
        bool, typer.Option("--sqlite/--postgres", help="A SQLite file, or PostgreSQL.")
    ] = True,
    baseline_seconds: Annotated[
        float, typer.Option(help="How long commands are sent before the attack.")
    ] = 3.0,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server to drop every slow connection.")
    ] = 60.0,
    header_timeout: Annotated[
        float | None,
        typer.Option(help="RELEASEBOT_HEADER_TIMEOUT_SECONDS for serve (default: as shipped)."),
    ] = None,
    database_url: AdminUrl = "postgresql://postgres@127.0.0.1:5432/test",
    workdir: Workdir = None,
) -> None:
    """Slowloris against `releasebot serve` in HTTP mode: connections that send part of a
    request head and then a byte every few seconds, while signed /deploy commands keep coming.
    Prints how many slow connections are open at 5, 10 and 15 s, when the last was dropped,
    serve's open file descriptors before / peak / after, and the commands' ack p50/p99/max
    before and during the attack, against the goals."""
    from bot.benchmarks.slowloris import run_slowloris_bench

    if trickle <= 0 or rate <= 0 or baseline_seconds < 0 or timeout <= 0:
        raise fail("--trickle, --rate and --timeout must be above 0, --baseline-seconds 0 or more")
    if header_timeout is not None and header_timeout <= 0:
        raise fail("--header-timeout must be above 0")
    if command not in ("deploy", "status"):
        raise fail("--command is deploy or status")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop what it started
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-slowloris-") as scratch:
        result = asyncio.run(
            run_slowloris_bench(
                connections=connections,
                trickle_s=trickle,
                rate=rate,
                baseline_s=baseline_seconds,
                within_s=timeout,
                workdir=workdir or Path(scratch),
                header_timeout_s=header_timeout,
                command=command,
                sqlite=sqlite,
                admin_url=database_url,
            )
        )
    typer.echo(result.report())


def bench_start(
    runs: Annotated[int, typer.Option(help="Processes started per figure (the median).")] = 5,
    services: Annotated[int, typer.Option(help="Services in the checked catalog.")] = 1000,
    releasebot: Annotated[
        str | None,
        typer.Option(help="Another installation's releasebot script, to compare (e.g. main's)."),
    ] = None,
) -> None:
    """Start-up times: `releasebot --help`, `config check` of a large catalog and `serve`
    until /healthz answers, beside `python -c pass` and a bare Slack app (a benchmark)."""
    from bot.benchmarks.start import run_start_bench

    if runs < 1 or services < 1:
        raise fail("--runs and --services must be at least 1")
    try:
        result = run_start_bench(runs, services, releasebot)
    except RuntimeError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(result.report())


def bench_export(
    rows: Annotated[int, typer.Option(help="How many audit events to generate.")] = 1_000_000,
    database_url: Annotated[
        str, typer.Option(help="A PostgreSQL URL; a scratch schema is made and dropped.")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
) -> None:
    """Export a large generated audit trail and compare with psql's \\copy of the same rows:
    rows/s and peak memory (a benchmark, not a test)."""
    import tempfile

    from bot.benchmarks.export import run_export_bench

    if rows < 1:
        raise fail("--rows must be at least 1")
    with tempfile.TemporaryDirectory() as directory:
        try:
            result = asyncio.run(run_export_bench(database_url, rows, Path(directory)))
        except ValueError as exc:
            raise fail(str(exc)) from None
    typer.echo(result.report())


def bench_verify(
    events: Annotated[int, typer.Option(help="How many audit events to seal.")] = 1_000_000,
    database_url: Annotated[
        str,
        typer.Option(
            help="A PostgreSQL URL (a scratch schema is made and dropped), or sqlite: for a "
            "scratch SQLite file."
        ),
    ] = "sqlite:",
    baseline: Annotated[
        bool, typer.Option(help="Also time the record-by-record check it replaced.")
    ] = False,
) -> None:
    """Seal a large valid audit chain and time `audit verify` over it: events/s, and the
    ratio to the record-by-record check with --baseline (a benchmark, not a test)."""
    from bot.benchmarks.verify import run_verify_bench

    if events < 1:
        raise fail("--events must be at least 1")
    result = asyncio.run(run_verify_bench(database_url, events, baseline))
    typer.echo(result.report())


def bench_dora(
    releases: Annotated[int, typer.Option(help="How many finished releases.")] = 100_000,
    database_url: Annotated[
        str,
        typer.Option(
            help="A PostgreSQL URL (a scratch schema is made and dropped), or sqlite:///FILE "
            "(a new file)."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    baseline: Annotated[
        bool,
        typer.Option(help="Also time loading every release and computing in Python, as before."),
    ] = False,
) -> None:
    """Time the DORA report over a 365-day window of generated releases (SQL aggregates),
    and with --baseline the load-everything way it replaced (a benchmark, not a test)."""
    from bot.benchmarks.dora import run_dora_bench

    if releases < 1:
        raise fail("--releases must be at least 1")
    result = asyncio.run(run_dora_bench(database_url, releases, baseline=baseline))
    typer.echo(result.report())
