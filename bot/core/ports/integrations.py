"""The backends' ports: CI, deployers, monitors, flag stores, the deployment mirror, the
results backends report back, and their health. Adapters in integrations/ implement them (the
operation store lives in bot/storage) and translate their library's errors into
IntegrationError at the boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.core.catalog import Metric
from bot.core.quality.gates import Reports
from bot.core.wording import plural


class IntegrationError(Exception):
    """A backend call failed. `retryable` says whether trying again later may help."""

    def __init__(self, message: str, *, retryable: bool = True, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # the HTTP status the system answered, when it answered


@dataclass(frozen=True)
class Target:
    service: str
    environment: str
    repository: str


# CI


CheckState = Literal["success", "failure", "pending", "neutral", "skipped"]


@dataclass(frozen=True)
class CiCheck:
    name: str
    state: CheckState
    url: str = ""


@dataclass(frozen=True)
class CiStatus:
    state: Literal["passed", "failed", "pending"]
    checks: tuple[CiCheck, ...] = ()
    retry_in_s: int = 10
    authors: tuple[str, ...] = ()  # who wrote the commits shipped, as the CI system names them
    committed_at: datetime | None = None  # the oldest commit shipped (for lead time)

    @property
    def summary(self) -> str:
        failing = [c.name for c in self.checks if c.state == "failure"]
        pending = [c.name for c in self.checks if c.state == "pending"]
        if failing:
            return "failing: " + ", ".join(failing)
        if pending:
            return "pending: " + ", ".join(pending)
        if not self.checks and self.state == "pending":
            return "no checks reported yet"
        return f"{plural(len(self.checks), 'check')} passed"


class CI(Protocol):
    async def resolve_version(self, target: Target, ref: str | None) -> str:
        """The version to ship for `ref`, or the head of the default branch when None."""

    async def status(self, target: Target, version: str, since: str | None = None) -> CiStatus:
        """CI's verdict on `version`; `since` (the version running now) lets the adapter name
        the authors of every commit being shipped, not just the last one."""


class Probe(Protocol):
    """Every adapter can say whether its system answers (for /readyz and /release
    integrations)."""

    async def health(self) -> str | None:
        """None when reachable and usable, else what is wrong (no secrets in it)."""


# Deployment backends


@dataclass(frozen=True)
class StepRequest:
    target: Target
    release_id: int
    stage_index: int
    label: str
    action: str
    percent: int | None
    version: str
    previous_version: str | None
    idempotency_key: str


@dataclass(frozen=True)
class RollbackRequest:
    target: Target
    release_id: int
    to_version: str | None
    from_version: str
    idempotency_key: str


@dataclass(frozen=True)
class OperationStatus:
    state: Literal["running", "succeeded", "failed"]
    detail: str = ""
    poll_in_s: int = 5


class Deployer(Protocol):
    async def current_version(self, target: Target) -> str | None: ...

    async def start_step(self, request: StepRequest) -> str:
        """Begin a step; returns an operation id. Same idempotency key -> same operation."""

    async def start_rollback(self, request: RollbackRequest) -> str: ...

    async def poll(self, target: Target, operation_id: str) -> OperationStatus: ...


# Monitoring


@dataclass(frozen=True)
class AnalysisRequest:
    target: Target
    release_id: int
    stage_label: str
    version: str
    metrics: tuple[Metric, ...]
    window_s: int


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float | None
    threshold: str
    passed: bool
    note: str = ""  # why there is no value (no data, a query error), in the monitor's words

    def describe(self) -> str:
        shown = self.note or "no data" if self.value is None else f"{self.value:g}"
        return f"{self.name} {shown} ({self.threshold})"


@dataclass(frozen=True)
class AnalysisResult:
    measurements: tuple[Measurement, ...]

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.measurements)

    @property
    def summary(self) -> str:
        if not self.measurements:
            return "no metrics configured"
        return ", ".join(m.describe() for m in self.measurements)


class Monitor(Protocol):
    async def analyze(self, request: AnalysisRequest) -> AnalysisResult: ...


# Feature flags


class FlagStore(Protocol):
    async def set_rollout(self, target: Target, flag: str, percent: int) -> None: ...

    async def disable(self, target: Target, flag: str) -> None: ...

    async def rollout(self, target: Target, flag: str) -> int | None:
        """The flag's current percentage in the target environment, None when disabled."""


@dataclass(frozen=True)
class DeploymentRecord:
    """A release as a deployment system of record (GitHub Deployments) should show it."""

    target: Target
    release_id: int
    version: str
    state: Literal["queued", "in_progress", "success", "failure", "inactive", "error"]
    description: str
    log_url: str = ""


class DeploymentMirror(Protocol):
    async def record(self, record: DeploymentRecord) -> None:
        """Create the deployment if it does not exist yet (found by release id), then add the
        status. Safe to call again with the same record."""


class OperationStore(Protocol):
    """Results that backends report back to the bot (webhook callbacks), kept in the
    database so any replica can read what another received."""

    async def put(self, key: str, status: OperationStatus) -> None: ...

    async def get(self, key: str) -> OperationStatus | None: ...


@dataclass(frozen=True)
class BackendHealth:
    """Whether one configured backend answers, for /readyz and `/release integrations`."""

    name: str
    type: str
    ok: bool
    problem: str = ""  # what is wrong now; never a secret
    checked_at: datetime | None = None
    last_error: str = ""  # the last problem seen, kept after recovery
    last_error_at: datetime | None = None


class IntegrationHealth(Protocol):
    async def check_health(self) -> list[BackendHealth]: ...


class QualitySource(Protocol):
    async def reports(self, target: Target, version: str) -> Reports:
        """The version's quality reports. One that cannot be had is named in
        `Reports.missing` with why, never passed over; raises IntegrationError only when
        trying again could help."""


@dataclass(frozen=True)
class Adapters:
    """The backends one service uses, as its catalog entry names them."""

    ci: CI
    deployer: Deployer
    monitor: Monitor
    flags: FlagStore
    deployments: DeploymentMirror | None = None
    reports: QualitySource | None = None
