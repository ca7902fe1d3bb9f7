"""Events: what happened to a release. Actor events come from people, the rest from the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.quality.gates import Verdict


@dataclass(frozen=True)
class VersionsResolved:
    """The CI adapter named the version to ship and the deployer the one running now."""

    version_to: str
    version_from: str | None


@dataclass(frozen=True)
class CiChecked:
    passed: bool
    pending: bool = False
    summary: str = ""
    retry_in_s: int = 10
    authors: tuple[str, ...] = ()
    committed_at: datetime | None = None
    gates: tuple[Verdict, ...] = ()  # the quality gates, judged once CI passed


@dataclass(frozen=True)
class StartRefused:
    """The policy would not let the rollout start after all (a freeze or lock arrived while
    the release waited at its gate): it ends, refused, with the rule that stopped it."""

    rule: str
    reason: str


@dataclass(frozen=True)
class ScheduleReached:
    """The engine, at a scheduled release's time: the gate checks everything again."""


@dataclass(frozen=True)
class StartNow:
    """A person starts a scheduled release before its time."""

    user_id: str


@dataclass(frozen=True)
class WindowClosed:
    """The engine, about to start a step after the deploy window shut: `pause` until
    `next_opens` (the catalog's `when_window_closes: pause`), or finish the rollout."""

    next_opens: datetime | None
    pause: bool


@dataclass(frozen=True)
class WindowOpened:
    """The engine, when the window a release was paused for opens."""


@dataclass(frozen=True)
class ApprovalTimer:
    """The engine, at the approval request's next reminder, escalation or expiry time."""


@dataclass(frozen=True)
class Approve:
    user_id: str
    reason: str = ""


@dataclass(frozen=True)
class Reject:
    user_id: str
    reason: str


@dataclass(frozen=True)
class StageStarting:
    """The engine is about to ask a backend to start a step. Saved before the call, so a
    click that lands meanwhile sees traffic as touched and rolls it back; if the start never
    reports back, it is tried again (backends dedupe on the idempotency key)."""

    index: int
    retry_in_s: int = 15


@dataclass(frozen=True)
class StageStarted:
    index: int
    operation_id: str | None = None
    detail: str = ""
    poll_in_s: int = 5


@dataclass(frozen=True)
class StageProgress:
    index: int
    detail: str = ""
    poll_in_s: int = 5


@dataclass(frozen=True)
class StageSucceeded:
    index: int
    detail: str = ""


@dataclass(frozen=True)
class StageFailed:
    index: int
    reason: str


@dataclass(frozen=True)
class AnalysisChecked:
    index: int
    passed: bool
    summary: str
    measurements: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class BakeElapsed:
    index: int


@dataclass(frozen=True)
class Promote:
    user_id: str


@dataclass(frozen=True)
class Pause:
    user_id: str


@dataclass(frozen=True)
class Resume:
    user_id: str


@dataclass(frozen=True)
class Abort:
    user_id: str
    reason: str = ""


@dataclass(frozen=True)
class Rollback:
    user_id: str
    reason: str = ""


@dataclass(frozen=True)
class RollbackStarted:
    operation_id: str
    poll_in_s: int = 5


@dataclass(frozen=True)
class RollbackProgress:
    detail: str = ""
    poll_in_s: int = 5


@dataclass(frozen=True)
class RollbackSucceeded:
    detail: str = ""


@dataclass(frozen=True)
class RollbackFailed:
    reason: str


Event = (
    WindowClosed
    | WindowOpened
    | ScheduleReached
    | StartNow
    | VersionsResolved
    | CiChecked
    | ApprovalTimer
    | StartRefused
    | Approve
    | Reject
    | StageStarting
    | StageStarted
    | StageProgress
    | StageSucceeded
    | StageFailed
    | AnalysisChecked
    | BakeElapsed
    | Promote
    | Pause
    | Resume
    | Abort
    | Rollback
    | RollbackStarted
    | RollbackProgress
    | RollbackSucceeded
    | RollbackFailed
)

ACTOR_EVENTS = (StartNow, Approve, Reject, Promote, Pause, Resume, Abort, Rollback)
