"""`releasebot bench`: how fast Slack gets its ack, and how fast people get their answer.

Runs the bot in local mode on a free loopback port (a fresh SQLite file, or DATABASE_URL),
sends signed slash commands through the stand-in exactly as Slack would, and reports the ack
latency (Slack's limit is 3 s) and the time until the reply or status message arrived.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from bot.catalog_file import load_catalog
from bot.runtime import EMULATOR_PATH, build_runtime
from bot.settings import Settings


@dataclass(frozen=True)
class BenchResult:
    commands: int
    ack_ms: list[float]
    answer_ms: list[float]
    seconds: float

    def report(self) -> str:
        def line(name: str, values: list[float]) -> str:
            ordered = sorted(values)
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            return (
                f"{name}: p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, "
                f"max {ordered[-1]:.1f} ms"
            )

        return "\n".join(
            [
                f"{self.commands} slash commands in {self.seconds:.2f} s "
                f"({self.commands / self.seconds:.1f}/s)",
                line("ack to Slack   ", self.ack_ms),
                line("answer visible ", self.answer_ms),
            ]
        )


async def run_bench(settings: Settings, commands: int, concurrency: int) -> BenchResult:
    with tempfile.TemporaryDirectory() as scratch:
        if not settings.database_url or settings.database_url.startswith("sqlite"):
            settings = replace(settings, database_url=f"sqlite:///{Path(scratch) / 'bench.db'}")
        settings = replace(
            settings,
            host="127.0.0.1",
            port=_free_port(),
            bot_token=None,
            signing_secret=None,
            app_token=None,
        )
        runtime = await build_runtime(settings, catalog=load_catalog(settings.catalog_path))
        runner = web.AppRunner(runtime.web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        scheduler = runtime.engine.start(settings.tick_seconds)
        slack = runtime.emulator
        assert slack is not None
        base = f"http://127.0.0.1:{settings.port}"
        slack.bot_events_url = f"{base}/slack/events"
        slack.public_base_url = f"{base}{EMULATOR_PATH}"
        ack_ms: list[float] = []
        answer_ms: list[float] = []
        # One command in flight per person, so each answer is matched to its command.
        people = [user.id for user in slack.workspace.users][: max(1, concurrency)]

        async def person(user: str, count: int) -> None:
            for _ in range(count):
                seen = len(slack.ephemerals(user))
                started = time.perf_counter()
                result = await slack.slash_command(user, "C0DEPLOYS", "/release", "status")
                ack_ms.append((time.perf_counter() - started) * 1000)
                if result.status != 200:
                    raise RuntimeError(f"the bot answered {result.status}: {result.body_text}")
                await slack.wait_for(lambda u=user, s=seen: len(slack.ephemerals(u)) > s, 30)
                answer_ms.append((time.perf_counter() - started) * 1000)

        shares = [
            commands // len(people) + (i < commands % len(people)) for i in range(len(people))
        ]
        began = time.perf_counter()
        try:
            await asyncio.gather(*(person(u, n) for u, n in zip(people, shares, strict=True)))
        finally:
            await runtime.engine.stop(scheduler)
            await runner.cleanup()
            await runtime.close()
        return BenchResult(commands, ack_ms, answer_ms, time.perf_counter() - began)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
