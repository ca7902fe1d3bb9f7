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
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.benchmarks.fleet_report import TIERS, Command, FleetReport, Rate, Usage
from bot.benchmarks.load import _cpu_seconds, _responses, _stamp, open_loop, post_signed
from bot.chaos.catalog import DEPLOYERS, service_name
from bot.chaos.cluster import Cluster
from bot.chaos.processes import Child

# The channels the stand-in's workspace has (bot/emulator/workspace.py); it cannot make more.
CHANNELS = ("C0DEPLOYS", "C0RELEASES")
_OPERATION = re.compile(r"^sim:(?P<start>\d+(?:\.\d+)?):(?P<seconds>\d+):")


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
