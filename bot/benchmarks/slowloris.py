"""`releasebot bench slowloris`: slow clients against `releasebot serve`, while Slack's
commands keep coming.

One `releasebot serve` in HTTP mode on a SQLite file (or PostgreSQL), with the Slack
stand-in and a deploy script as processes of their own (bot/chaos/cluster.py), with the
shipped limits at its edge (bot/web/edge.py) unless told otherwise. The benchmark

1. sends signed `/deploy` (or `/release status`) commands to POST /slack/events at a fixed
   rate for a few seconds, open loop: the acks before the attack;
2. starts the attacker, a process of its own (bot/benchmarks/slowloris_attacker.py), which
   opens N connections that each send the start of a request head (request line and part of
   a header) and then one byte every few seconds, never finishing it (slowloris), while the
   commands keep coming at the same rate, until the server has closed every slow connection
   (or a bound passes);
3. reads from the attacker when each slow connection opened and when the server closed it,
   and samples the serve process's open file descriptors (/proc/<pid>/fd) and resident
   memory (/proc/<pid>/status) ten times a second.

It prints how many slow connections were still open at 5, 10 and 15 s, when the last was
dropped, the descriptors before / at the peak / after, and the ack p50/p99/max of the
commands sent during the attack beside those before it, against the goals: 1,000 slowloris
connections dropped within 15 s, /deploy acked in under 100 ms. A benchmark that prints
figures, not a test; the machine's other load shows in them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.app.settings import Settings
from bot.benchmarks.load import (
    COMMANDS,
    SERVICES,
    Spread,
    _responses,
    command_body,
    post_signed,
)
from bot.benchmarks.slowloris_attacker import Attacker, Slow, raise_open_files_limit
from bot.chaos.cluster import ADMIN_URL, Cluster

DROP_GOAL_S = 15.0
ACK_GOAL_MS = 100.0
MARKS_S = (5, 10, 15)


@dataclass
class Ack:
    sent_at: float  # seconds after the attack began (negative: before it)
    ack_ms: float | None = None
    failure: str | None = None


@dataclass
class Samples:
    """Open file descriptors and resident memory of the serve process."""

    fds: list[int] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    def take(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            self.fds.append(len(os.listdir(f"/proc/{pid}/fd")))
        if (rss := _rss_mb(pid)) is not None:
            self.rss_mb.append(rss)


@dataclass
class SlowlorisReport:
    command: str
    database: str
    connections: int
    trickle_s: float
    rate: float
    header_timeout: str
    slow: list[Slow]
    before: list[Ack]
    during: list[Ack]
    fds: tuple[int | None, int | None, int | None]  # before, peak, after
    rss_mb: tuple[float | None, float | None, float | None]
    opened_in_s: float
    watched_s: float

    def open_at(self, t: float) -> int:
        return sum(
            1
            for s in self.slow
            if s.opened_at is not None
            and s.opened_at <= t
            and (s.closed_at is None or s.closed_at > t)
        )

    @property
    def opened(self) -> int:
        return sum(1 for s in self.slow if s.opened_at is not None)

    @property
    def still_open(self) -> int:
        return sum(1 for s in self.slow if s.opened_at is not None and s.closed_at is None)

    @property
    def last_dropped_s(self) -> float | None:
        """When the server closed the last slow connection; None while some are open."""
        if self.still_open or not self.opened:
            return None
        return max(s.closed_at for s in self.slow if s.closed_at is not None)

    @property
    def refused(self) -> int:
        return sum(1 for s in self.slow if s.answer.startswith(b"HTTP/1.1 503"))

    def report(self) -> str:
        last = self.last_dropped_s
        acks = Spread.of([a.ack_ms for a in self.during if a.ack_ms is not None])
        fds_before, fds_peak, fds_after = self.fds
        rss_before, rss_peak, rss_after = self.rss_mb
        all_dropped = self.opened == self.connections and last is not None
        opened = f"{self.opened} of {self.connections} in {self.opened_in_s:.1f} s"
        if self.opened < len(self.slow):
            opened += f" ({len(self.slow) - self.opened} could not connect)"
        if self.refused:
            opened += f"; {self.refused} answered 503 (the connection cap)"
        rows = [("slow connections opened", opened)]
        rows += [(f"still open at {mark:>2} s", str(self.open_at(mark))) for mark in MARKS_S]
        rows += [
            (
                "the last one dropped at",
                f"{last:.1f} s"
                if last is not None
                else f"not yet: {self.still_open} open after {self.watched_s:.0f} s",
            ),
            (
                "serve's open files",
                f"before {_n(fds_before)}, peak {_n(fds_peak)}, after {_n(fds_after)}",
            ),
            (
                "serve's resident memory",
                f"before {_mb(rss_before)}, peak {_mb(rss_peak)}, after {_mb(rss_after)}",
            ),
            ("ack before the attack", _acks(self.before)),
            ("ack during the attack", _acks(self.during)),
            (
                f"goal: {self.connections} dropped within {DROP_GOAL_S:g} s",
                _met(all_dropped and last is not None and last <= DROP_GOAL_S),
            ),
            (
                f"goal: acked in under {ACK_GOAL_MS:g} ms",
                f"p99 {_met(acks.pct(0.99) < ACK_GOAL_MS if acks.values else None)}, "
                f"max {_met(acks.values[-1] < ACK_GOAL_MS if acks.values else None)}",
            ),
        ]
        width = max(len(label) for label, _ in rows)
        return "\n".join(
            [
                f"releasebot bench slowloris: {self.connections} connections that send part of "
                f"a request head, then a byte every {self.trickle_s:g} s, to `releasebot serve` "
                f"(HTTP mode, {self.database}; header timeout {self.header_timeout}), while "
                f"signed `{self.command}` commands go to POST /slack/events at {self.rate:g}/s; "
                f"{os.cpu_count()} CPUs",
                *(f"  {label:<{width}} : {value}" for label, value in rows),
            ]
        )


def _acks(acks: list[Ack]) -> str:
    spread = Spread.of([a.ack_ms for a in acks if a.ack_ms is not None])
    failures: dict[str, int] = {}
    for ack in acks:
        if ack.failure:
            failures[ack.failure] = failures.get(ack.failure, 0) + 1
    refused = ", ".join(f"{kind}: {count}" for kind, count in failures.items()) or "0"
    return f"{spread.text()} ({len(acks)} sent, not acknowledged {refused})"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "missed")


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} MB"


def _rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match[1]) / 1024 if match else None


async def run_slowloris_bench(
    *,
    connections: int,
    trickle_s: float,
    rate: float,
    baseline_s: float,
    within_s: float,
    workdir: Path,
    header_timeout_s: float | None = None,
    command: str = "deploy",
    sqlite: bool = True,
    admin_url: str = ADMIN_URL,
) -> SlowlorisReport:
    """`header_timeout_s`: RELEASEBOT_HEADER_TIMEOUT_SECONDS for serve (None: as shipped);
    `command`: deploy or status (COMMANDS in bot/benchmarks/load.py)."""
    raise_open_files_limit()
    settings = {}
    if header_timeout_s is not None:
        settings["RELEASEBOT_HEADER_TIMEOUT_SECONDS"] = f"{header_timeout_s:g}"
    async with (
        Cluster(
            workdir, sqlite=sqlite, admin_url=admin_url, services=SERVICES, settings=settings
        ) as cluster,
        _responses() as (response_base, _),
    ):
        assert cluster.replicas[0].process is not None
        pid = cluster.replicas[0].process.pid
        url = cluster.replica_url(0)
        port = int(url.rsplit(":", 1)[1])
        sender = _Commands(
            f"{url}/slack/events", cluster.signing_secret, response_base, rate, COMMANDS[command]
        )
        samples = Samples()
        attacker: Attacker | None = None
        sampling: asyncio.Task | None = None
        try:
            before = await sender.run_for(baseline_s, time.monotonic() + baseline_s)
            samples.take(pid)  # with the commands' connections open, as during the attack
            before_fds, before_rss = samples.fds[-1:], samples.rss_mb[-1:]

            attacker = await Attacker.start(port, connections, trickle_s)
            began = attacker.began
            sampling = asyncio.create_task(_sample(samples, pid))
            attack_over = asyncio.Event()
            during = asyncio.create_task(sender.run_until(attack_over, began))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, began + within_s - time.monotonic())):
                    await attacker.finished()
            watched_s = time.monotonic() - began
            attack_over.set()
            acks_during = await during
        finally:
            await sender.close()
            if sampling is not None:
                sampling.cancel()
            if attacker is not None:
                slow = await attacker.stop()
        after = await _settled_fds(pid, before_fds[0] if before_fds else None)
    return SlowlorisReport(
        command=COMMANDS[command].split(" ", 1)[0] + (" status" if command == "status" else ""),
        database="SQLite" if sqlite else "PostgreSQL",
        connections=connections,
        trickle_s=trickle_s,
        rate=rate,
        header_timeout=f"as shipped, {Settings().header_timeout_s:g} s"
        if header_timeout_s is None
        else f"{header_timeout_s:g} s",
        slow=slow,
        before=before,
        during=acks_during,
        fds=(
            before_fds[0] if before_fds else None,
            max(samples.fds) if samples.fds else None,
            after[0],
        ),
        rss_mb=(
            before_rss[0] if before_rss else None,
            max(samples.rss_mb) if samples.rss_mb else None,
            after[1],
        ),
        opened_in_s=max((x.opened_at for x in slow if x.opened_at is not None), default=0.0),
        watched_s=watched_s,
    )


async def _sample(samples: Samples, pid: int) -> None:
    while True:
        samples.take(pid)
        await asyncio.sleep(0.1)


async def _settled_fds(pid: int, before: int | None) -> tuple[int | None, float | None]:
    """Open files and memory once the descriptors are back near where they began (the server
    closes what it dropped a moment later), or after 5 s."""
    samples = Samples()
    deadline = time.monotonic() + 5.0
    while True:
        samples.take(pid)
        settled = before is None or not samples.fds or samples.fds[-1] <= before + 2
        if settled or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    return (
        samples.fds[-1] if samples.fds else None,
        samples.rss_mb[-1] if samples.rss_mb else None,
    )


class _Commands:
    """Signed slash commands, open loop at a fixed rate, each timed from send to ack."""

    def __init__(
        self, url: str, secret: str, response_base: str, rate: float, template: str
    ) -> None:
        self._url, self._secret, self._response_base, self._rate = url, secret, response_base, rate
        self._template = template
        self._n = 0
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=10)
        )

    async def close(self) -> None:
        await self._http.close()

    async def run_for(self, seconds: float, origin: float) -> list[Ack]:
        over = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, over.set)
        return await self.run_until(over, origin)

    async def run_until(self, over: asyncio.Event, origin: float) -> list[Ack]:
        """Send at the rate until `over` is set; times are seconds after `origin`."""
        started = time.monotonic()
        tasks: list[asyncio.Task[Ack]] = []
        while not over.is_set():
            tasks.append(asyncio.create_task(self._send(origin)))
            due = started + len(tasks) / self._rate
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(over.wait(), max(0.0, due - time.monotonic()))
        return list(await asyncio.gather(*tasks))

    async def _send(self, origin: float) -> Ack:
        n, self._n = self._n, self._n + 1
        body = command_body(n, self._template, f"{self._response_base}/{n}")
        ack = Ack(time.monotonic() - origin)
        ack.ack_ms, ack.failure = await post_signed(self._http, self._url, self._secret, body)
        return ack
