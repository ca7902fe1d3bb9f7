"""The faults, one scenario each, at a size: small for CI (tests/faults), full for
`releasebot chaos`. Each builds a fresh installation (bot/chaos/cluster.py), sends Slack's
signed commands through the stand-in while it breaks something for real, lets everything
settle, then checks every promise (bot/chaos/checks.py) and reports figures."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.chaos.catalog import DEPLOYERS, service_name
from bot.chaos.checks import Report, check
from bot.chaos.cluster import ADMIN_URL, Cluster, Sent

SETTLE_S = 180.0


@dataclass(frozen=True)
class Sizes:
    kills: int  # SIGKILLs of a replica
    burst: int  # concurrent /deploy per burst
    stops: int  # SIGTERMs
    outage_s: float  # Slack answering 5xx pages
    hang_s: float  # Slack not answering
    storm_s: float  # Slack answering 429
    terminate_s: float  # pg_terminate_backend every second
    releases: int  # releases on two replicas

    @classmethod
    def small(cls) -> Sizes:
        return cls(
            kills=4, burst=6, stops=2, outage_s=5, hang_s=6, storm_s=5, terminate_s=6, releases=16
        )

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            kills=100,
            burst=20,
            stops=10,
            outage_s=60,
            hang_s=60,
            storm_s=30,
            terminate_s=30,
            releases=200,
        )


class Traffic:
    """Deploys as people send them: each to the next service, with a new version."""

    def __init__(self, cluster: Cluster, seed: int) -> None:
        self.cluster = cluster
        self.sent: list[Sent] = []
        self._next = itertools.count()
        self._rng = random.Random(seed)

    async def deploy(self) -> Sent:
        n = next(self._next)
        user = DEPLOYERS[n % len(DEPLOYERS)]
        service = service_name(n % self.cluster.services)
        text = f"{service} v1.{n // self.cluster.services}.{n} to staging"
        command = await self.cluster.command(user, "/deploy", text)
        self.sent.append(command)
        return command

    async def ask(self, command: str, text: str, user: str = "U0ALICE") -> Sent:
        sent = await self.cluster.command(user, command, text)
        self.sent.append(sent)
        return sent

    async def burst(self, count: int, *, then: Callable[[], Awaitable[None]] | None = None) -> None:
        """`count` deploys at once; `then` runs as soon as the first of them is acknowledged
        (and runs anyway if none is)."""
        tasks = [asyncio.create_task(self.deploy()) for _ in range(count)]
        if then is not None:
            for finished in asyncio.as_completed(tasks):
                if (await finished).acked:
                    break
            await then()
        await asyncio.gather(*tasks)

    def jitter(self, low: float, high: float) -> float:
        return self._rng.uniform(low, high)


async def run(name: str, sizes: Sizes, workdir: Path, admin_url: str = ADMIN_URL) -> Report:
    scenario = SCENARIOS[name]
    replicas = 2 if name == "replicas" else 1
    report = Report(name)
    began = time.monotonic()
    async with Cluster(
        workdir / name,
        replicas=replicas,
        services=max(40, sizes.burst * 2),
        admin_url=admin_url,
    ) as cluster:
        traffic = Traffic(cluster, seed=len(name))
        await scenario(cluster, traffic, sizes, report)
        report.figures["settled after faults (s)"] = round(await cluster.settle(SETTLE_S), 1)
        await check(cluster, traffic.sent, report)
    report.figures["run time (s)"] = round(time.monotonic() - began, 1)
    return report


async def sigkill(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """SIGKILL the replica, half the time 0-400 ms after the first OK of a burst of deploys,
    half at a random moment of the rollouts; restart it each time."""
    restarts = []
    for round_ in range(sizes.kills):
        aimed = round_ % 2 == 0

        async def kill(delay: float) -> None:
            await asyncio.sleep(delay)
            await cluster.signal(0, signal.SIGKILL)

        if aimed:
            await traffic.burst(sizes.burst, then=lambda: kill(traffic.jitter(0, 0.4)))
        else:
            await traffic.burst(sizes.burst)
            await kill(traffic.jitter(0.2, 3.0))
        restarts.append(await cluster.start_replica(0))
    report.figures["SIGKILLs"] = sizes.kills
    report.figures["of them 0-400 ms after an OK"] = (sizes.kills + 1) // 2
    report.figures["restart until ready (s, median)"] = round(
        sorted(restarts)[len(restarts) // 2], 2
    )


async def sigterm(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """SIGTERM (a rollout of the bot itself) while deploys arrive: it must exit 0 within
    Kubernetes' 30 s and leave no claim behind."""
    codes, durations, left = [], [], 0
    for _ in range(sizes.stops):

        async def stop() -> None:
            await asyncio.sleep(traffic.jitter(0, 0.4))
            began = time.monotonic()
            codes.append(await cluster.signal(0, signal.SIGTERM))
            durations.append(time.monotonic() - began)

        await traffic.burst(sizes.burst, then=stop)
        ((held,),) = await cluster.query(
            "SELECT (SELECT count(*) FROM inbox WHERE claimed_by = 'replica-0') "
            "+ (SELECT count(*) FROM outbox WHERE claimed_by = 'replica-0') "
            "+ (SELECT count(*) FROM releases WHERE claimed_by = 'replica-0')"
        )
        left += held
        await cluster.start_replica(0)
    report.figures["SIGTERMs"] = sizes.stops
    report.figures["exit codes"] = sorted(set(codes))
    report.figures["longest stop (s)"] = round(max(durations), 2)
    report.figures["claims left behind"] = left
    if any(code != 0 for code in codes):
        report.problems.append(f"a SIGTERM ended with exit codes {codes}, not 0")
    if max(durations) >= 30:
        report.problems.append(f"a SIGTERM took {max(durations):.1f}s, past the 30 s grace")
    if left:
        report.problems.append(f"{left} claims were left behind by a graceful stop")


