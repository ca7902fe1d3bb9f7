"""`releasebot chaos`: break a real installation on purpose and check every promise."""

from __future__ import annotations

import asyncio
import signal
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail


def chaos(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(
            help="sigkill, sigterm, slack-outage, slack-hang, rate-limit-storm, pg-terminate, "
            "replicas (default: all)."
        ),
    ] = None,
    small: Annotated[
        bool, typer.Option("--small", help="CI's sizes (seconds each) instead of the full ones.")
    ] = False,
    database_url: Annotated[
        str,
        typer.Option(
            help="PostgreSQL to make scratch databases in (CREATE DATABASE, dropped after)."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    workdir: Annotated[
        Path | None,
        typer.Option(help="Where the processes' logs go (default: a temporary folder)."),
    ] = None,
) -> None:
    """Run releasebot as an operator would (replicas in HTTP mode, the Slack stand-in and a
    deploy script as processes of their own, PostgreSQL), break it for real (SIGKILL, SIGTERM,
    Slack 5xx, Slack hanging, 429 storms, pg_terminate_backend, two replicas) and check that
    every acknowledged command got its release or its answer, no release is stuck, the audit
    trail verifies, nothing was posted twice, every thread is complete and in order, and no
    stage ran twice. Prints the figures; exits 1 when a promise broke."""
    from bot.chaos.scenarios import SCENARIOS, Sizes, run

    chosen = scenarios or list(SCENARIOS)
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        raise fail(f"unknown scenario {', '.join(unknown)}; pick from {', '.join(SCENARIOS)}")
    sizes = Sizes.small() if small else Sizes.full()
    # SIGTERM stops the run as Ctrl-C does: the processes it started are stopped with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    broken = 0
    with tempfile.TemporaryDirectory(prefix="releasebot-chaos-") as scratch:
        folder = workdir or Path(scratch)
        for name in chosen:
            typer.echo(f"running {name} ...", err=True)
            report = asyncio.run(run(name, sizes, folder, database_url))
            typer.echo(report.text())
            broken += not report.ok
        if broken and workdir is None:
            typer.echo("rerun with --workdir DIR to keep the processes' logs", err=True)
    if broken:
        raise typer.Exit(1)
