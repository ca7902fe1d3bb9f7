"""`releasebot bench fleet`: many concurrent releases on the simulated backend, short steps.

One `releasebot serve` in HTTP mode (PostgreSQL, or a SQLite file), the Slack stand-in and a
deploy script as processes of their own (bot/chaos/cluster.py). Each of N services gets one
`/deploy` through the signed POST /slack/events, sent open loop at a fixed rate; staging
needs no approval and CI is green at once (ci_seconds 0), so every release goes straight to
its plan: canary 10% -> bake -> 50% -> bake -> 100%, each step taking `step_seconds` on the
simulated deployer, each bake `bake_s`. The replicas run with the production defaults for
everything that paces work and Slack traffic (tick 1 s unless told otherwise, status
updates coalesced per message for 1 s, refreshed every 15 s).

After every release has finished and every message is sent, it reads the figures from where
they are recorded, not from the bot's own say-so:

Stage lag, from each release's `data` JSON (stages with started_at and finished_at). A stage
after the first is *due* the moment the stage before it was over:

- after a bake: when its time ran out, `started_at + duration_s` (next_action asks for
  FINISH_BAKE then; the bake's end and the next START_STAGE are both the engine's doing);
- after a step: when the simulated deployer's operation was done, its start plus its
  seconds, both carried in the operation id (`sim:<start>:<seconds>:...`). The deployer asks
  to be polled then (rounded up to whole seconds, at least 1 s after the stage started).

  stage lag = stage.started_at - due.

It is split into what it is made of: *end lag* (the previous stage's finished_at - due: a bake
noticed over, or a step's last poll, late) and *start lag* (stage.started_at - the previous
stage's finished_at: next_action makes START_STAGE due at once when a stage finishes). The
first stage has no stage before it: *first stage after the ack* is its started_at minus the
moment the /deploy was acknowledged (the command handled from the inbox, CI checked, the
rollout started), reported on its own.

Time until all finish: from the first command sent to the last release's finished_at (and
until the last message was sent). Peak RSS: VmHWM of the serve process (/proc/<pid>/status);
CPU: its user + system time while the releases ran (/proc/<pid>/stat), and the busiest
second. Slack calls: every Web API call the stand-in recorded, with its arrival time: per
method, the most calls in any 1 s and any 60 s window, against the method's rate-limit tier;
chat.postMessage also per channel (Slack allows about 1 per second per channel).

A benchmark that prints figures, not a test; the machine's other load shows in them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.benchmarks.load import Spread, _cpu_seconds, _responses, _stamp, open_loop, post_signed
from bot.chaos.cluster import DEPLOYERS, Cluster, service_name
from bot.chaos.processes import Child

# The channels the stand-in's workspace has (bot/emulator/workspace.py); it cannot make more.
CHANNELS = ("C0DEPLOYS", "C0RELEASES")
LAG_GOAL_S = 1.0
RSS_GOAL_MB = 300.0
# Slack's documented limits, per minute per workspace unless said otherwise (Web API tiers:
# 1: 1+, 2: 20+, 3: 50+, 4: 100+ per minute). chat.postMessage is special: about 1 per second
# per channel, short bursts allowed.
TIERS: dict[str, tuple[str, int]] = {
    "chat.update": ("Tier 3", 50),
    "chat.delete": ("Tier 3", 50),
    "chat.postEphemeral": ("Tier 4", 100),
    "chat.getPermalink": ("Tier 4", 100),
    "conversations.open": ("Tier 3", 50),
    "conversations.history": ("Tier 3", 50),
    "conversations.replies": ("Tier 3", 50),
    "conversations.info": ("Tier 3", 50),
    "users.info": ("Tier 4", 100),
    "usergroups.users.list": ("Tier 2", 20),
    "views.open": ("Tier 4", 100),
    "views.update": ("Tier 4", 100),
    "views.publish": ("Tier 4", 100),
    "reactions.add": ("Tier 3", 50),
}
POST_PER_CHANNEL_PER_MINUTE = 60
_OPERATION = re.compile(r"^sim:(?P<start>\d+(?:\.\d+)?):(?P<seconds>\d+):")


@dataclass
class Command:
    n: int
    channel: str
    sent_at: float
    acked_at: float | None = None
    failure: str | None = None


@dataclass
class Usage:
    """CPU and memory of one process, sampled once a second while the releases ran."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    busiest_s: float = 0.0  # CPU seconds in the busiest one-second sample
    peak_rss_mb: float | None = None

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True)
class Rate:
    method: str
    calls: int
    peak_s: int
    peak_min: int
    tier: str
    limit_per_min: int | None

    @property
    def within(self) -> bool | None:
        return None if self.limit_per_min is None else self.peak_min <= self.limit_per_min


