"""A release as the core sees it: its states and the values it carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.catalog import StrategyName
from bot.core.stages import Stage, StageKind


class State(StrEnum):
    SCHEDULED = "scheduled"
    AWAITING_CI = "awaiting_ci"
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    PAUSED = "paused"
    ROLLING_BACK = "rolling_back"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    REJECTED = "rejected"

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATES

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


ACTIVE_STATES = frozenset(
    {
        State.SCHEDULED,
        State.AWAITING_CI,
        State.AWAITING_APPROVAL,
        State.RUNNING,
        State.PAUSED,
        State.ROLLING_BACK,
    }
)
# Before any traffic moves: approvals are collected here, and leaving for RUNNING is the gate.
GATED_STATES = frozenset({State.SCHEDULED, State.AWAITING_CI, State.AWAITING_APPROVAL})


CI_RED = "CI is red: "


class InvalidTransition(Exception):
    """The event does not apply to the release as it is now; the message says why."""


@dataclass(frozen=True)
class BreakGlass:
    """A deploy during a freeze, allowed for an incident with a reason (and one more
    approval): flagged on the status message and in the audit trail."""

    incident: str
    reason: str


@dataclass(frozen=True)
class ApprovalTiming:
    """When an approval request reminds, escalates and lapses (seconds after it is made),
    copied from the policy when the release is created."""

    expires_after_s: int | None = None
    remind_before_s: tuple[int, ...] = ()
    escalate_after_s: int | None = None
    escalate_to: str = ""  # mentions of who to escalate to, ready for chat


@dataclass(frozen=True)
class Approval:
    user_id: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class Release:
    service: str
    environment: str
    strategy: StrategyName
    version_to: str
    version_from: str | None
    requested_by: str
    channel: str
    stages: tuple[Stage, ...]
    created_at: datetime
    approvals_required: int = 0
    auto_rollback: bool = True
    analysis_interval_s: int = 60
    failure_limit: int = 0
    analysis_count: int | None = None
    flag: str | None = None
    exclusive: bool = True
    id: int | None = None
    state: State = State.AWAITING_CI
    current: int = 0
    approvals: tuple[Approval, ...] = ()
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    due_at: datetime | None = None
    reason: str = ""
    ended_by: str | None = None
    paused_by: str | None = None
    ci_summary: str = ""
    rollback_target: State | None = None
    rollback_operation: str | None = None
    rollback_started_at: datetime | None = None
    message_ts: str | None = None
    authors: tuple[str, ...] = ()  # Slack users who wrote commits in version_to
    committed_at: datetime | None = None  # the oldest commit shipped, as CI reported it
    break_glass: BreakGlass | None = None
    auto_approve: bool = False  # approved by green CI (the policy's auto_when_ci_green)
    approval_timing: ApprovalTiming = ApprovalTiming()
    approval_requested_at: datetime | None = None
    reminders_sent: int = 0
    escalated: bool = False
    scheduled_for: datetime | None = None  # a scheduled release waits (SCHEDULED) until then
    gates_summary: str = ""  # the quality gates as judged when CI passed
    # (channel, events) to announce in, as the catalog's notify plan said when it was asked
    announce: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window_noted: bool = False  # its deploy window's closing was acted on (once per release)
    window_paused: bool = False  # paused because the window closed; resumes when one opens

    @property
    def ref(self) -> str:
        return f"#{self.id}" if self.id is not None else "(new)"

    @property
    def refused_by_ci(self) -> bool:
        return self.state is State.REJECTED and self.reason.startswith(CI_RED)

    @property
    def resolved(self) -> bool:
        return bool(self.version_to)

    @property
    def current_stage(self) -> Stage | None:
        return self.stages[self.current] if self.current < len(self.stages) else None

    @property
    def approved_by(self) -> tuple[str, ...]:
        return tuple(approval.user_id for approval in self.approvals)

    @property
    def approvals_missing(self) -> int:
        return max(0, self.approvals_required - len(self.approvals))

    @property
    def touched_traffic(self) -> bool:
        """A step was started (or about to be): undoing the release needs a rollback."""
        return any(
            stage.kind is StageKind.STEP and stage.started_at is not None for stage in self.stages
        )

    def stage_started_at(self) -> datetime | None:
        stage = self.current_stage
        return stage.started_at if stage else None