async def slack_outage(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """Slack answers every call (Web API and response_url) with a 503 page for a while;
    releases started before and during it must end up with their messages."""
    await traffic.burst(sizes.burst)
    await asyncio.sleep(1)
    await _fault_window(cluster, traffic, sizes, sizes.outage_s, mode="error5xx", status=503)
    report.figures["outage (s)"] = sizes.outage_s
    report.figures["Slack calls answered 503"] = await _faulted(cluster)


async def slack_hang(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """Slack does not answer at all for a while. Stages must keep moving and a rollback must
    finish in its usual time (plus 5 s) while no message can go out."""
    baseline = await _deploy_then_roll_back(cluster, traffic)
    await traffic.burst(sizes.burst)
    before = await _stage_events(cluster)
    await cluster.fault(methods=["*", "response_url"], mode="hang", seconds=sizes.hang_s)
    began = time.monotonic()
    during = await _deploy_then_roll_back(cluster, traffic)
    await traffic.burst(sizes.burst)
    moved = await _stage_events(cluster) - before
    await asyncio.sleep(max(0.0, sizes.hang_s - (time.monotonic() - began)))
    report.figures["hang (s)"] = sizes.hang_s
    report.figures["stage events during the hang"] = moved
    report.figures["rollback, Slack answering (s)"] = round(baseline, 2)
    report.figures["rollback, Slack hanging (s)"] = round(during, 2)
    if moved == 0:
        report.problems.append("no stage moved while Slack hung")
    if during > baseline + 5:
        report.problems.append(
            f"a rollback took {during:.1f}s while Slack hung, {baseline:.1f}s otherwise"
        )


async def rate_limit_storm(
    cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report
) -> None:
    """Slack answers 429 (Retry-After 1) to every post and update for a while."""
    await traffic.burst(sizes.burst)
    await _fault_window(
        cluster,
        traffic,
        sizes,
        sizes.storm_s,
        mode="ratelimit",
        retry_after=1,
        methods=["chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"],
    )
    report.figures["storm (s)"] = sizes.storm_s
    report.figures["Slack calls answered 429"] = await _faulted(cluster)


async def pg_terminate(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """pg_terminate_backend on every connection of the bot, every second, while deploys and
    status questions arrive: an acknowledged command must never be lost."""
    terminated, stop = 0, asyncio.Event()

    async def terminator() -> None:
        nonlocal terminated
        while not stop.is_set():
            terminated += await cluster.terminate_connections()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    killing = asyncio.create_task(terminator())
    began = time.monotonic()
    while time.monotonic() - began < sizes.terminate_s:
        await asyncio.gather(traffic.deploy(), traffic.ask("/release", "status"))
        await asyncio.sleep(0.2)
    stop.set()
    await killing
    report.figures["terminating for (s)"] = sizes.terminate_s
    report.figures["connections terminated"] = terminated
    report.figures["commands refused without an OK"] = sum(1 for s in traffic.sent if not s.acked)


async def two_replicas(cluster: Cluster, traffic: Traffic, sizes: Sizes, report: Report) -> None:
    """Two healthy replicas share the work: each release's thread must read in order."""
    waves = max(1, sizes.releases // cluster.services)
    per_wave = sizes.releases // waves
    for _ in range(waves):
        await traffic.burst(per_wave)
        await cluster.settle(SETTLE_S)
    report.figures["replicas"] = 2


async def _fault_window(
    cluster: Cluster, traffic: Traffic, sizes: Sizes, seconds: float, **fault
) -> None:
    """Slack fails as told for `seconds`; deploys keep arriving meanwhile."""
    fault.setdefault("methods", ["*", "response_url"])
    await cluster.fault(seconds=seconds, **fault)
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        await traffic.burst(max(1, sizes.burst // 4))
        await asyncio.sleep(min(2.0, seconds / 4))


async def _deploy_then_roll_back(cluster: Cluster, traffic: Traffic) -> float:
    """Ship a release, then roll it back as on-call would; the rollback's duration, from the
    OK of /rollback to the release rolled back in the database."""
    sent = await traffic.deploy()
    service = sent.text.split()[0]
    await _until(
        cluster,
        "SELECT state FROM releases WHERE service = %(s)s ORDER BY id DESC LIMIT 1",
        {"s": service},
        "succeeded",
    )
    rollback = await traffic.ask("/rollback", f"{service} staging chaos drill", user="U0CAROL")
    await _until(
        cluster,
        "SELECT state FROM releases WHERE service = %(s)s ORDER BY id DESC LIMIT 1",
        {"s": service},
        "rolled_back",
    )
    return time.monotonic() - rollback.at


async def _until(cluster: Cluster, sql: str, params: dict, value: str, within_s=60.0) -> None:
    began = time.monotonic()
    while time.monotonic() - began < within_s:
        rows = await cluster.query(sql, params)
        if rows and rows[0][0] == value:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{sql} {params} never became {value!r}")


async def _stage_events(cluster: Cluster) -> int:
    ((count,),) = await cluster.query(
        "SELECT count(*) FROM audit_events WHERE action LIKE 'stage.%%'"
    )
    return count


async def _faulted(cluster: Cluster) -> int:
    return sum(1 for call in await cluster.calls() if call.get("fault"))


SCENARIOS: dict[str, Callable[[Cluster, Traffic, Sizes, Report], Awaitable[None]]] = {
    "sigkill": sigkill,
    "sigterm": sigterm,
    "slack-outage": slack_outage,
    "slack-hang": slack_hang,
    "rate-limit-storm": rate_limit_storm,
    "pg-terminate": pg_terminate,
    "replicas": two_replicas,
}
