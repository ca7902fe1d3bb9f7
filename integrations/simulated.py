"""The embedded default backend: CI, deployer, monitor and flag store in one, deterministic and
timed by the injected clock, and told by the catalog where to fail.

Catalog settings (all optional):
  ci_seconds: 2              CI stays pending this long for each version
  checks: [build, unit-tests, lint]
  failing_checks: []          these checks fail, so the CI gate refuses
  head_versions: {checkout: v1.4.3}     what "latest" resolves to per service
  running_versions: {checkout: v1.4.2}  what runs before the first release
  step_seconds: 3            how long each deploy step (and a rollback) takes
  fail_steps: ["50%"]        steps that fail, by label ("10%", "switch", "batch 2/3")
  metrics: {error_rate: 0.002, latency_p99_ms: 180}
  degraded_metrics: {error_rate: 0.08}
  degrade_at: ["10%"]        analysis after these steps sees the degraded metrics ("*": all)
  authors: {checkout: [bob]} who wrote the commits shipped (for not_commit_authors)
  commit_age_seconds: 3600   how long before CI first saw a version it was committed

Operation ids carry their own start time and outcome, so a restart loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.analysis import judge
from bot.core.ports import (
    AnalysisRequest,
    AnalysisResult,
    CiCheck,
    CiStatus,
    Clock,
    DeploymentRecord,
    IntegrationError,
    OperationStatus,
    RollbackRequest,
    StepRequest,
    Target,
)
from integrations.base import BackendContext, SettingsProblem

DEFAULT_METRICS = {"error_rate": 0.002, "latency_p99_ms": 180.0}


@dataclass
class SimulatedSettings:
    ci_seconds: int = 2
    checks: tuple[str, ...] = ("build", "unit-tests", "lint")
    failing_checks: tuple[str, ...] = ()
    head_versions: dict[str, str] = field(default_factory=dict)
    running_versions: dict[str, str] = field(default_factory=dict)
    step_seconds: int = 3
    fail_steps: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_METRICS))
    degraded_metrics: dict[str, float] = field(default_factory=dict)
    degrade_at: tuple[str, ...] = ()
    authors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per service
    commit_age_seconds: int = 3600

    @classmethod
    def from_catalog(cls, settings: dict[str, Any]) -> SimulatedSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(settings) - known
        if unknown:
            raise ValueError(
                f"unknown simulated backend setting(s): {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        values = dict(settings)
        for name in ("checks", "failing_checks", "fail_steps", "degrade_at"):
            if name in values:
                values[name] = tuple(str(v) for v in values[name])
        if "authors" in values:
            values["authors"] = {svc: tuple(names) for svc, names in values["authors"].items()}
        return cls(**values)


class SimulatedBackend:
    """Implements CI, Deployer, Monitor, FlagStore and DeploymentMirror
    (bot/core/ports/integrations.py)."""

    def __init__(self, settings: SimulatedSettings, clock: Clock) -> None:
        self.settings = settings
        self._clock = clock
        self._ci_first_seen: dict[tuple[str, str], datetime] = {}
        self._running: dict[tuple[str, str], str] = {}
        self._flags: dict[tuple[str, str, str], int | None] = {}
        self._operations: dict[str, str] = {}
        # (service, environment, release id) -> (version, the states recorded, in order)
        self.deployments: dict[tuple[str, str, int], tuple[str, list[str]]] = {}

    async def close(self) -> None:
        """Nothing to let go of: the simulation holds no connections."""

    async def health(self) -> str | None:
        return None

    # CI

    async def resolve_version(self, target: Target, ref: str | None) -> str:
        if ref:
            return ref
        return self.settings.head_versions.get(target.service, "v1.0.1")

    async def status(self, target: Target, version: str, since: str | None = None) -> CiStatus:
        first = self._ci_first_seen.setdefault((target.service, version), self._clock.now())
        waited = (self._clock.now() - first).total_seconds()
        if waited < self.settings.ci_seconds:
            checks = tuple(CiCheck(name, "pending") for name in self.settings.checks)
            return CiStatus(
                "pending", checks, retry_in_s=max(1, int(self.settings.ci_seconds - waited))
            )
        checks = tuple(
            CiCheck(name, "failure" if name in self.settings.failing_checks else "success")
            for name in (*self.settings.checks, *self._extra_failing())
        )
        state = "failed" if any(c.state == "failure" for c in checks) else "passed"
        return CiStatus(
            state,
            checks,
            authors=tuple(self.settings.authors.get(target.service, ())),
            committed_at=first - timedelta(seconds=self.settings.commit_age_seconds),
        )

    def _extra_failing(self) -> tuple[str, ...]:
        return tuple(c for c in self.settings.failing_checks if c not in self.settings.checks)

    # Deployer

    async def current_version(self, target: Target) -> str | None:
        key = (target.service, target.environment)
        return self._running.get(key) or self.settings.running_versions.get(target.service)

    async def start_step(self, request: StepRequest) -> str:
        outcome = "fail" if request.label in self.settings.fail_steps else "ok"
        if request.percent == 100 and outcome == "ok":
            self._running[(request.target.service, request.target.environment)] = request.version
        return self._operation(request.idempotency_key, outcome, request.label)

    async def start_rollback(self, request: RollbackRequest) -> str:
        if request.to_version:
            self._running[(request.target.service, request.target.environment)] = request.to_version
        return self._operation(
            request.idempotency_key, "ok", f"rollback to {request.to_version or 'previous'}"
        )

    def _operation(self, key: str, outcome: str, label: str) -> str:
        """Same key, same operation; the id carries its start and outcome, so polling needs no
        memory and survives a restart."""
        if key not in self._operations:
            started = self._clock.now().timestamp()
            self._operations[key] = (
                f"sim:{started:.3f}:{self.settings.step_seconds}:{outcome}:{label}"
            )
        return self._operations[key]

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        started, seconds, outcome, label = _parse_operation(operation_id)
        elapsed = self._clock.now().timestamp() - started
        if elapsed < seconds:
            return OperationStatus(
                "running",
                f"{int(100 * elapsed / max(seconds, 1))}% complete",
                poll_in_s=max(1, min(5, int(seconds - elapsed))),
            )
        if outcome == "fail":
            return OperationStatus("failed", "pods crash-looping (simulated failure)")
        return OperationStatus("succeeded", "healthy")

    # Monitor

    async def analyze(self, request: AnalysisRequest) -> AnalysisResult:
        degraded = (
            "*" in self.settings.degrade_at or request.stage_label in self.settings.degrade_at
        )
        values = {**self.settings.metrics, **(self.settings.degraded_metrics if degraded else {})}
        return AnalysisResult(
            tuple(judge(metric, values.get(metric.name)) for metric in request.metrics)
        )

    # Deployment mirror

    async def record(self, record: DeploymentRecord) -> None:
        key = (record.target.service, record.target.environment, record.release_id)
        version, states = self.deployments.setdefault(key, (record.version, []))
        if not states or states[-1] != record.state:
            states.append(record.state)

    # Flag store

    async def set_rollout(self, target: Target, flag: str, percent: int) -> None:
        self._flags[(target.service, target.environment, flag)] = percent

    async def disable(self, target: Target, flag: str) -> None:
        self._flags[(target.service, target.environment, flag)] = None

    async def rollout(self, target: Target, flag: str) -> int | None:
        return self._flags.get((target.service, target.environment, flag))


_OPERATION = re.compile(
    r"^sim:(?P<start>\d+(\.\d+)?):(?P<seconds>\d+):(?P<outcome>ok|fail):(?P<label>.*)$"
)


def _parse_operation(operation_id: str) -> tuple[float, int, str, str]:
    match = _OPERATION.match(operation_id)
    if match is None:
        raise IntegrationError(f"unknown operation {operation_id!r}", retryable=False)
    return float(match["start"]), int(match["seconds"]), match["outcome"], match["label"]


def build(settings: dict[str, Any], context: BackendContext) -> SimulatedBackend:
    try:
        return SimulatedBackend(SimulatedSettings.from_catalog(settings), context.clock)
    except (TypeError, ValueError) as exc:
        raise SettingsProblem(str(exc)) from exc