@dataclass
class FleetReport:
    releases: int
    channels: int
    database: str
    tick_s: float
    step_s: int
    bake_s: int
    rate: float
    commands: list[Command] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    stage_lag: list[float] = field(default_factory=list)
    end_lag: list[float] = field(default_factory=list)
    start_lag: list[float] = field(default_factory=list)
    first_stage: list[float] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    all_finished_s: float | None = None
    settled_s: float | None = None
    owed: int | None = None  # messages not yet sent when measured (without every_message)
    unfinished: str = ""
    serve: Usage = field(default_factory=Usage)
    standin_cpu_s: float | None = None
    rates: list[Rate] = field(default_factory=list)
    post_channels: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    throttled: int = 0  # Slack calls answered 429

    @property
    def ideal_s(self) -> int:
        """A release's length if nothing ever waited: three steps, two bakes."""
        return 3 * self.step_s + 2 * self.bake_s

    def report(self) -> str:
        acked = [c for c in self.commands if c.acked_at is not None]
        sent_s = (
            max(c.sent_at for c in self.commands) - min(c.sent_at for c in self.commands)
            if self.commands
            else 0.0
        )
        acks = Spread.of([(c.acked_at - c.sent_at) * 1000 for c in acked])
        refused = len(self.commands) - len(acked)
        rss = self.serve.peak_rss_mb
        lines = [
            f"releasebot bench fleet: {self.releases} releases of {self.releases} services "
            f"(canary 10% -> 50% -> 100%, steps {self.step_s} s, bakes {self.bake_s} s: "
            f"{self.ideal_s} s each if nothing waited) over {self.channels} channel(s); "
            f"one `releasebot serve` on {self.database}, tick {self.tick_s:g} s; "
            f"simulated backend; {os.cpu_count()} CPUs (shared: figures are noisy)",
            "",
            f"commands  : {len(self.commands)} /deploy sent at {self.rate:g}/s in {sent_s:.1f} s; "
            f"acked {len(acked)} ({acks.text()})"
            + (f"; NOT acked {refused}" if refused else "")
            + f"; {sum(1 for ms in acks.values if ms > 3000)} after Slack's 3 s",
            f"releases  : {_states(self.states)}"
            + (f"; unfinished: {self.unfinished}" if self.unfinished else ""),
            f"all finish: {_secs(self.all_finished_s)} after the first command"
            + (
                f" (every message sent: {_secs(self.settled_s)})"
                if self.owed is None
                else f" ({self.owed} messages still owed to Slack then)"
            )
            + f"; release length {Spread.of(self.durations).text('s')}",
            "",
            f"stage lag, start against due ({len(self.stage_lag)} stages after the first):",
            f"  {Spread.of(self.stage_lag).text('s')}"
            f"   goal p99 < {LAG_GOAL_S:g} s: "
            f"{_goal(_p99(self.stage_lag) < LAG_GOAL_S if self.stage_lag else None)}",
            f"  of which end lag (bake over / step done, noticed late): "
            f"{Spread.of(self.end_lag).text('s')}",
            f"  of which start lag (after the previous stage finished): "
            f"{Spread.of(self.start_lag).text('s')}",
            f"first stage after the ack: {Spread.of(self.first_stage).text('s')}",
            "",
            f"serve     : peak RSS {_mb(rss)}   goal < {RSS_GOAL_MB:g} MB: "
            f"{_goal(None if rss is None else rss < RSS_GOAL_MB)}",
            f"            CPU {self.serve.cpu_s:.1f} s in {self.serve.wall_s:.1f} s "
            f"({100 * self.serve.cpu_share:.0f}% of one CPU on average, "
            f"{100 * self.serve.busiest_s:.0f}% in the busiest second)"
            + (
                f"; the stand-in used {self.standin_cpu_s:.1f} s"
                if self.standin_cpu_s is not None
                else ""
            ),
            "",
            "Slack calls recorded by the stand-in (peak = most in any 1 s / 60 s window)"
            + (f"; {self.throttled} answered 429" if self.throttled else "")
            + ":",
            f"  {'method':<24}{'calls':>7}{'peak/s':>8}{'peak/min':>10}  limit",
        ]
        for rate in self.rates:
            if rate.method == "chat.postMessage":
                limit = f"~1/s per channel ({POST_PER_CHANNEL_PER_MINUTE}/min): see below"
            elif rate.limit_per_min is None:
                limit = rate.tier
            else:
                limit = (
                    f"{rate.tier}, ~{rate.limit_per_min}/min per workspace: {_goal(rate.within)}"
                )
            lines.append(
                f"  {rate.method:<24}{rate.calls:>7}{rate.peak_s:>8}{rate.peak_min:>10}  {limit}"
            )
        if self.post_channels:
            lines.append("  chat.postMessage per channel:")
            for channel, (calls, peak_s, peak_min) in sorted(self.post_channels.items()):
                within = peak_min <= POST_PER_CHANNEL_PER_MINUTE
                lines.append(
                    f"    {channel:<22}{calls:>7}{peak_s:>8}{peak_min:>10}  "
                    f"~1/s per channel: {_goal(within)}"
                )
        return "\n".join(lines)


