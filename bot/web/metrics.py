"""Prometheus metrics, in a registry of the app's own (nothing global, nothing at import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

if TYPE_CHECKING:
    from bot.services.audit_watch import Verdict


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
        self.audit_intact = Gauge(
            "releasebot_audit_intact",
            "1 while the audit trail's triggers are in place and its chain holds, else 0",
            registry=self.registry,
        )
        self.audit_broken_at = Gauge(
            "releasebot_audit_broken_at_sequence",
            "The first sequence number where the audit chain breaks (0 while it holds)",
            registry=self.registry,
        )

    def audit_verdict(self, verdict: Verdict) -> None:
        self.audit_intact.set(1 if verdict.ok else 0)
        self.audit_broken_at.set(verdict.broken_at or 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
