"""`releasebot bench load`: open-loop load through the real HTTP endpoint, beside bare bolt.

Signed slash commands are sent at fixed rates, each when its time comes whether or not the
earlier ones were answered (as Slack sends them: people do not wait for each other), to

- a bare slack-bolt app whose listeners only ack (bot/benchmarks/bare_bolt.py), the baseline; and
- `releasebot serve` in HTTP mode on a fresh PostgreSQL database or SQLite file, with the
  Slack stand-in and a deploy script as processes of their own (bot/chaos/cluster.py).

For releasebot it also measures the work behind the OK: commands processed per second, and
the time until the person could see the answer (a reply through `response_url`, caught by
this benchmark, or a release's first status message in the channel). A benchmark that prints
figures, not a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.benchmarks.bare_bolt import READY as BARE_READY
from bot.chaos.catalog import DEPLOYERS, service_name
from bot.chaos.cluster import CHANNEL, Cluster, free_port
from bot.chaos.processes import Child, python_module
from bot.emulator.signing import signed_headers

FORM = "application/x-www-form-urlencoded"
T = TypeVar("T")
SERVICES = 200
COMMANDS = {
    "deploy": "/deploy {service} v2.0.{n} to staging",
    "status": "/release status {service}",
}


@dataclass
class Shot:
    """One command: when it went out (wall clock), and how the server answered."""

    n: int
    sent_at: float
    ack_ms: float | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Spread:
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(tuple(sorted(values)))

    def pct(self, p: float) -> float:
        if not self.values:
            return float("nan")
        return self.values[min(len(self.values) - 1, int(len(self.values) * p))]

    def text(self, unit: str = "ms") -> str:
        if not self.values:
            return "none"
        return (
            f"p50 {self.pct(0.5):.1f} {unit}, p99 {self.pct(0.99):.1f} {unit}, "
            f"max {self.values[-1]:.1f} {unit}"
        )


@dataclass
class Run:
    """One target at one rate."""

    target: str
    shots: list[Shot]
    cpu_s: float | None = None
    processed: int = 0
    processed_during_burst: int = 0
    processing_s: float = 0.0
    answer_s: list[float] = field(default_factory=list)
    unanswered: int = 0

    @property
    def acks(self) -> Spread:
        return Spread.of([s.ack_ms for s in self.shots if s.ack_ms is not None])

    @property
    def refused(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for shot in self.shots:
            if shot.failure:
                counts[shot.failure] = counts.get(shot.failure, 0) + 1
        return counts


@dataclass(frozen=True)
class LoadReport:
    command: str
    database: str
    roles: tuple[str, ...]
    seconds: float
    runs: dict[float, tuple[Run, Run]]  # rate -> (bare bolt, releasebot)

    def report(self) -> str:
        setup = (
            "one process doing everything"
            if self.roles == ("all",)
            else "a web process acking, an engine process working"
        )
        lines = [
            f"`{self.command}` at fixed rates for {self.seconds:g} s each, open loop, through "
            f"POST /slack/events; releasebot serve in HTTP mode on {self.database} ({setup}); "
            f"{os.cpu_count()} CPUs",
        ]
        for rate, (bare, bot) in sorted(self.runs.items()):
            sent = len(bot.shots)
            lines += [
                "",
                f"{rate:g} requests/s ({sent} sent)",
                f"  ack, bare bolt  : {bare.acks.text()}, not acknowledged "
                f"{_refusals(bare)}, CPU {_cpu(bare)}",
                f"  ack, releasebot : {bot.acks.text()}, not acknowledged "
                f"{_refusals(bot)}, CPU {_cpu(bot)}",
                f"  ack p99 ratio releasebot / bare bolt: "
                f"{bot.acks.pct(0.99) / bare.acks.pct(0.99):.2f}",
                f"  processed: {bot.processed_during_burst} of {sent} during the burst; all "
                f"{bot.processed} at {bot.processed / max(bot.processing_s, 1e-9):.0f}/s "
                f"(first received to last done: {bot.processing_s:.1f} s)",
                f"  answer visible  : {Spread.of(bot.answer_s).text('s')}"
                + (f"; {bot.unanswered} never answered" if bot.unanswered else ""),
            ]
        return "\n".join(lines)


def _refusals(run: Run) -> str:
    refused = run.refused
    total = sum(refused.values())
    if not total:
        return "0"
    return f"{total} ({', '.join(f'{kind}: {count}' for kind, count in refused.items())})"


def _cpu(run: Run) -> str:
    return "?" if run.cpu_s is None else f"{run.cpu_s:.1f} s"


async def run_load_bench(
    *,
    rates: list[float],
    seconds: float,
    command: str,
    sqlite: bool,
    admin_url: str,
    roles: tuple[str, ...],
    workdir: Path,
) -> LoadReport:
    runs: dict[float, tuple[Run, Run]] = {}
    template = COMMANDS.get(command, command)
    for rate in rates:
        secret = secrets.token_hex(16)
        bare = await _bare_bolt_run(rate, seconds, template, secret, workdir / f"bare-{rate:g}")
        bot = await _releasebot_run(
            rate, seconds, template, sqlite, admin_url, roles, workdir / f"releasebot-{rate:g}"
        )
        runs[rate] = (bare, bot)
    database = "SQLite" if sqlite else "PostgreSQL"
    return LoadReport(template, database, roles, seconds, runs)


async def _bare_bolt_run(
    rate: float, seconds: float, template: str, secret: str, workdir: Path
) -> Run:
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    child = Child(
        "bare-bolt",
        python_module("bot.benchmarks.bare_bolt", "--port", "0"),
        {"SLACK_SIGNING_SECRET": secret, "PYTHONUNBUFFERED": "1"},
        workdir,
        BARE_READY,
    )
    await child.start()
    try:
        url = child.ready_line.rsplit(" ", 1)[1] + "/slack/events"
        async with _responses() as (response_base, _):
            before = _cpu_seconds(child)
            shots = await fire(url, secret, rate, seconds, template, response_base)
            return Run("bare bolt", shots, cpu_s=_delta(before, _cpu_seconds(child)))
    finally:
        await child.stop()


async def _releasebot_run(
    rate: float,
    seconds: float,
    template: str,
    sqlite: bool,
    admin_url: str,
    roles: tuple[str, ...],
    workdir: Path,
) -> Run:
    async with (
        Cluster(
            workdir, roles=roles, services=SERVICES, admin_url=admin_url, sqlite=sqlite
        ) as cluster,
        _responses() as (response_base, answered),
    ):
        url = f"{cluster.replica_url(0)}/slack/events"
        before = [_cpu_seconds(replica) for replica in cluster.replicas]
        shots = await fire(url, cluster.signing_secret, rate, seconds, template, response_base)
        burst_end = time.time()
        cpu = [_cpu_seconds(replica) for replica in cluster.replicas]
        await cluster.settle(900)
        run = Run("releasebot", shots)
        run.cpu_s = sum(_delta(b, a) or 0.0 for b, a in zip(before, cpu, strict=True))
        await _measure_work(cluster, run, burst_end, answered)
        return run


async def post_signed(
    http: aiohttp.ClientSession, url: str, secret: str, body: bytes
) -> tuple[float | None, str | None]:
    """POST a slash command signed now: (ms until the OK, None), or (None, what went wrong)."""
    headers = signed_headers(secret, body, FORM, int(time.time()))
    began = time.perf_counter()
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, type(exc).__name__
    if status != 200:
        return None, f"HTTP {status}"
    return (time.perf_counter() - began) * 1000, None


async def fire(
    url: str, secret: str, rate: float, seconds: float, template: str, response_base: str
) -> list[Shot]:
    """Send `rate` commands a second for `seconds`, each at its time (open loop)."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=5)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def send(n: int) -> Shot:
            shot = Shot(n, time.time())
            body = command_body(n, template, f"{response_base}/{n}")
            shot.ack_ms, shot.failure = await post_signed(http, url, secret, body)
            return shot

        return await open_loop(int(rate * seconds), rate, send)


