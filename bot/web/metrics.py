"""Prometheus metrics, in a registry of the app's own (nothing global, nothing at import)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.slack_requests = Counter(
            "releasebot_slack_requests_total",
            "Requests to /slack/events by result",
            ["result"],
            registry=self.registry,
        )
        self.engine_ticks = Counter(
            "releasebot_engine_ticks_total", "Engine ticks run", registry=self.registry
        )
        self.engine_rows = Counter(
            "releasebot_engine_rows_total", "Due rows handled by the engine", registry=self.registry
        )
        self.ready = Gauge("releasebot_ready", "1 when /readyz passes", registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
