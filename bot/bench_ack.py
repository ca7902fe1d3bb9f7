"""`releasebot bench-ack`: Slack's ack latency under a fixed request rate (open loop).

A `releasebot serve` process in HTTP mode on a fresh PostgreSQL database (with the Slack
stand-in and the deploy script as processes of their own, as `releasebot chaos` sets them
up) is sent signed slash commands at a fixed rate, whether or not earlier ones were answered
(as Slack does: people do not wait for each other). Each ack means the command was written to
the inbox first; the work happens after it. Reports the latency percentiles and anything that
was not acknowledged. A benchmark that prints figures, not a test.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.chaos.cluster import CHANNEL, DEPLOYERS, Cluster, service_name
from bot.emulator.signing import signed_headers

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class AckResult:
    rate: float
    seconds: float
    command: str
    roles: tuple[str, ...]
    latencies_ms: list[float]
    failures: dict[str, int]
    handled_after_s: float

    def report(self) -> str:
        ordered = sorted(self.latencies_ms) or [0.0]

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

        refused = sum(self.failures.values())
        why = ", ".join(f"{kind}: {count}" for kind, count in self.failures.items())
        return "\n".join(
            [
                f"{len(self.latencies_ms) + refused} `{self.command}` at {self.rate:g}/s for "
                f"{self.seconds:g} s (PostgreSQL, HTTP mode, "
                + (
                    "one process doing everything)"
                    if self.roles == ("all",)
                    else "a web process acking, an engine process working)"
                ),
                f"ack to Slack: p50 {statistics.median(ordered):.1f} ms, p90 {pct(0.9):.1f} ms, "
                f"p99 {pct(0.99):.1f} ms, max {ordered[-1]:.1f} ms",
                f"not acknowledged: {refused}" + (f" ({why})" if why else ""),
                f"all acknowledged work done {self.handled_after_s:.1f} s after the last send",
            ]
        )


async def run_ack_bench(
    admin_url: str, rate: float, seconds: float, command: str, workdir: Path, roles: tuple[str, ...]
) -> AckResult:
    """Commands go to the first process; `roles`: ("all",) for one process doing everything,
    ("web", "engine") for Slack's side and the engine in processes of their own."""
    async with Cluster(workdir, roles=roles, services=200, admin_url=admin_url) as cluster:
        url = f"{cluster.replica_url(0)}/slack/events"
        latencies: list[float] = []
        failures: dict[str, int] = {}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=10)
        ) as http:

            async def send(n: int) -> None:
                body = _command_body(n, command)
                headers = signed_headers(cluster.signing_secret, body, FORM, int(time.time()))
                began = time.perf_counter()
                try:
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    return
                if status == 200:
                    latencies.append((time.perf_counter() - began) * 1000)
                else:
                    failures[f"HTTP {status}"] = failures.get(f"HTTP {status}", 0) + 1

            total = int(rate * seconds)
            started = time.perf_counter()
            tasks = []
            for n in range(total):
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(n)))
            await asyncio.gather(*tasks)
        handled_after = await cluster.settle(600)
        return AckResult(rate, seconds, command, roles, latencies, failures, handled_after)


def _command_body(n: int, command: str) -> bytes:
    name, _, text = command.partition(" ")
    text = text.replace("{service}", service_name(n % 200)).replace("{n}", str(n))
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
        }
    ).encode()


def bench_workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="releasebot-bench-ack-")