async def run_fleet_bench(
    *,
    releases: int,
    channels: int,
    sqlite: bool,
    admin_url: str,
    workdir: Path,
    rate: float = 200.0,
    step_s: int = 1,
    bake_s: int = 5,
    tick_s: float = 1.0,
    within_s: float = 1800.0,
    every_message: bool = True,
) -> FleetReport:
    """`every_message=False`: measure once every release has finished, without waiting for
    the messages still owed (status updates go at the workspace budget's pace)."""
    report = FleetReport(
        releases=releases,
        channels=channels,
        database="SQLite" if sqlite else "PostgreSQL",
        tick_s=tick_s,
        step_s=step_s,
        bake_s=bake_s,
        rate=rate,
    )
    cluster = Cluster(
        workdir,
        services=releases,
        admin_url=admin_url,
        sqlite=sqlite,
        tick_s=tick_s,
        slack_timeout_s=5.0,
        catalog_options={
            "deployer": "sim",
            "bake": f"{bake_s}s",
            "simulated": {"ci_seconds": 0, "step_seconds": step_s},
        },
        settings={  # the shipped defaults of what paces Slack traffic
            "RELEASEBOT_UPDATE_INTERVAL_SECONDS": "1",
            "RELEASEBOT_STATUS_REFRESH_SECONDS": "15",
            "RELEASEBOT_CHAT_UPDATES_PER_MINUTE": "40",
        },
    )
    async with cluster, _responses() as (response_base, _answered):
        serve = cluster.replicas[0]
        assert cluster.standin is not None
        standin_before = _cpu_seconds(cluster.standin)
        sampler = _Sampler(serve)
        sampling = asyncio.create_task(sampler.run())
        try:
            began = time.time()
            report.commands = await _send(
                f"{cluster.replica_url(0)}/slack/events",
                cluster.signing_secret,
                releases,
                channels,
                rate,
                response_base,
            )
            try:
                if every_message:
                    await cluster.settle(within_s)
                    report.settled_s = time.time() - began
                else:
                    report.owed = await _releases_done(cluster, within_s)
            except TimeoutError as exc:
                report.unfinished = str(exc)
        finally:
            sampler.stop = True
            await sampling
        report.serve = sampler.usage
        standin_after = _cpu_seconds(cluster.standin)
        if standin_before is not None and standin_after is not None:
            report.standin_cpu_s = standin_after - standin_before
        await _measure_releases(cluster, report, began)
        await _measure_calls(cluster, report)
    return report


async def _releases_done(cluster: Cluster, within_s: float) -> int:
    """Wait until every request is handled and every release has finished; returns how many
    messages are still owed then. Raises TimeoutError as Cluster.settle does."""
    began = time.monotonic()
    while True:
        inbox, active, outbox = await cluster.pending()
        if not inbox and not active:
            return outbox
        if time.monotonic() - began > within_s:
            raise TimeoutError(
                f"not finished after {within_s:g}s: {inbox} requests, {active} releases pending"
            )
        await asyncio.sleep(0.5)


