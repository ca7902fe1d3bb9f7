"""The boundaries of the core: what the bot needs from CI, deployment backends, monitoring, flag
services, chat, the clock and storage. Adapters in integrations/ and bot/storage implement them;
each Protocol promises exactly what the code calls, so the fakes cover all of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from bot.core.api_tokens import ApiToken
from bot.core.audit import AuditEvent, AuditRecord
from bot.core.audit_manifest import ChainPoint, Checkpoint
from bot.core.catalog import Metric
from bot.core.dora import DoraTotals
from bot.core.freezes import Freeze
from bot.core.policy import EnvLock
from bot.core.release import Release
from bot.core.wording import plural

# Integration errors: adapters translate their library's errors into these at the boundary.


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


@dataclass(frozen=True)
class Adapters:
    """The backends one service uses, as its catalog entry names them."""

    ci: CI
    deployer: Deployer
    monitor: Monitor
    flags: FlagStore
    deployments: DeploymentMirror | None = None


# Chat


class ChatError(Exception):
    """A chat call failed. `retry_after_s`: the chat service asked us to wait that long (a rate
    limit: not a failed attempt). `permanent`: it named an error that trying again cannot fix
    (channel_not_found, ...). Anything else (no answer, a 5xx page) may pass: try again.
    `method` names the call, so a rate limit pauses that method only."""

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        permanent: bool = False,
        method: str = "",
    ):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.permanent = permanent
        self.method = method


@dataclass(frozen=True)
class ChatMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class Chat(Protocol):
    async def post(
        self, channel: str, message: ChatMessage, *, thread_ts: str | None, key: str
    ) -> str:
        """Post; returns the message ts. `key` is attached as message metadata."""

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime | None = None
    ) -> str | None:
        """The ts of a message posted earlier (after `since`) with `key`, for recovery after a
        crash or a call whose answer never came."""

    async def update(self, channel: str, ts: str, message: ChatMessage) -> None: ...

    async def post_ephemeral(self, channel: str, user: str, message: ChatMessage) -> None: ...

    async def respond(
        self, response_url: str, message: ChatMessage, *, replace_original: bool
    ) -> None: ...

    async def send_files(self, user: str, files: Sequence[Path], comment: str) -> None:
        """Upload files into a direct message with `user`."""

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the person whose click gave `trigger_id` (valid for 3 s)."""


@dataclass(frozen=True)
class AuditFiles:
    """An audit export and its manifest, written to a temporary directory."""

    export: Path
    manifest: Path
    count: int
    signed: bool


class AuditEvents(Protocol):
    async def for_release(self, release_id: int) -> list[AuditRecord]:
        """Every audit record of one release, in sequence order."""


class AuditIntegrity(Protocol):
    """What the running bot checks its audit trail with."""

    async def missing_triggers(self) -> list[str]:
        """The append-only triggers that are missing or disabled, by name."""

    async def last_checkpoint(self) -> Checkpoint | None: ...

    async def hash_at(self, seq: int) -> str | None: ...

    async def head(self) -> ChainPoint: ...

    def rows_after(self, seq: int) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The chain's stored rows after `seq`, in order, in batches (bot.core.audit.RAW)."""


class AuditExporter(Protocol):
    async def export(self, filters: dict[str, Any], fmt: str, directory: Path) -> AuditFiles:
        """`filters`: since, until (ISO times), service, environment, actor, action."""


class Renderer(Protocol):
    """Turns a release, or a stored reply's template and context, into a chat message."""

    def status(self, release: Release) -> ChatMessage: ...

    def render(self, template: str, context: dict[str, Any]) -> ChatMessage: ...

    def view(self, template: str, context: dict[str, Any]) -> dict[str, Any]:
        """A modal's view."""


class Clock(Protocol):
    def now(self) -> datetime: ...


# Storage


class LockHeld(Exception):
    """Another active release holds the (service, environment) lock."""


class ConcurrentUpdate(Exception):
    """The release changed under us since it was read."""