async def open_loop(count: int, rate: float, send: Callable[[int], Awaitable[T]]) -> list[T]:
    """Call `send(n)` for n in range(count), `rate` a second, each at its time whether or not
    the earlier ones have answered (as Slack sends: people do not wait for each other)."""
    started = time.perf_counter()
    tasks = []
    for n in range(count):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(n)))
    return list(await asyncio.gather(*tasks))


def command_body(n: int, template: str, response_url: str) -> bytes:
    name, _, text = template.partition(" ")
    text = text.replace("{service}", service_name(n % SERVICES)).replace("{n}", str(n))
    return urlencode(
        {
            "team_id": "T0RELEASE",
            "channel_id": CHANNEL,
            "channel_name": "deploys",
            "user_id": DEPLOYERS[n % len(DEPLOYERS)],
            "user_name": "bench",
            "command": name,
            "text": text,
            "trigger_id": f"{n}.{secrets.token_hex(8)}",
            "response_url": response_url,
        }
    ).encode()


@contextlib.asynccontextmanager
async def _responses() -> AsyncIterator[tuple[str, dict[int, float]]]:
    """A stand-in for Slack's response_url: records when each command's first answer came."""
    answered: dict[int, float] = {}

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        with contextlib.suppress(ValueError):
            answered.setdefault(int(request.match_info["n"]), time.time())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/response/{n}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/response", answered
    finally:
        await runner.cleanup()


async def _measure_work(
    cluster: Cluster, run: Run, burst_end: float, answered: dict[int, float]
) -> None:
    """Processing rate from the inbox; answer times from response_url and status posts."""
    rows = await cluster.query("SELECT received_at, done_at FROM inbox")
    received = [_stamp(r) for r, _ in rows]
    done = [_stamp(d) for _, d in rows if d is not None]
    run.processed = len(done)
    run.processed_during_burst = sum(1 for d in done if d <= burst_end)
    if done:
        run.processing_s = max(done) - min(received)
    shown = dict(answered)
    first_post = await cluster.query(
        "SELECT a.details, min(o.sent_at) FROM audit_events a "
        "JOIN outbox o ON o.release_id = a.release_id AND o.kind = 'status' "
        "WHERE a.action = 'command.deploy' AND a.outcome = 'ok' AND o.sent_at IS NOT NULL "
        "GROUP BY a.seq"
    )
    for details, sent_at in first_post:
        info = details if isinstance(details, dict) else json.loads(details)
        trigger = str(info.get("request", "")).removeprefix("command:")
        with contextlib.suppress(ValueError):
            n = int(trigger.split(".", 1)[0])
            shown[n] = min(shown.get(n, float("inf")), _stamp(sent_at))
    for shot in run.shots:
        if shot.ack_ms is None:
            continue
        if shot.n in shown:
            run.answer_s.append(max(0.0, shown[shot.n] - shot.sent_at))
        else:
            run.unanswered += 1


def _stamp(value: datetime | str) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _cpu_seconds(child: Child) -> float | None:
    """User + system CPU time of a running process, from /proc (Linux)."""
    if child.process is None:
        return None
    try:
        fields = Path(f"/proc/{child.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before