async def _send(
    url: str, secret: str, releases: int, channels: int, rate: float, response_base: str
) -> list[Command]:
    """One /deploy per service, each at its time (open loop), spread over the channels."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=5)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as http:

        async def send(n: int) -> Command:
            command = Command(n, CHANNELS[n % channels], time.time())
            body = _deploy_body(n, command.channel, f"{response_base}/{n}")
            ack_ms, command.failure = await post_signed(http, url, secret, body)
            if ack_ms is not None:
                command.acked_at = time.time()
            return command

        return await open_loop(releases, rate, send)


def _deploy_body(n: int, channel: str, response_url: str) -> bytes:
    return urlencode(
        {
            "team_id": "T0RELEASE",
            "channel_id": channel,
            "channel_name": channel.lower(),
            "user_id": DEPLOYERS[n % len(DEPLOYERS)],
            "user_name": "bench",
            "command": "/deploy",
            "text": f"{service_name(n)} v2.0.{n} to staging",
            "trigger_id": f"{n}.{secrets.token_hex(8)}",
            "response_url": response_url,
        }
    ).encode()


class _Sampler:
    """Reads a process's CPU time once a second (for the busiest second), and at the end its
    CPU time and VmHWM (the kernel's own peak of resident memory)."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.stop = False
        self.usage = Usage()

    async def run(self) -> None:
        began = time.monotonic()
        first = last = _cpu_seconds(self.child)
        last_at = began
        while not self.stop:
            await asyncio.sleep(1.0)
            now, cpu = time.monotonic(), _cpu_seconds(self.child)
            if cpu is not None and last is not None and now > last_at:
                self.usage.busiest_s = max(self.usage.busiest_s, (cpu - last) / (now - last_at))
            last, last_at = cpu, now
        self.usage.wall_s = time.monotonic() - began
        if first is not None and last is not None:
            self.usage.cpu_s = last - first
        self.usage.peak_rss_mb = _peak_rss_mb(self.child)


def _peak_rss_mb(child: Child) -> float | None:
    if child.process is None:
        return None
    try:
        status = Path(f"/proc/{child.process.pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match[1]) / 1024 if match else None


async def _measure_releases(cluster: Cluster, report: FleetReport, began: float) -> None:
    acked = {service_name(c.n): c.acked_at for c in report.commands if c.acked_at is not None}
    rows = await cluster.query("SELECT service, state, data, created_at, finished_at FROM releases")
    finished: list[float] = []
    for service, state, data, created_at, finished_at in rows:
        report.states[state] = report.states.get(state, 0) + 1
        if finished_at is not None:
            finished.append(_stamp(finished_at))
            report.durations.append(_stamp(finished_at) - _stamp(created_at))
        stages = (json.loads(data) if isinstance(data, str) else data)["stages"]
        lags = stage_lags(stages)
        report.stage_lag += lags.stage
        report.end_lag += lags.end
        report.start_lag += lags.start
        first = stages[0].get("started_at") if stages else None
        if first and acked.get(service) is not None:
            report.first_stage.append(_stamp(first) - acked[service])
    if finished:
        report.all_finished_s = max(finished) - began


@dataclass
class Lags:
    stage: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)


def stage_lags(stages: list[dict[str, Any]]) -> Lags:
    """The lags of one release's stages (as the module docstring defines them), in seconds."""
    lags = Lags()
    for before, stage in zip(stages, stages[1:], strict=False):
        if not (stage.get("started_at") and before.get("finished_at")):
            continue
        due = stage_over(before)
        started = _stamp(stage["started_at"])
        ended = _stamp(before["finished_at"])
        if due is not None:
            lags.stage.append(started - due)
            lags.end.append(ended - due)
        lags.start.append(started - ended)
    return lags


def stage_over(stage: dict[str, Any]) -> float | None:
    """When a stage's work was over, the moment the next stage became due (epoch seconds)."""
    if stage.get("kind") == "bake":
        if not stage.get("started_at"):
            return None
        return _stamp(stage["started_at"]) + float(stage.get("duration_s") or 0)
    match = _OPERATION.match(stage.get("operation_id") or "")
    if match is None:
        return _stamp(stage["finished_at"]) if stage.get("finished_at") else None
    return float(match["start"]) + int(match["seconds"])


async def _measure_calls(cluster: Cluster, report: FleetReport) -> None:
    # Every call with its arguments: tens of MB after a thousand releases, so no short timeout.
    timeout = aiohttp.ClientTimeout(total=600)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"{cluster.standin_url}/_control/calls") as response,
    ):
        response.raise_for_status()
        calls = (await response.json())["calls"]
    by_method: dict[str, list[float]] = {}
    posts: dict[str, list[float]] = {}
    for call in calls:
        if int(call.get("status") or 200) == 429:
            report.throttled += 1
        method = str(call.get("method"))
        by_method.setdefault(method, []).append(float(call["at"]))
        if method == "chat.postMessage":
            channel = str((call.get("args") or {}).get("channel", "?"))
            posts.setdefault(channel, []).append(float(call["at"]))
    for method, times in sorted(by_method.items(), key=lambda item: -len(item[1])):
        tier, limit = TIERS.get(method, ("tier not listed", None))
        if method == "chat.postMessage":
            tier, limit = "~1/s per channel", None
        report.rates.append(
            Rate(method, len(times), peak_in(times, 1.0), peak_in(times, 60.0), tier, limit)
        )
    report.post_channels = {
        channel: (len(times), peak_in(times, 1.0), peak_in(times, 60.0))
        for channel, times in posts.items()
    }


def peak_in(times: list[float], window_s: float) -> int:
    """The most events in any window of `window_s` seconds (a window starting at an event)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most


def _p99(values: list[float]) -> float:
    return Spread.of(values).pct(0.99)


def _goal(met: bool | None) -> str:
    return "?" if met is None else ("met" if met else "NOT met")


def _secs(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} MB"


def _states(states: dict[str, int]) -> str:
    if not states:
        return "none"
    return ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
