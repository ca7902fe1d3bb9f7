"""The simulated backend's worlds for the contract suites: the same promises as the real
adapters, kept by the embedded default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.core.clock import ManualClock
from bot.core.ports import Target
from integrations.simulated import SimulatedBackend, SimulatedSettings

TARGET = Target("checkout", "production", "acme/checkout")


@dataclass
class SimulatedWorld:
    adapter: SimulatedBackend
    target: Target
    clock: ManualClock
    flag: str = "new-cart"

    # Deployer

    async def set_running(self, version: str) -> None:
        self.adapter.settings.running_versions[self.target.service] = version

    async def fail_next_step(self) -> None:
        self.adapter.settings.fail_steps = ("10%",)

    async def finish_operations(self) -> None:
        self.clock.advance(self.adapter.settings.step_seconds + 1)

    # CI

    async def ci_reports(self, version: str, checks: dict[str, str | None]) -> None:
        """checks: name -> "success" | "failure" | None (still running)."""
        settings = self.adapter.settings
        settings.checks = tuple(checks)
        settings.failing_checks = tuple(n for n, s in checks.items() if s == "failure")
        settings.ci_seconds = 10**6 if None in checks.values() else 0

    # Monitor

    async def error_rate_is(self, value: float) -> None:
        self.adapter.settings.metrics["error_rate"] = value


@asynccontextmanager
async def simulated_world() -> AsyncIterator[SimulatedWorld]:
    clock = ManualClock()
    settings = SimulatedSettings(step_seconds=3, ci_seconds=0, authors={"checkout": ("bob",)})
    yield SimulatedWorld(SimulatedBackend(settings, clock), TARGET, clock)


def recorded_states(world: SimulatedWorld, release_id: int) -> list[str]:
    key = (world.target.service, world.target.environment, release_id)
    return world.adapter.deployments.get(key, ("", []))[1]
