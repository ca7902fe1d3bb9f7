"""A release and its state machine.

`transition(release, event, now)` is the only way a release changes. It is pure: it returns the
new release and the facts worth telling (for the thread, the audit trail and the status
message), or raises InvalidTransition with a sentence a person can act on.
`next_action(release, now)` tells the engine what the release is waiting for.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.core.catalog import StrategyName
from bot.core.durations import format_duration
from bot.core.stages import Stage, StageKind, StageStatus
from bot.core.wording import plural


class State(StrEnum):
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
    {State.AWAITING_CI, State.AWAITING_APPROVAL, State.RUNNING, State.PAUSED, State.ROLLING_BACK}
)
GATED_STATES = frozenset({State.AWAITING_CI, State.AWAITING_APPROVAL})


REJECT_REASON_MIN = 3
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


# Events: what happened to a release. Actor events come from people, the rest from the engine.


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


@dataclass(frozen=True)
class StartRefused:
    """The policy would not let the rollout start after all (a freeze or lock arrived while
    the release waited at its gate): it ends, refused, with the rule that stopped it."""

    rule: str
    reason: str


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
    VersionsResolved
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

ACTOR_EVENTS = (Approve, Reject, Promote, Pause, Resume, Abort, Rollback)


@dataclass(frozen=True)
class Fact:
    """Something worth telling: `kind` is stable (the audit action), `summary` is plain English
    (people appear as <@USERID> mentions, which chat and pages render as names), `details`
    carries measured values. `notify` says whether it is worth a line in the release thread."""

    kind: str
    summary: str
    actor: str | None = None
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)
    notify: bool = True
    rule: str = ""  # the policy rule behind it, when one decided it


# Engine actions: what a due release is waiting for.


class Action(StrEnum):
    CHECK_CI = "check_ci"
    APPROVAL_TIMER = "approval_timer"
    START_STAGE = "start_stage"
    POLL_STAGE = "poll_stage"
    ANALYZE = "analyze"
    FINISH_BAKE = "finish_bake"
    START_ROLLBACK = "start_rollback"
    POLL_ROLLBACK = "poll_rollback"


def next_action(release: Release, now: datetime) -> Action | None:
    if release.due_at is None or release.due_at > now:
        return None
    stage = release.current_stage
    match release.state:
        case State.AWAITING_CI:
            return Action.CHECK_CI
        case State.AWAITING_APPROVAL:
            return Action.APPROVAL_TIMER
        case State.RUNNING if stage is not None:
            if stage.status is StageStatus.PENDING or _starting(stage):
                return Action.START_STAGE
            if stage.kind is StageKind.STEP:
                return Action.POLL_STAGE
            return Action.ANALYZE if stage.analysis else Action.FINISH_BAKE
        case State.PAUSED if stage is not None:
            if _starting(stage):
                return Action.START_STAGE
            if stage.kind is StageKind.STEP and stage.status is StageStatus.RUNNING:
                return Action.POLL_STAGE
        case State.ROLLING_BACK:
            return Action.POLL_ROLLBACK if release.rollback_operation else Action.START_ROLLBACK
    return None


def transition(release: Release, event: Event, now: datetime) -> tuple[Release, list[Fact]]:
    handler = _HANDLERS[type(event)]
    new, facts = handler(release, event, now)
    return replace(new, updated_at=now), facts


# Handlers, one per event type.


def _versions_resolved(
    r: Release, e: VersionsResolved, now: datetime
) -> tuple[Release, list[Fact]]:
    _require(r, {State.AWAITING_CI}, "resolve its versions")
    resolved = replace(
        r, version_to=r.version_to or e.version_to, version_from=r.version_from or e.version_from
    )
    summary = f"Shipping {resolved.version_to} (now running: {resolved.version_from or 'nothing'})"
    return resolved, [Fact("release.versions_resolved", summary, notify=False)]


def _ci_checked(r: Release, e: CiChecked, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.AWAITING_CI}, "record a CI result")
    if e.pending:
        return replace(r, ci_summary=e.summary, due_at=now + timedelta(seconds=e.retry_in_s)), []
    if not e.passed:
        ended = _end(r, State.REJECTED, now, reason=f"{CI_RED}{e.summary}")
        return replace(ended, ci_summary=e.summary), [
            Fact(
                "release.ci_failed",
                f"CI gate refused {r.version_to}: {e.summary}",
                outcome="refused",
            )
        ]
    facts = [Fact("release.ci_passed", f"CI is green for {r.version_to}: {e.summary}")]
    r = replace(
        r,
        ci_summary=e.summary,
        authors=e.authors or r.authors,
        committed_at=e.committed_at or r.committed_at,
    )
    if r.approvals_missing:
        r = replace(r, state=State.AWAITING_APPROVAL, approval_requested_at=now)
        r = replace(r, due_at=approval_due(r))
        lapses = r.approval_timing.expires_after_s
        facts.append(
            Fact(
                "release.approval_requested",
                f"Waiting for {plural(r.approvals_missing, 'approval')} to deploy {r.version_to} "
                f"to {r.environment}"
                + (f"; the request lapses in {format_duration(lapses)}" if lapses else ""),
            )
        )
        return r, facts
    if r.auto_approve:
        facts.append(
            Fact(
                "release.auto_approved",
                f"Approved automatically: CI is green and {r.environment}'s policy asks no more",
                rule="approval.auto_ci_green",
            )
        )
    return _start_rollout(r, now), facts


def approval_due(r: Release) -> datetime | None:
    """The next reminder, escalation or expiry of a waiting approval request."""
    times = [t for t in _approval_times(r).values() if t is not None]
    return min(times) if times else None


def _approval_times(r: Release) -> dict[str, datetime | None]:
    start, timing = r.approval_requested_at, r.approval_timing
    if start is None:
        return {}
    expires = start + timedelta(seconds=timing.expires_after_s) if timing.expires_after_s else None
    reminders = sorted(
        expires - timedelta(seconds=before) for before in timing.remind_before_s if expires
    )
    escalate = (
        start + timedelta(seconds=timing.escalate_after_s)
        if timing.escalate_after_s and not r.escalated
        else None
    )
    return {
        "remind": reminders[r.reminders_sent] if r.reminders_sent < len(reminders) else None,
        "escalate": escalate,
        "expire": expires,
    }


def _start_refused(r: Release, e: StartRefused, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is not State.RUNNING or r.touched_traffic:
        raise InvalidTransition(f"Release {r.ref} has started already; it cannot be held back.")
    ended = _end(_skip_rest(r, now), State.REJECTED, now, reason=e.reason)
    return ended, [
        Fact(
            "release.start_refused",
            f"Release {r.ref} did not start: {e.reason}",
            outcome="refused",
            rule=e.rule,
        )
    ]


def _approval_timer(r: Release, e: ApprovalTimer, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.AWAITING_APPROVAL}, "time its approval request")
    times = _approval_times(r)
    if times.get("expire") and times["expire"] <= now:
        waited = format_duration((now - r.approval_requested_at).total_seconds())
        # Some approvals may have come in: do not tell the thread that nobody approved.
        given = f"{len(r.approvals)} of {r.approvals_required} approvals"
        ended = _end(
            r,
            State.REJECTED,
            now,
            reason=f"approval expired: {given if r.approvals else 'nobody approved'} in {waited}",
        )
        said = f"Release {r.ref} got {given}" if r.approvals else f"Nobody approved release {r.ref}"
        return ended, [
            Fact(
                "release.approval_expired",
                f"{said} within {waited}: the request lapsed. "
                "Deploy again when approvers are around.",
                outcome="refused",
                rule="approval.expired",
            )
        ]
    facts: list[Fact] = []
    if times.get("escalate") and times["escalate"] <= now:
        r = replace(r, escalated=True)
        waiting = (
            f"Release {r.ref} still needs {plural(r.approvals_missing, 'approval')} "
            f"({len(r.approvals)} of {r.approvals_required} given)"
            if r.approvals
            else f"Nobody has approved release {r.ref} yet"
        )
        facts.append(
            Fact(
                "approval.escalated",
                f"{waiting}: {r.approval_timing.escalate_to}, "
                f"can one of you approve {r.version_to} for {r.environment}?",
                rule="approval.escalated",
            )
        )
    reminders_due = 0
    while (
        remind := _approval_times(replace(r, reminders_sent=r.reminders_sent + reminders_due)).get(
            "remind"
        )
    ) and remind <= now:
        reminders_due += 1
    if reminders_due:
        r = replace(r, reminders_sent=r.reminders_sent + reminders_due)
        left = _approval_times(r)["expire"]
        lapses = format_duration((left - now).total_seconds()) if left else ""
        facts.append(
            Fact(
                "approval.reminder",
                f"Reminder: release {r.ref} still needs "
                f"{plural(r.approvals_missing, 'approval')} to deploy {r.version_to} to "
                f"{r.environment}" + (f"; the request lapses in {lapses}." if lapses else "."),
                rule="approval.reminder",
            )
        )
    return replace(r, due_at=approval_due(r)), facts


def _approve(r: Release, e: Approve, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, GATED_STATES, "approve it")
    _not_lapsed(r, now)
    if e.user_id in r.approved_by:
        raise InvalidTransition(f"You already approved release {r.ref}; it counts once.")
    approvals = (*r.approvals, Approval(e.user_id, now, e.reason))
    r = replace(r, approvals=approvals)
    got = len(approvals)
    facts = [
        Fact(
            "release.approved",
            f"Approved by <@{e.user_id}> ({got} of {r.approvals_required})"
            + (f": {e.reason}" if e.reason else ""),
            actor=e.user_id,
            details={"approvals": got, "required": r.approvals_required},
        )
    ]
    if r.state is State.AWAITING_APPROVAL and not r.approvals_missing:
        return _start_rollout(r, now), facts
    return r, facts


def reject_reason_problem(reason: str) -> str | None:
    """Why `reason` will not do for a rejection, or None: the requester deserves a reason."""
    if len(reason.strip()) < REJECT_REASON_MIN:
        return "Say why, in a few words: the requester sees your reason."
    return None


def _reject(r: Release, e: Reject, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, GATED_STATES, "reject it")
    _not_lapsed(r, now)
    if reject_reason_problem(e.reason):
        raise InvalidTransition(f"A rejection of release {r.ref} needs a reason of a few words.")
    ended = _end(r, State.REJECTED, now, reason=e.reason, by=e.user_id)
    return ended, [
        Fact("release.rejected", f"Rejected by <@{e.user_id}>: {e.reason}", actor=e.user_id)
    ]


def _stage_starting(r: Release, e: StageStarting, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.PENDING, {State.RUNNING})
    if stage.kind is not StageKind.STEP:
        raise InvalidTransition(f"Stage {stage.label} of release {r.ref} is not a step; ignored.")
    starting = replace(stage, status=StageStatus.RUNNING, started_at=now, operation_id=None)
    return _with_stage(r, starting, due_at=now + timedelta(seconds=e.retry_in_s)), []


def _stage_started(r: Release, e: StageStarted, now: datetime) -> tuple[Release, list[Fact]]:
    current = r.current_stage
    if current is not None and current.index == e.index and _starting(current):
        stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    else:
        stage = _expect_stage(r, e.index, StageStatus.PENDING, {State.RUNNING})
    started = replace(
        stage,
        status=StageStatus.RUNNING,
        started_at=stage.started_at or now,
        operation_id=e.operation_id,
        detail=e.detail,
    )
    if stage.kind is StageKind.BAKE:
        wait = r.analysis_interval_s if stage.analysis else stage.duration_s
        due = now + timedelta(seconds=max(1, min(wait, stage.duration_s)))
        summary = f"{stage.label}: watching {r.version_to} for {stage.duration_s}s"
    else:
        due = now + timedelta(seconds=e.poll_in_s)
        summary = f"{stage.label}: rolling out {r.version_to}" + (
            f" ({e.detail})" if e.detail else ""
        )
    return _with_stage(r, started, due_at=due), [
        Fact(
            "stage.started",
            summary,
            details={"stage": stage.label, "index": stage.index},
            notify=False,
        )
    ]


def _stage_progress(r: Release, e: StageProgress, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    return _with_stage(r, replace(stage, detail=e.detail), now + timedelta(seconds=e.poll_in_s)), []


def _stage_succeeded(r: Release, e: StageSucceeded, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    done = replace(stage, status=StageStatus.SUCCEEDED, finished_at=now, detail=e.detail)
    summary = step_sentence(r, stage) + (f": {e.detail}" if e.detail else "")
    return _advance(r, done, now, Fact("stage.succeeded", summary, details={"stage": stage.label}))


def _stage_failed(r: Release, e: StageFailed, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    failed = replace(stage, status=StageStatus.FAILED, finished_at=now, detail=e.reason)
    return _fail(r, failed, now, f"{stage.label} failed: {e.reason}")


def _analysis_checked(r: Release, e: AnalysisChecked, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING})
    if stage.kind is not StageKind.BAKE:
        raise InvalidTransition(
            f"Stage {stage.label} of release {r.ref} is not an analysis stage; result ignored."
        )
    checked = replace(
        stage,
        checks_done=stage.checks_done + 1,
        checks_failed=stage.checks_failed + (0 if e.passed else 1),
        detail=e.summary,
    )
    details = {"stage": stage.label, "measurements": list(e.measurements), "passed": e.passed}
    if checked.checks_failed > r.failure_limit:
        failed = replace(checked, status=StageStatus.FAILED, finished_at=now)
        r2, facts = _fail(
            r, failed, now, f"analysis failed at {_label_before(r, stage)}: {e.summary}"
        )
        fact = Fact(
            "analysis.failed", f"Analysis failed: {e.summary}", outcome="failed", details=details
        )
        return r2, [fact, *facts]
    said = (
        f"Analysis passed: {e.summary}"
        if e.passed
        else f"Analysis check failed, tolerated ({checked.checks_failed} of {r.failure_limit} "
        f"allowed): {e.summary}"
    )
    enough = _bake_over(stage, now) or (
        r.analysis_count is not None and checked.checks_done >= r.analysis_count
    )
    fact = Fact("analysis.passed", said, details=details, notify=enough)
    if enough:
        done = replace(checked, status=StageStatus.SUCCEEDED, finished_at=now)
        return _advance(r, done, now, fact)
    due = now + timedelta(seconds=max(1, r.analysis_interval_s))
    return _with_stage(r, checked, due_at=due), [fact]


def _bake_elapsed(r: Release, e: BakeElapsed, now: datetime) -> tuple[Release, list[Fact]]:
    stage = _expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING})
    if stage.kind is not StageKind.BAKE:
        raise InvalidTransition(
            f"Stage {stage.label} of release {r.ref} is not a bake stage; ignored."
        )
    if not _bake_over(stage, now):
        ends = (stage.started_at or now) + timedelta(seconds=stage.duration_s)
        return _with_stage(r, stage, due_at=ends), []
    done = replace(stage, status=StageStatus.SUCCEEDED, finished_at=now)
    return _advance(r, done, now, Fact("stage.succeeded", f"{stage.label} done", notify=False))


def _promote(r: Release, e: Promote, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.RUNNING, State.PAUSED}, "promote it")
    stage = r.current_stage
    assert stage is not None
    if stage.kind is StageKind.STEP and stage.status is StageStatus.RUNNING:
        raise InvalidTransition(
            f"Release {r.ref} is still rolling out {stage.label}; Promote skips a bake, "
            "so try again once that step is done."
        )
    fact = Fact("release.promoted", f"Promoted by <@{e.user_id}>", actor=e.user_id)
    if stage.kind is StageKind.BAKE:
        # Skipped, not succeeded: the bake was cut short, so no one reads it as a pass.
        skipped = replace(
            stage,
            status=StageStatus.SKIPPED,
            started_at=stage.started_at or now,
            finished_at=now,
            detail=f"promoted by <@{e.user_id}>",
        )
        r = replace(r, state=State.RUNNING, paused_by=None)
        return _advance(r, skipped, now, fact)
    return replace(r, state=State.RUNNING, paused_by=None, due_at=now), [fact]


def _pause(r: Release, e: Pause, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is State.PAUSED:
        raise InvalidTransition(f"Release {r.ref} is already paused by <@{r.paused_by}>.")
    _require(r, {State.RUNNING}, "pause it")
    stage = r.current_stage
    polling = (
        stage is not None and stage.kind is StageKind.STEP and stage.status is StageStatus.RUNNING
    )
    paused = replace(
        r, state=State.PAUSED, paused_by=e.user_id, due_at=r.due_at if polling else None
    )
    return paused, [Fact("release.paused", f"Paused by <@{e.user_id}>", actor=e.user_id)]


def _resume(r: Release, e: Resume, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.PAUSED}, "resume it")
    resumed = replace(r, state=State.RUNNING, paused_by=None, due_at=min(r.due_at or now, now))
    return resumed, [Fact("release.resumed", f"Resumed by <@{e.user_id}>", actor=e.user_id)]


def _abort(r: Release, e: Abort, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, ACTIVE_STATES - {State.ROLLING_BACK}, "abort it")
    reason = e.reason  # who did it is ended_by; the reason is only what they said
    fact = Fact(
        "release.aborted",
        f"Aborted by <@{e.user_id}>" + (f": {e.reason}" if e.reason else ""),
        actor=e.user_id,
    )
    if not r.touched_traffic:
        return _end(_skip_rest(r, now), State.ABORTED, now, reason=reason, by=e.user_id), [fact]
    return _begin_rollback(r, now, State.ABORTED, reason, e.user_id), [fact]


def _rollback(r: Release, e: Rollback, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is State.ROLLING_BACK:
        raise InvalidTransition(f"Release {r.ref} is already rolling back.")
    _require(
        r,
        {*ACTIVE_STATES, State.SUCCEEDED, State.FAILED},
        "roll it back",
    )
    reason = e.reason
    undo = f"Switching flag {r.flag} off" if r.flag else f"Rollback to {_previous(r)}"
    fact = Fact(
        "release.rollback_requested",
        f"{undo} requested by <@{e.user_id}>" + (f": {e.reason}" if e.reason else ""),
        actor=e.user_id,
    )
    if not r.touched_traffic:
        ended = _end(_skip_rest(r, now), State.ABORTED, now, reason=reason, by=e.user_id)
        return ended, [fact]
    return _begin_rollback(r, now, State.ROLLED_BACK, reason, e.user_id), [fact]


def _rollback_started(r: Release, e: RollbackStarted, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.ROLLING_BACK}, "start a rollback")
    if r.rollback_operation:
        return r, []
    started = replace(
        r, rollback_operation=e.operation_id, due_at=now + timedelta(seconds=e.poll_in_s)
    )
    return started, [Fact("rollback.started", f"Rolling back to {_previous(r)}", notify=False)]


def _rollback_progress(
    r: Release, e: RollbackProgress, now: datetime
) -> tuple[Release, list[Fact]]:
    _require(r, {State.ROLLING_BACK}, "track a rollback")
    return replace(r, due_at=now + timedelta(seconds=e.poll_in_s)), []


def _rollback_succeeded(
    r: Release, e: RollbackSucceeded, now: datetime
) -> tuple[Release, list[Fact]]:
    _require(r, {State.ROLLING_BACK}, "finish a rollback")
    target = r.rollback_target or State.ROLLED_BACK
    ended = _end(r, target, now, reason=r.reason, by=r.ended_by)
    if target is State.ROLLED_BACK:
        kind, word = "release.rolled_back", "Rolled back"
    else:
        kind, word = "release.abort_reverted", "Aborted and reverted"
    summary = (
        f"{word}: flag {r.flag} is off for {r.service} in {r.environment}"
        if r.flag
        else f"{word}: {r.service} in {r.environment} is on {_previous(r)} again"
    )
    return ended, [Fact(kind, summary, details={"detail": e.detail})]


def _rollback_failed(r: Release, e: RollbackFailed, now: datetime) -> tuple[Release, list[Fact]]:
    _require(r, {State.ROLLING_BACK}, "fail a rollback")
    ended = _end(r, State.FAILED, now, reason=f"rollback failed: {e.reason}", by=r.ended_by)
    return ended, [
        Fact(
            "rollback.failed",
            f"Rollback failed: {e.reason}. Roll back again or fix by hand.",
            outcome="failed",
        )
    ]


_HANDLERS: dict[type, Any] = {
    ApprovalTimer: _approval_timer,
    StartRefused: _start_refused,
    VersionsResolved: _versions_resolved,
    CiChecked: _ci_checked,
    Approve: _approve,
    Reject: _reject,
    StageStarting: _stage_starting,
    StageStarted: _stage_started,
    StageProgress: _stage_progress,
    StageSucceeded: _stage_succeeded,
    StageFailed: _stage_failed,
    AnalysisChecked: _analysis_checked,
    BakeElapsed: _bake_elapsed,
    Promote: _promote,
    Pause: _pause,
    Resume: _resume,
    Abort: _abort,
    Rollback: _rollback,
    RollbackStarted: _rollback_started,
    RollbackProgress: _rollback_progress,
    RollbackSucceeded: _rollback_succeeded,
    RollbackFailed: _rollback_failed,
}


# Helpers.

_STATE_SENTENCES = {
    State.AWAITING_CI: "is waiting for CI",
    State.AWAITING_APPROVAL: "is waiting for approval",
    State.RUNNING: "is rolling out",
    State.PAUSED: "is paused",
    State.ROLLING_BACK: "is rolling back",
    State.SUCCEEDED: "has already succeeded",
    State.FAILED: "has already failed",
    State.ROLLED_BACK: "is already rolled back",
    State.ABORTED: "is already aborted",
    State.REJECTED: "was rejected",
}


def _require(r: Release, states: set[State] | frozenset[State], doing: str) -> None:
    if r.state not in states:
        raise InvalidTransition(
            f"Release {r.ref} {_STATE_SENTENCES[r.state]}, so you cannot {doing}."
        )


def _expect_stage(r: Release, index: int, status: StageStatus, states: set[State]) -> Stage:
    if r.state not in states:
        raise InvalidTransition(
            f"Release {r.ref} {_STATE_SENTENCES[r.state]}; stage result ignored."
        )
    stage = r.current_stage
    if stage is None or stage.index != index or stage.status is not status:
        raise InvalidTransition(f"Stage {index} of release {r.ref} is not {status.value}; ignored.")
    return stage


def _with_stage(r: Release, stage: Stage, due_at: datetime | None) -> Release:
    stages = tuple(stage if s.index == stage.index else s for s in r.stages)
    return replace(r, stages=stages, due_at=due_at)


def _start_rollout(r: Release, now: datetime) -> Release:
    return replace(r, state=State.RUNNING, due_at=now)


def _advance(r: Release, done: Stage, now: datetime, fact: Fact) -> tuple[Release, list[Fact]]:
    r = _with_stage(r, done, due_at=None)
    r = replace(r, current=done.index + 1)
    if r.current >= len(r.stages):
        ended = _end(r, State.SUCCEEDED, now, reason="")
        return ended, [
            fact,
            Fact("release.succeeded", f"{r.service} {r.version_to} is live in {r.environment}"),
        ]
    return replace(r, due_at=now if r.state is State.RUNNING else None), [fact]


def _fail(r: Release, failed: Stage, now: datetime, reason: str) -> tuple[Release, list[Fact]]:
    r = _with_stage(r, failed, due_at=None)
    if r.auto_rollback:
        facts = [
            Fact("release.failed", reason, outcome="failed"),
            Fact("release.auto_rollback", f"Rolling back to {_previous(r)} automatically"),
        ]
        return _begin_rollback(r, now, State.ROLLED_BACK, reason, None), facts
    ended = _end(_skip_rest(r, now), State.FAILED, now, reason=reason)
    return ended, [
        Fact(
            "release.failed",
            f"{reason}. Auto-rollback is off: roll back or fix forward.",
            outcome="failed",
        )
    ]


def _begin_rollback(
    r: Release, now: datetime, target: State, reason: str, by: str | None
) -> Release:
    r = _skip_rest(r, now)
    return replace(
        r,
        state=State.ROLLING_BACK,
        rollback_target=target,
        rollback_operation=None,
        rollback_started_at=now,
        reason=reason,
        ended_by=by,
        paused_by=None,
        due_at=now,
        finished_at=None,
    )


def _skip_rest(r: Release, now: datetime) -> Release:
    """Stages not finished are skipped; a running step is left to the rollback to undo."""
    stages = tuple(
        s if s.finished else replace(s, status=StageStatus.SKIPPED, finished_at=now)
        for s in r.stages
    )
    return replace(r, stages=stages)


def _end(r: Release, state: State, now: datetime, *, reason: str, by: str | None = None) -> Release:
    return replace(
        r, state=state, finished_at=now, due_at=None, reason=reason, ended_by=by, paused_by=None
    )


def _not_lapsed(r: Release, now: datetime) -> None:
    """An approval that arrives after the request expired does not count, even if the engine
    has not closed the request yet."""
    expires = _approval_times(r).get("expire")
    if expires is not None and expires <= now:
        raise InvalidTransition(
            f"The approval request for release {r.ref} lapsed at "
            f"{expires.strftime('%H:%M UTC')}; deploy again to ask anew."
        )


def _starting(stage: Stage) -> bool:
    """A step whose start was recorded but whose backend operation is not known yet."""
    return (
        stage.kind is StageKind.STEP
        and stage.status is StageStatus.RUNNING
        and stage.operation_id is None
    )


def _bake_over(stage: Stage, now: datetime) -> bool:
    started = stage.started_at or now
    return (now - started).total_seconds() >= stage.duration_s


def step_sentence(r: Release, stage: Stage) -> str:
    """What a finished step did, in words."""
    match stage.action:
        case "weight":
            return f"{stage.label} of traffic on {r.version_to}"
        case "batch":
            return f"{stage.label} on {r.version_to}"
        case "deploy_green":
            return f"green deployed with {r.version_to}"
        case "switch":
            return f"traffic switched to green ({r.version_to})"
        case "flag":
            return f"flag {r.flag} on for {stage.percent}%"
    return f"{stage.label} done"


def _previous(r: Release) -> str:
    return r.version_from or "the previous version"


def _label_before(r: Release, stage: Stage) -> str:
    earlier = [s for s in r.stages[: stage.index] if s.kind is StageKind.STEP]
    return earlier[-1].label if earlier else stage.label
