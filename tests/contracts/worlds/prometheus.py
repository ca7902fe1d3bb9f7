"""The Prometheus monitor's world for the Monitor contract: the adapter against a real
Prometheus scraping a test app whose error rate the world sets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.core.analysis import render_query
from bot.core.clock import ManualClock
from bot.core.ports import Target
from integrations.base import BackendContext
from integrations.prometheus import PrometheusMonitor, build
from tests.support.metrics_app import MetricsApp, error_rate_query, wait_until_measured

TARGET = Target("checkout", "production", "acme/checkout")
WINDOW_S = 5


@dataclass
class PrometheusWorld:
    adapter: PrometheusMonitor
    target: Target
    app: MetricsApp
    prometheus_url: str

    async def error_rate_is(self, value: float) -> None:
        self.app.set(self.target.service, error_rate=value)
        query = render_query(
            error_rate_query(self.app.run),
            {"service": self.target.service, "window": f"{WINDOW_S}s"},
        )
        wait_until_measured(self.prometheus_url, query, value)


@asynccontextmanager
async def prometheus_world(env: Mapping[str, str]) -> AsyncIterator[PrometheusWorld]:
    app = MetricsApp().start(env["PROMETHEUS_TARGETS_DIR"])
    adapter = build(
        {"url": env["PROMETHEUS_URL"], "queries": {"error_rate": error_rate_query(app.run)}},
        BackendContext(clock=ManualClock(), env={}),
    )
    try:
        yield PrometheusWorld(adapter, TARGET, app, env["PROMETHEUS_URL"])
    finally:
        app.stop()