class StorageUnavailable(Exception):
    """The database could not be reached or dropped the connection: nothing was committed, and
    the same work may simply be tried again."""


@dataclass(frozen=True)
class Outbound:
    """A message the bot owes someone, written in the same transaction as the change behind it.
    `template` and `context` are rendered by the chat layer when it is sent."""

    kind: Literal["status", "thread", "ephemeral", "respond", "post", "mirror", "upload", "modal"]
    key: str
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    release_id: int | None = None
    channel: str | None = None
    user: str | None = None
    response_url: str | None = None
    replace_original: bool = False


class ReleaseRepository(Protocol):
    async def add(self, release: Release) -> Release: ...

    async def get(self, release_id: int, *, for_update: bool = False) -> Release | None: ...

    async def get_many(self, release_ids: Sequence[int]) -> dict[int, Release]: ...

    async def save(self, release: Release) -> None: ...

    async def active_for(self, service: str, environment: str) -> Release | None: ...

    async def latest_for(self, service: str, environment: str) -> Release | None: ...

    async def has_succeeded(self, service: str, environment: str, version: str) -> bool: ...

    async def deployed_for(self, service: str, environment: str) -> Release | None:
        """The newest release that moved traffic: what a rollback would undo."""

    async def active(self) -> Sequence[Release]: ...

    async def history(
        self, service: str | None, environment: str | None, limit: int
    ) -> Sequence[Release]: ...

    async def last_good_version(self, service: str, environment: str) -> str | None: ...

    async def finished_in(
        self, environments: Sequence[str], since: datetime, service: str | None
    ) -> Sequence[Release]:
        """Releases to these environments that ended at `since` or later (for DORA)."""

    async def dora_totals(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> DoraTotals:
        """bot.core.dora.totals over `finished_in(environments, since, service)`, computed
        without loading the releases."""

    async def dora_weeks(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> list[dict]:
        """bot.core.dora.weeks over the same releases, without loading them."""


class AuditLog(Protocol):
    async def append(self, event: AuditEvent) -> None:
        """Chained and written when the unit of work commits."""


class OutboxWriter(Protocol):
    async def enqueue(self, message: Outbound) -> None:
        """Written when the unit of work commits."""


class InboxLog(Protocol):
    async def take(self, item_id: int) -> bool:
        """Marks an accepted request handled, in the transaction that handles it; False when
        it was handled already (by another replica, or before a crash)."""

    async def take_all(self, item_ids: Sequence[int]) -> set[int]:
        """`take` for several at once: the ids this transaction marked handled."""


@dataclass(frozen=True)
class Claim:
    id: int
    attempts: int
    due_at: datetime | None = None
    release: Release | None = None  # as the claim read it, when it read it


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row."""

    id: int
    key: str
    kind: str
    release_id: int | None
    channel: str | None
    user_id: str | None
    response_url: str | None
    replace_original: bool
    template: str
    context: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class InboxItem:
    """A claimed inbox row: a command, click or submission Slack already has its OK for."""

    id: int
    key: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


class InboxDoor(Protocol):
    async def accept(self, key: str, payload: dict[str, Any]) -> bool:
        """Make a request durable, once per `key` (Slack's own identifiers); False when it was
        accepted before. Raises StorageUnavailable when it cannot be written."""

    async def close(self) -> None:
        """Let the writes under way finish, then let go of the door's connection."""


class InboxQueue(Protocol):
    async def claim_due(self, limit: int = 20) -> list[InboxItem]: ...

    async def retry_at(self, item: InboxItem, due_at: datetime, error: str) -> None: ...

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""


class ReleaseTimers(Protocol):
    """Releases whose `due_at` has come, claimed with a lease by one engine at a time."""

    async def claim_due(self, limit: int = 20) -> list[Claim]: ...

    async def next_due(self) -> datetime | None:
        """When the next release not claimed now is due (None: none is waiting)."""

    async def done(self, release_id: int) -> None: ...

    async def retry_at(self, claim: Claim, due_at: datetime, *, attempt: bool = True) -> None:
        """Try again at `due_at`, unless someone rescheduled the release since it was claimed
        (a click): then their time stands and the attempts start over. `attempt=False`: this
        try does not count (the database failed, not the backend)."""

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""


@dataclass(frozen=True)
class Sent:
    """A row that went out: its message's ts, a scope to keep quiet until a moment, and the
    release whose status message it is (see OutboxQueue.sent)."""

    item: OutboxItem
    message_ts: str | None = None
    hold: tuple[str, datetime] | None = None
    status_of: int | None = None


class OutboxQueue(Protocol):
    """Messages owed, claimed with a lease. A release's status rows go one at a time, and its
    thread rows one at a time in the order they were written, whichever replica claims them."""

    async def claim_due(self, limit: int = 20) -> list[OutboxItem]: ...

    async def holds(self) -> dict[str, datetime]:
        """Active holds, by scope: a rate limit's pause (`method:chat.update`) or a message's
        update throttle (`message:C1:1700.1`), shared by every replica."""

    async def sent(
        self,
        item: OutboxItem,
        message_ts: str | None = None,
        *,
        hold: tuple[str, datetime] | None = None,
        status_of: int | None = None,
    ) -> None:
        """Mark sent; with `hold`, also keep that scope quiet until then; with `status_of`,
        store `message_ts` as that release's status message."""

    async def sent_all(self, marks: Sequence[Sent]) -> None:
        """`sent` for several rows, in one transaction."""

    async def take_budget(self, scope: str, interval: timedelta, burst: int) -> datetime | None:
        """Take one call from a budget shared by every replica: on average one per `interval`,
        up to `burst` at once. None when taken; otherwise when one is next free."""

    async def failed_status_posts(self, release_id: int) -> int: ...

    async def retry_at(
        self,
        item: OutboxItem,
        due_at: datetime,
        error: str = "",
        *,
        attempt: bool = True,
        hold: tuple[str, datetime] | None = None,
    ) -> None:
        """Try again at `due_at`. `attempt=False`: this try does not count (a rate-limit wait,
        a throttle, a stop); with `hold`, the scope waits until then for every replica."""

    async def give_up(self, item: OutboxItem, error: str) -> None: ...

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""


class LockRepository(Protocol):
    async def active(self, service: str, environment: str, now: datetime) -> EnvLock | None: ...

    async def add(
        self,
        service: str,
        environment: str,
        owner: str,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> EnvLock:
        """Raises LockHeld when (service, environment) is locked already."""

    async def extend(self, lock: EnvLock, reason: str, until: datetime) -> EnvLock: ...

    async def lift(self, lock: EnvLock, by: str, now: datetime) -> None: ...


class FreezeRepository(Protocol):
    async def active(self, environment: str | None, now: datetime) -> list[Freeze]: ...

    async def add(
        self, environment: str | None, reason: str, by: str, now: datetime, until: datetime | None
    ) -> Freeze: ...

    async def lift(self, environment: str | None, by: str, now: datetime) -> int: ...


class GroupDirectory(Protocol):
    async def members(self, group_id: str) -> frozenset[str]:
        """The members of a Slack user group (usergroups.users.list)."""


class ApiTokenRepository(Protocol):
    async def add(
        self, name: str, user_id: str, sha256: str, now: datetime, expires_at: datetime | None
    ) -> ApiToken: ...

    async def all(self) -> list[ApiToken]: ...

    async def get(self, token_id: int) -> ApiToken | None: ...

    async def by_sha256(self, sha256: str) -> ApiToken | None: ...

    async def revoke(self, token_id: int, now: datetime) -> None: ...

    async def used(self, token_id: int, now: datetime) -> None: ...


class UnitOfWork(Protocol):
    releases: ReleaseRepository
    locks: LockRepository
    freezes: FreezeRepository
    audit: AuditLog
    outbox: OutboxWriter
    inbox: InboxLog
    api_tokens: ApiTokenRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...
