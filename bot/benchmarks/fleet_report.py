"""What `releasebot bench fleet` measured, and how it prints it against the goals and Slack's
rate-limit tiers (bot/benchmarks/fleet.py runs the fleet and says how each figure is read)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bot.benchmarks.load import Spread

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
