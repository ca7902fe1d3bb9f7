"""The release state machine (bot/core/release.py), driven only through `transition`.

Releases in each state are built by replaying real events on a fresh release; time is injected
(a fixed start, advanced by hand), so nothing here sleeps or reads the system clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.catalog import (
    BlueGreenPlan,
    CanaryPlan,
    FeatureFlagPlan,
    RollingPlan,
    Service,
    StrategyName,
)
from bot.core.release import (
    ACTIVE_STATES,
    Abort,
    Action,
    AnalysisChecked,
    ApprovalTimer,
    ApprovalTiming,
    Approve,
    BakeElapsed,
    CiChecked,
    Event,
    Fact,
    InvalidTransition,
    Pause,
    Promote,
    Reject,
    Release,
    Resume,
    Rollback,
    RollbackFailed,
    RollbackProgress,
    RollbackStarted,
    RollbackSucceeded,
    ScheduleReached,
    StageFailed,
    StageProgress,
    StageStarted,
    StageStarting,
    StageSucceeded,
    StartNow,
    State,
    VersionsResolved,
    WindowClosed,
    WindowOpened,
    approval_due,
    next_action,
    transition,
)
from bot.core.stages import StageKind, StageStatus
from bot.core.strategies import StrategyChoice, plan_stages

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REQUESTER = "U0ALICE"
APPROVER = "U0BOB"
OTHER_APPROVER = "U0FRANK"
ONCALL = "U0CAROL"
RELEASE_ID = 12
REF = "#12"

SERVICE = Service(
    name="checkout",
    repository="acme/checkout",
    environments=("staging", "production"),
    canary=CanaryPlan(steps=(10, 50, 100), bake=300),
    blue_green=BlueGreenPlan(verify=120, keep_blue=600),
    rolling=RollingPlan(batches=3, bake=60),
    feature_flag=FeatureFlagPlan(steps=(25, 50, 100), bake=300),
)

KNOWN_FACT_KINDS = {
    "release.schedule_reached",
    "release.window_closed",
    "release.window_opened",
    "release.started_early",
    "release.versions_resolved",
    "release.ci_passed",
    "release.ci_failed",
    "release.approval_requested",
    "release.approved",
    "release.rejected",
    "stage.started",
    "stage.succeeded",
    "analysis.passed",
    "analysis.failed",
    "release.promoted",
    "release.paused",
    "release.resumed",
    "release.aborted",
    "release.rollback_requested",
    "release.auto_rollback",
    "rollback.started",
    "rollback.failed",
    "release.rolled_back",
    "release.abort_reverted",
    "release.succeeded",
    "release.failed",
    "release.auto_approved",
    "approval.reminder",
    "approval.escalated",
    "release.approval_expired",
}
MENTION = re.compile(r"<@([^>]*)>")


# Building releases by driving real transitions.


def new_release(
    strategy: StrategyName = StrategyName.CANARY,
    *,
    approvals: int = 0,
    auto_rollback: bool = True,
    failure_limit: int = 0,
    analysis_count: int | None = None,
    analysis: bool = True,
    interval: int = 60,
    version_to: str = "",
    version_from: str | None = None,
    flag: str | None = None,
    start_percent: int | None = None,
    batches: int | None = None,
    approval_timing: ApprovalTiming = ApprovalTiming(),
    auto_approve: bool = False,
) -> Release:
    """A release as the deploy use case creates it: unresolved, due at once, awaiting CI."""
    choice = StrategyChoice(strategy, start_percent=start_percent, flag=flag, batches=batches)
    return Release(
        service="checkout",
        environment="production",
        strategy=strategy,
        version_to=version_to,
        version_from=version_from,
        requested_by=REQUESTER,
        channel="C0RELEASES",
        stages=plan_stages(SERVICE, choice, analysis=analysis),
        created_at=T0,
        updated_at=T0,
        approvals_required=approvals,
        auto_rollback=auto_rollback,
        analysis_interval_s=interval,
        failure_limit=failure_limit,
        analysis_count=analysis_count,
        flag=flag,
        id=RELEASE_ID,
        due_at=T0,
        approval_timing=approval_timing,
        auto_approve=auto_approve,
    )


def check_facts(facts: list[Fact]) -> None:
    """Every fact has a known kind, plain words, and mentions that are Slack user mentions."""
    for fact in facts:
        assert fact.kind in KNOWN_FACT_KINDS, fact
        assert fact.summary and fact.summary == fact.summary.strip(), fact
        assert "None" not in fact.summary, f"a missing value leaked into {fact.summary!r}"
        assert fact.outcome in ("ok", "failed", "refused"), fact
        for user in MENTION.findall(fact.summary):
            assert re.fullmatch(r"U[A-Z0-9]+", user), f"bad mention <@{user}> in {fact.summary!r}"
        if fact.actor is not None:
            assert f"<@{fact.actor}>" in fact.summary, fact


@dataclass
class Run:
    """A release, the injected clock, and every fact told so far."""

    release: Release
    now: datetime = T0
    facts: list[Fact] = field(default_factory=list)
    log: list[tuple[Action, str]] = field(default_factory=list)

    def do(self, event: Event, after: float = 0) -> list[Fact]:
        self.now += timedelta(seconds=after)
        self.release, facts = transition(self.release, event, self.now)
        assert self.release.updated_at == self.now
        check_facts(facts)
        self.facts += facts
        return facts

    def wait(self, seconds: float) -> Run:
        self.now += timedelta(seconds=seconds)
        return self

    @property
    def state(self) -> State:
        return self.release.state

    @property
    def action(self) -> Action | None:
        return next_action(self.release, self.now)

    @property
    def kinds(self) -> list[str]:
        return [fact.kind for fact in self.facts]

    def statuses(self) -> tuple[str, ...]:
        return tuple(stage.status.value for stage in self.release.stages)


def scheduled(**kw: Any) -> Run:
    """Asked at T0 to start an hour later."""
    start = T0 + timedelta(hours=1)
    return Run(replace(new_release(**kw), state=State.SCHEDULED, scheduled_for=start, due_at=start))


def awaiting_ci(**kw: Any) -> Run:
    run = Run(new_release(**kw))
    run.do(VersionsResolved("v1.4.3", "v1.4.2"))
    return run


def awaiting_approval(**kw: Any) -> Run:
    kw.setdefault("approvals", 1)
    run = awaiting_ci(**kw)
    run.do(CiChecked(passed=True, summary="3 checks passed"), after=5)
    assert run.state is State.AWAITING_APPROVAL
    return run


# Requested at T0 + 5 s (when CI passes): escalates after 1 h, reminds 1 h and 15 min before it
# lapses, lapses after 4 h.
TIMING = ApprovalTiming(
    expires_after_s=4 * 3600,
    remind_before_s=(3600, 900),
    escalate_after_s=3600,
    escalate_to="<!subteam^S0LEADS>",
)


def awaiting_approval_timed(**kw: Any) -> Run:
    kw.setdefault("approval_timing", TIMING)
    return awaiting_approval(**kw)


def escalation_due(**kw: Any) -> Run:
    """Waiting for approval, 10 s before the request escalates."""
    run = awaiting_approval_timed(**kw)
    assert run.release.due_at == run.now + timedelta(hours=1)
    return run.wait(3600 - 10)


def running(**kw: Any) -> Run:
    run = awaiting_ci(**kw)
    run.do(CiChecked(passed=True, summary="3 checks passed"), after=5)
    assert run.state is State.RUNNING
    return run


def step_starting(**kw: Any) -> Run:
    """The engine saved its intent to start 10% and is calling the backend."""
    run = running(**kw)
    run.do(StageStarting(0), after=1)
    return run


def step_running(**kw: Any) -> Run:
    run = running(**kw)
    run.do(StageStarted(0, "op-1"), after=1)
    return run


def analysing(**kw: Any) -> Run:
    """Canary at 10%, watching it: stage 1 is a running analysis bake (300 s, checks every 60 s)."""
    run = step_running(**kw)
    run.do(StageSucceeded(0, "10% live"), after=5)
    run.do(StageStarted(1), after=1)
    stage = run.release.current_stage
    assert stage is not None and stage.kind is StageKind.BAKE and stage.analysis
    return run


def paused_step(**kw: Any) -> Run:
    run = step_running(**kw)
    run.do(Pause(ONCALL), after=2)
    return run


def paused_bake(**kw: Any) -> Run:
    run = analysing(**kw)
    run.do(Pause(ONCALL), after=2)
    return run


def rolling_back(**kw: Any) -> Run:
    run = step_running(**kw)
    run.do(StageFailed(0, "pods crashlooping"), after=3)
    assert run.state is State.ROLLING_BACK
    return run


def rollback_started(**kw: Any) -> Run:
    run = rolling_back(**kw)
    run.do(RollbackStarted("rb-1"), after=1)
    return run


def succeeded(**kw: Any) -> Run:
    return drive(running(**kw))


def failed(**kw: Any) -> Run:
    kw.setdefault("auto_rollback", False)
    run = step_running(**kw)
    run.do(StageFailed(0, "pods crashlooping"), after=3)
    assert run.state is State.FAILED
    return run


def rolled_back(**kw: Any) -> Run:
    run = rollback_started(**kw)
    run.do(RollbackSucceeded("reverted"), after=5)
    return run


def aborted(**kw: Any) -> Run:
    run = awaiting_ci(**kw)
    run.do(Abort(REQUESTER), after=1)
    return run


def rejected(**kw: Any) -> Run:
    run = awaiting_approval(**kw)
    run.do(Reject(APPROVER, "not during the sale"), after=1)
    return run


# A tiny stand-in for the engine: does what next_action asks, jumping the clock to due_at.

Verdict = Callable[[Release, int], tuple[bool, str]]


def always_pass(release: Release, check: int) -> tuple[bool, str]:
    return True, "error_rate 0.001 (max 0.01)"


def drive(run: Run, analysis: Verdict = always_pass, *, rollback_ok: bool = True) -> Run:
    """Answers every due action with success (analysis as `analysis` says) until nothing is due."""
    for _ in range(500):
        action = run.action
        if action is None:
            if run.release.due_at is None:
                return run
            assert run.release.due_at > run.now, "due but no action"
            run.now = run.release.due_at
            continue
        stage = run.release.current_stage
        run.log.append((action, stage.label if stage else ""))
        match action:
            case Action.CHECK_CI:
                run.do(CiChecked(passed=True, summary="3 checks passed"))
            case Action.APPROVAL_TIMER:
                run.do(ApprovalTimer())
            case Action.START_STAGE:
                assert stage is not None
                if stage.action == "flag":
                    run.do(StageStarted(stage.index, detail=f"on for {stage.percent}%"))
                    run.do(StageSucceeded(stage.index, f"on for {stage.percent}%"))
                else:
                    run.do(StageStarted(stage.index, f"op-{stage.index}"))
            case Action.POLL_STAGE:
                assert stage is not None
                run.do(StageSucceeded(stage.index, "all pods ready"))
            case Action.ANALYZE:
                assert stage is not None
                passed, summary = analysis(run.release, stage.checks_done + 1)
                run.do(AnalysisChecked(stage.index, passed, summary))
            case Action.FINISH_BAKE:
                assert stage is not None
                run.do(BakeElapsed(stage.index))
            case Action.START_ROLLBACK:
                run.do(RollbackStarted("rb-1"))
            case Action.POLL_ROLLBACK:
                if rollback_ok:
                    run.do(RollbackSucceeded("reverted"))
                else:
                    run.do(RollbackFailed("the deployer timed out"))
    raise AssertionError(f"release never settled: {run.release.state}")


def test_builders_reach_every_state():
    built = {
        builder().state
        for builder in (
            scheduled,
            awaiting_ci,
            awaiting_approval,
            running,
            paused_step,
            rolling_back,
            succeeded,
            failed,
            rolled_back,
            aborted,
            rejected,
        )
    }
    assert built == set(State)


# The exhaustive table: every state (and the sub-states that matter) x every event.


def _index(release: Release) -> int:
    return min(release.current, len(release.stages) - 1)


EVENTS: dict[str, Callable[[Release], Event]] = {
    "ScheduleReached": lambda r: ScheduleReached(),
    "WindowClosed.pause": lambda r: WindowClosed(
        (r.updated_at or r.created_at) + timedelta(hours=10, seconds=10), pause=True
    ),
    "WindowClosed.finish": lambda r: WindowClosed(None, pause=False),
    "WindowOpened": lambda r: WindowOpened(),
    "StartNow": lambda r: StartNow(REQUESTER),
    "VersionsResolved": lambda r: VersionsResolved("v9.9.9", "v0.0.1"),
    "CiChecked.passed": lambda r: CiChecked(passed=True, summary="3 checks passed"),
    "CiChecked.pending": lambda r: CiChecked(
        passed=False, pending=True, summary="pending: build", retry_in_s=15
    ),
    "CiChecked.failed": lambda r: CiChecked(passed=False, summary="failing: unit"),
    "ApprovalTimer": lambda r: ApprovalTimer(),
    "Approve": lambda r: Approve(OTHER_APPROVER, "looks good"),
    "Reject": lambda r: Reject(OTHER_APPROVER, "not during the sale"),
    "StageStarting": lambda r: StageStarting(_index(r), retry_in_s=60),
    "StageStarted": lambda r: StageStarted(_index(r), "op-9", poll_in_s=5),
    "StageProgress": lambda r: StageProgress(_index(r), "3/10 pods", poll_in_s=7),
    "StageSucceeded": lambda r: StageSucceeded(_index(r), "all pods ready"),
    "StageFailed": lambda r: StageFailed(_index(r), "pods crashlooping"),
    "AnalysisChecked.pass": lambda r: AnalysisChecked(
        _index(r), True, "error_rate 0.001 (max 0.01)"
    ),
    "AnalysisChecked.fail": lambda r: AnalysisChecked(
        _index(r), False, "error_rate 0.083 (max 0.01)"
    ),
    "BakeElapsed": lambda r: BakeElapsed(_index(r)),
    "Promote": lambda r: Promote(REQUESTER),
    "Pause": lambda r: Pause(REQUESTER),
    "Resume": lambda r: Resume(REQUESTER),
    "Abort": lambda r: Abort(REQUESTER, "wrong build"),
    "Rollback": lambda r: Rollback(ONCALL, "latency"),
    "RollbackStarted": lambda r: RollbackStarted("rb-9"),
    "RollbackProgress": lambda r: RollbackProgress("halfway", poll_in_s=9),
    "RollbackSucceeded": lambda r: RollbackSucceeded("reverted"),
    "RollbackFailed": lambda r: RollbackFailed("timeout"),
}

STAGE_EVENTS = (
    "StageStarting",
    "StageStarted",
    "StageProgress",
    "StageSucceeded",
    "StageFailed",
    "AnalysisChecked.pass",
    "AnalysisChecked.fail",
    "BakeElapsed",
)
DOING = {
    "ScheduleReached": "start it at its time",
    "WindowClosed.pause": "act on its deploy window closing",
    "WindowClosed.finish": "act on its deploy window closing",
    "WindowOpened": "resume it as its window opens",
    "StartNow": "start it now",
    "VersionsResolved": "resolve its versions",
    "CiChecked.passed": "record a CI result",
    "CiChecked.pending": "record a CI result",
    "CiChecked.failed": "record a CI result",
    "ApprovalTimer": "time its approval request",
    "Approve": "approve it",
    "Reject": "reject it",
    "Promote": "promote it",
    "Pause": "pause it",
    "Resume": "resume it",
    "Abort": "abort it",
    "Rollback": "roll it back",
    "RollbackStarted": "start a rollback",
    "RollbackProgress": "track a rollback",
    "RollbackSucceeded": "finish a rollback",
    "RollbackFailed": "fail a rollback",
}
SENTENCE = {
    State.SCHEDULED: "is scheduled",
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

AT = object()  # "the moment the event was applied"
SAME = object()  # "unchanged from before the event"


@dataclass(frozen=True)
class Refused:
    message: str


@dataclass(frozen=True)
class Moves:
    state: State
    facts: tuple[str, ...]
    due: timedelta | None | object  # offset from the event time, None (no timer) or SAME
    action: Action | None  # what the engine will do when the new due_at comes
    fields: dict[str, Any] = field(default_factory=dict)


def cannot(state: State, event: str) -> Refused:
    return Refused(f"Release {REF} {SENTENCE[state]}, so you cannot {DOING[event]}.")


def ignored(state: State) -> Refused:
    return Refused(f"Release {REF} {SENTENCE[state]}; stage result ignored.")


def not_status(index: int, status: str) -> Refused:
    return Refused(f"Stage {index} of release {REF} is not {status}; ignored.")


def refusing(state: State, events: tuple[str, ...] | list[str]) -> dict[str, Refused]:
    return {
        name: ignored(state) if name in STAGE_EVENTS else cannot(state, name) for name in events
    }


SKIPPED_ALL = ("skipped",) * 5
ROLLBACK_EVENTS = ("RollbackStarted", "RollbackProgress", "RollbackSucceeded", "RollbackFailed")
GATE_EVENTS = ("VersionsResolved", "CiChecked.passed", "CiChecked.pending", "CiChecked.failed")
APPROVAL_EVENTS = ("ApprovalTimer", "Approve", "Reject")
PROMOTE_WHILE_ROLLING = Refused(
    f"Release {REF} is still rolling out 10%; Promote skips a bake, so try again once that step "
    "is done."
)


def _aborted_before_traffic() -> Moves:
    return Moves(
        State.ABORTED,
        ("release.aborted",),
        None,
        None,
        {
            "ended_by": REQUESTER,
            "reason": "wrong build",
            "finished_at": AT,
            "statuses": SKIPPED_ALL,
        },
    )


def _rollback_before_traffic() -> Moves:
    return Moves(
        State.ABORTED,
        ("release.rollback_requested",),
        None,
        None,
        {"ended_by": ONCALL, "reason": "latency", "finished_at": AT, "statuses": SKIPPED_ALL},
    )


def _abort_with_traffic(**more: Any) -> Moves:
    return Moves(
        State.ROLLING_BACK,
        ("release.aborted",),
        timedelta(0),
        Action.START_ROLLBACK,
        {
            "rollback_target": State.ABORTED,
            "ended_by": REQUESTER,
            "reason": "wrong build",
            "rollback_operation": None,
            "rollback_started_at": AT,
            "paused_by": None,
            **more,
        },
    )


def _rollback_with_traffic(**more: Any) -> Moves:
    return Moves(
        State.ROLLING_BACK,
        ("release.rollback_requested",),
        timedelta(0),
        Action.START_ROLLBACK,
        {
            "rollback_target": State.ROLLED_BACK,
            "ended_by": ONCALL,
            "reason": "latency",
            "rollback_operation": None,
            "finished_at": None,
            "paused_by": None,
            **more,
        },
    )


def _auto_rollback(reason: str, *facts: str) -> Moves:
    return Moves(
        State.ROLLING_BACK,
        (*facts, "release.failed", "release.auto_rollback"),
        timedelta(0),
        Action.START_ROLLBACK,
        {
            "rollback_target": State.ROLLED_BACK,
            "reason": reason,
            "ended_by": None,
            "paused_by": None,
        },
    )


def _window_closing(action_if_it_goes_on: Action) -> dict[str, Refused | Moves]:
    """A running release whose deploy window shut: paused until it opens (in 10 h here), or
    going on; a window opening means nothing to it."""
    return {
        "WindowClosed.pause": Moves(
            State.PAUSED,
            ("release.window_closed",),
            timedelta(hours=10),
            Action.WINDOW_OPENED,
            {"window_paused": True, "window_noted": True, "paused_by": None},
        ),
        "WindowClosed.finish": Moves(
            State.RUNNING,
            ("release.window_closed",),
            SAME,
            action_if_it_goes_on,
            {"window_noted": True, "window_paused": False},
        ),
        "WindowOpened": cannot(State.RUNNING, "WindowOpened"),
    }


PAUSED_BY_A_PERSON = Refused(f"Release {REF} was paused by a person; it waits for them.")


def _rejected_by_approver() -> Moves:
    return Moves(
        State.REJECTED,
        ("release.rejected",),
        None,
        None,
        {"ended_by": OTHER_APPROVER, "reason": "not during the sale", "finished_at": AT},
    )


# fmt: off
S = State
TABLE: dict[str, tuple[Callable[[], Run], dict[str, Refused | Moves]]] = {
    "scheduled": (scheduled, {
        "ScheduleReached": Moves(S.AWAITING_CI, ("release.schedule_reached",), timedelta(0),
                                 Action.CHECK_CI),
        "StartNow": Moves(S.AWAITING_CI, ("release.started_early",), timedelta(0),
                          Action.CHECK_CI),
        **refusing(S.SCHEDULED, GATE_EVENTS),
        "ApprovalTimer": cannot(S.SCHEDULED, "ApprovalTimer"),
        "Approve": Moves(S.SCHEDULED, ("release.approved",), SAME, Action.START_SCHEDULED,
                         {"approved_by": (OTHER_APPROVER,)}),
        "Reject": _rejected_by_approver(),
        **refusing(S.SCHEDULED, STAGE_EVENTS),
        **refusing(S.SCHEDULED, ("Promote", "Pause", "Resume")),
        "Abort": _aborted_before_traffic(),
        "Rollback": _rollback_before_traffic(),
        **refusing(S.SCHEDULED, ROLLBACK_EVENTS),
    }),
    "awaiting_ci": (awaiting_ci, {
        "VersionsResolved": Moves(S.AWAITING_CI, ("release.versions_resolved",), SAME,
                                  Action.CHECK_CI,
                                  {"version_to": "v1.4.3", "version_from": "v1.4.2"}),
        "CiChecked.passed": Moves(S.RUNNING, ("release.ci_passed",), timedelta(0),
                                  Action.START_STAGE, {"ci_summary": "3 checks passed"}),
        "CiChecked.pending": Moves(S.AWAITING_CI, (), timedelta(seconds=15), Action.CHECK_CI,
                                   {"ci_summary": "pending: build"}),
        "CiChecked.failed": Moves(S.REJECTED, ("release.ci_failed",), None, None,
                                  {"reason": "CI is red: failing: unit", "finished_at": AT,
                                   "ci_summary": "failing: unit"}),
        "ApprovalTimer": cannot(S.AWAITING_CI, "ApprovalTimer"),
        "Approve": Moves(S.AWAITING_CI, ("release.approved",), SAME, Action.CHECK_CI,
                         {"approved_by": (OTHER_APPROVER,)}),
        "Reject": _rejected_by_approver(),
        **refusing(S.AWAITING_CI, STAGE_EVENTS),
        **refusing(S.AWAITING_CI, ("Promote", "Pause", "Resume")),
        "Abort": _aborted_before_traffic(),
        "Rollback": _rollback_before_traffic(),
        **refusing(S.AWAITING_CI, ROLLBACK_EVENTS),
    }),
    "awaiting_approval": (awaiting_approval, {
        **refusing(S.AWAITING_APPROVAL, GATE_EVENTS),
        # No expiry, reminder or escalation configured: a stray timer only clears due_at.
        "ApprovalTimer": Moves(S.AWAITING_APPROVAL, (), None, None,
                               {"escalated": False, "reminders_sent": 0}),
        "Approve": Moves(S.RUNNING, ("release.approved",), timedelta(0), Action.START_STAGE,
                         {"approved_by": (OTHER_APPROVER,)}),
        "Reject": _rejected_by_approver(),
        **refusing(S.AWAITING_APPROVAL, STAGE_EVENTS),
        **refusing(S.AWAITING_APPROVAL, ("Promote", "Pause", "Resume")),
        "Abort": _aborted_before_traffic(),
        "Rollback": _rollback_before_traffic(),
        **refusing(S.AWAITING_APPROVAL, ROLLBACK_EVENTS),
    }),
    "awaiting_approval, escalation due": (escalation_due, {
        **refusing(S.AWAITING_APPROVAL, GATE_EVENTS),
        # Escalates; the next timer is the first reminder, 3 h after the request.
        "ApprovalTimer": Moves(S.AWAITING_APPROVAL, ("approval.escalated",),
                               timedelta(hours=2), Action.APPROVAL_TIMER,
                               {"escalated": True, "reminders_sent": 0}),
        "Approve": Moves(S.RUNNING, ("release.approved",), timedelta(0), Action.START_STAGE,
                         {"approved_by": (OTHER_APPROVER,), "escalated": False}),
        "Reject": _rejected_by_approver(),
        **refusing(S.AWAITING_APPROVAL, STAGE_EVENTS),
        **refusing(S.AWAITING_APPROVAL, ("Promote", "Pause", "Resume")),
        "Abort": _aborted_before_traffic(),
        "Rollback": _rollback_before_traffic(),
        **refusing(S.AWAITING_APPROVAL, ROLLBACK_EVENTS),
    }),
    "running, step pending": (running, {
        **refusing(S.RUNNING, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        **_window_closing(Action.START_STAGE),
        "StageStarting": Moves(S.RUNNING, (), timedelta(seconds=60), Action.START_STAGE,
                               {"stage0.status": StageStatus.RUNNING, "stage0.started_at": AT,
                                "stage0.operation_id": None}),
        "StageStarted": Moves(S.RUNNING, ("stage.started",), timedelta(seconds=5),
                              Action.POLL_STAGE,
                              {"stage0.status": StageStatus.RUNNING, "stage0.started_at": AT,
                               "stage0.operation_id": "op-9"}),
        **{name: not_status(0, "running") for name in STAGE_EVENTS
           if name not in ("StageStarted", "StageStarting")},
        "Promote": Moves(S.RUNNING, ("release.promoted",), timedelta(0), Action.START_STAGE,
                         {"current": 0}),
        "Pause": Moves(S.PAUSED, ("release.paused",), None, None, {"paused_by": REQUESTER}),
        "Resume": cannot(S.RUNNING, "Resume"),
        "Abort": _aborted_before_traffic(),
        "Rollback": _rollback_before_traffic(),
        **refusing(S.RUNNING, ROLLBACK_EVENTS),
    }),
    "running, step starting": (step_starting, {
        **refusing(S.RUNNING, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        **_window_closing(Action.START_STAGE),
        "StageStarting": not_status(0, "pending"),
        "StageStarted": Moves(S.RUNNING, ("stage.started",), timedelta(seconds=5),
                              Action.POLL_STAGE, {"stage0.operation_id": "op-9"}),
        "StageProgress": Moves(S.RUNNING, (), timedelta(seconds=7), Action.START_STAGE,
                               {"stage0.detail": "3/10 pods"}),
        "StageSucceeded": Moves(S.RUNNING, ("stage.succeeded",), timedelta(0), Action.START_STAGE,
                                {"current": 1, "stage0.status": StageStatus.SUCCEEDED}),
        "StageFailed": _auto_rollback("10% failed: pods crashlooping"),
        "AnalysisChecked.pass": Refused(
            f"Stage 10% of release {REF} is not an analysis stage; result ignored."),
        "AnalysisChecked.fail": Refused(
            f"Stage 10% of release {REF} is not an analysis stage; result ignored."),
        "BakeElapsed": Refused(f"Stage 10% of release {REF} is not a bake stage; ignored."),
        "Promote": PROMOTE_WHILE_ROLLING,
        "Pause": Moves(S.PAUSED, ("release.paused",), SAME, Action.START_STAGE,
                       {"paused_by": REQUESTER}),
        "Resume": cannot(S.RUNNING, "Resume"),
        "Abort": _abort_with_traffic(statuses=SKIPPED_ALL),
        "Rollback": _rollback_with_traffic(statuses=SKIPPED_ALL),
        **refusing(S.RUNNING, ROLLBACK_EVENTS),
    }),
    "running, step rolling out": (step_running, {
        **refusing(S.RUNNING, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        **_window_closing(Action.POLL_STAGE),
        "StageStarting": not_status(0, "pending"),
        "StageStarted": not_status(0, "pending"),
        "StageProgress": Moves(S.RUNNING, (), timedelta(seconds=7), Action.POLL_STAGE,
                               {"stage0.detail": "3/10 pods",
                                "stage0.status": StageStatus.RUNNING}),
        "StageSucceeded": Moves(S.RUNNING, ("stage.succeeded",), timedelta(0), Action.START_STAGE,
                                {"current": 1, "stage0.status": StageStatus.SUCCEEDED,
                                 "stage0.finished_at": AT}),
        "StageFailed": _auto_rollback("10% failed: pods crashlooping"),
        "AnalysisChecked.pass": Refused(
            f"Stage 10% of release {REF} is not an analysis stage; result ignored."),
        "AnalysisChecked.fail": Refused(
            f"Stage 10% of release {REF} is not an analysis stage; result ignored."),
        "BakeElapsed": Refused(f"Stage 10% of release {REF} is not a bake stage; ignored."),
        "Promote": PROMOTE_WHILE_ROLLING,
        "Pause": Moves(S.PAUSED, ("release.paused",), SAME, Action.POLL_STAGE,
                       {"paused_by": REQUESTER}),
        "Resume": cannot(S.RUNNING, "Resume"),
        "Abort": _abort_with_traffic(statuses=SKIPPED_ALL),
        "Rollback": _rollback_with_traffic(statuses=SKIPPED_ALL),
        **refusing(S.RUNNING, ROLLBACK_EVENTS),
    }),
    "running, analysis": (analysing, {
        **refusing(S.RUNNING, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        **_window_closing(Action.ANALYZE),
        "StageStarting": not_status(1, "pending"),
        "StageStarted": not_status(1, "pending"),
        # The engine never reports step results for a bake; the machine accepts them anyway.
        "StageProgress": Moves(S.RUNNING, (), timedelta(seconds=7), Action.ANALYZE,
                               {"stage1.detail": "3/10 pods"}),
        "StageSucceeded": Moves(S.RUNNING, ("stage.succeeded",), timedelta(0), Action.START_STAGE,
                                {"current": 2, "stage1.status": StageStatus.SUCCEEDED}),
        "StageFailed": _auto_rollback("analysis failed: pods crashlooping"),
        "AnalysisChecked.pass": Moves(S.RUNNING, ("analysis.passed",), timedelta(seconds=60),
                                      Action.ANALYZE,
                                      {"stage1.checks_done": 1, "stage1.checks_failed": 0,
                                       "stage1.status": StageStatus.RUNNING}),
        "AnalysisChecked.fail": _auto_rollback(
            "analysis failed at 10%: error_rate 0.083 (max 0.01)", "analysis.failed"),
        # Too early: nothing changes, and the engine is told to come back when the bake ends
        # (the bake started 10 s before the event and lasts 300 s).
        "BakeElapsed": Moves(S.RUNNING, (), timedelta(seconds=290), Action.ANALYZE,
                             {"current": 1, "stage1.status": StageStatus.RUNNING}),
        "Promote": Moves(S.RUNNING, ("release.promoted",), timedelta(0), Action.START_STAGE,
                         {"current": 2, "stage1.status": StageStatus.SKIPPED,
                          "stage1.detail": f"promoted by <@{REQUESTER}>"}),
        "Pause": Moves(S.PAUSED, ("release.paused",), None, None, {"paused_by": REQUESTER}),
        "Resume": cannot(S.RUNNING, "Resume"),
        "Abort": _abort_with_traffic(statuses=("succeeded", *("skipped",) * 4)),
        "Rollback": _rollback_with_traffic(statuses=("succeeded", *("skipped",) * 4)),
        **refusing(S.RUNNING, ROLLBACK_EVENTS),
    }),
    "paused, step rolling out": (paused_step, {
        **refusing(S.PAUSED, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        "WindowOpened": PAUSED_BY_A_PERSON,
        "StageStarting": ignored(S.PAUSED),
        "StageStarted": ignored(S.PAUSED),
        "StageProgress": Moves(S.PAUSED, (), timedelta(seconds=7), Action.POLL_STAGE,
                               {"paused_by": ONCALL, "stage0.detail": "3/10 pods"}),
        "StageSucceeded": Moves(S.PAUSED, ("stage.succeeded",), None, None,
                                {"current": 1, "paused_by": ONCALL,
                                 "stage0.status": StageStatus.SUCCEEDED}),
        "StageFailed": _auto_rollback("10% failed: pods crashlooping"),
        "AnalysisChecked.pass": ignored(S.PAUSED),
        "AnalysisChecked.fail": ignored(S.PAUSED),
        "BakeElapsed": ignored(S.PAUSED),
        "Promote": PROMOTE_WHILE_ROLLING,
        "Pause": Refused(f"Release {REF} is already paused by <@{ONCALL}>."),
        "Resume": Moves(S.RUNNING, ("release.resumed",), SAME, Action.POLL_STAGE,
                        {"paused_by": None}),
        "Abort": _abort_with_traffic(),
        "Rollback": _rollback_with_traffic(),
        **refusing(S.PAUSED, ROLLBACK_EVENTS),
    }),
    "paused, analysis": (paused_bake, {
        **refusing(S.PAUSED, (*GATE_EVENTS, *APPROVAL_EVENTS)),
        "WindowOpened": PAUSED_BY_A_PERSON,
        "StageStarting": ignored(S.PAUSED),
        "StageStarted": ignored(S.PAUSED),
        "StageProgress": Moves(S.PAUSED, (), timedelta(seconds=7), None, {"paused_by": ONCALL}),
        "StageSucceeded": Moves(S.PAUSED, ("stage.succeeded",), None, None,
                                {"current": 2, "paused_by": ONCALL}),
        "StageFailed": _auto_rollback("analysis failed: pods crashlooping"),
        "AnalysisChecked.pass": ignored(S.PAUSED),
        "AnalysisChecked.fail": ignored(S.PAUSED),
        "BakeElapsed": ignored(S.PAUSED),
        "Promote": Moves(S.RUNNING, ("release.promoted",), timedelta(0), Action.START_STAGE,
                         {"current": 2, "paused_by": None,
                          "stage1.status": StageStatus.SKIPPED}),
        "Pause": Refused(f"Release {REF} is already paused by <@{ONCALL}>."),
        "Resume": Moves(S.RUNNING, ("release.resumed",), timedelta(0), Action.ANALYZE,
                        {"paused_by": None, "current": 1}),
        "Abort": _abort_with_traffic(),
        "Rollback": _rollback_with_traffic(),
        **refusing(S.PAUSED, ROLLBACK_EVENTS),
    }),
    "rolling back, not started": (rolling_back, {
        **refusing(S.ROLLING_BACK, (*GATE_EVENTS, *APPROVAL_EVENTS, *STAGE_EVENTS)),
        **refusing(S.ROLLING_BACK, ("Promote", "Pause", "Resume", "Abort")),
        "Rollback": Refused(f"Release {REF} is already rolling back."),
        "RollbackStarted": Moves(S.ROLLING_BACK, ("rollback.started",), timedelta(seconds=5),
                                 Action.POLL_ROLLBACK, {"rollback_operation": "rb-9"}),
        "RollbackProgress": Moves(S.ROLLING_BACK, (), timedelta(seconds=9),
                                  Action.START_ROLLBACK, {"rollback_operation": None}),
        "RollbackSucceeded": Moves(S.ROLLED_BACK, ("release.rolled_back",), None, None,
                                   {"finished_at": AT, "reason": "10% failed: pods crashlooping",
                                    "ended_by": None}),
        "RollbackFailed": Moves(S.FAILED, ("rollback.failed",), None, None,
                                {"finished_at": AT, "reason": "rollback failed: timeout"}),
    }),
    "rolling back, started": (rollback_started, {
        **refusing(S.ROLLING_BACK, (*GATE_EVENTS, *APPROVAL_EVENTS, *STAGE_EVENTS)),
        **refusing(S.ROLLING_BACK, ("Promote", "Pause", "Resume", "Abort")),
        "Rollback": Refused(f"Release {REF} is already rolling back."),
        "RollbackStarted": Moves(S.ROLLING_BACK, (), SAME, Action.POLL_ROLLBACK,
                                 {"rollback_operation": "rb-1"}),
        "RollbackProgress": Moves(S.ROLLING_BACK, (), timedelta(seconds=9),
                                  Action.POLL_ROLLBACK, {"rollback_operation": "rb-1"}),
        "RollbackSucceeded": Moves(S.ROLLED_BACK, ("release.rolled_back",), None, None,
                                   {"finished_at": AT}),
        "RollbackFailed": Moves(S.FAILED, ("rollback.failed",), None, None,
                                {"reason": "rollback failed: timeout"}),
    }),
    "succeeded": (succeeded, {
        **refusing(S.SUCCEEDED, [name for name in EVENTS if name != "Rollback"]),
        "Rollback": _rollback_with_traffic(
            statuses=("succeeded",) * 5, rollback_started_at=AT, current=5),
    }),
    "failed": (failed, {
        **refusing(S.FAILED, [name for name in EVENTS if name != "Rollback"]),
        "Rollback": _rollback_with_traffic(statuses=("failed", *("skipped",) * 4)),
    }),
    "rolled_back": (rolled_back, refusing(S.ROLLED_BACK, list(EVENTS))),
    "aborted": (aborted, refusing(S.ABORTED, list(EVENTS))),
    "rejected": (rejected, refusing(S.REJECTED, list(EVENTS))),
}
# fmt: on
SCHEDULE_EVENTS = ("ScheduleReached", "StartNow")
WINDOW_EVENTS = ("WindowClosed.pause", "WindowClosed.finish", "WindowOpened")
for _build, _row in TABLE.values():  # the rows above name these where they apply
    for _name, _refused in refusing(_build().state, (*SCHEDULE_EVENTS, *WINDOW_EVENTS)).items():
        _row.setdefault(_name, _refused)


def test_the_table_is_exhaustive():
    for scenario, (_, row) in TABLE.items():
        assert set(row) == set(EVENTS), f"{scenario}: missing {set(EVENTS) - set(row)}"
    assert {builder().state for builder, _ in TABLE.values()} == set(State)


def _field(release: Release, key: str) -> Any:
    if key == "statuses":
        return tuple(stage.status.value for stage in release.stages)
    if key.startswith("stage"):
        index, attr = key[len("stage") :].split(".")
        return getattr(release.stages[int(index)], attr)
    return getattr(release, key)


CASES = [
    pytest.param(scenario, event, id=f"{scenario} x {event}")
    for scenario, (_, row) in TABLE.items()
    for event in row
]


@pytest.mark.parametrize(("scenario", "event_name"), CASES)
def test_transition_table(scenario: str, event_name: str):
    build, row = TABLE[scenario]
    run = build()
    before = run.release
    expected = row[event_name]
    at = run.now + timedelta(seconds=10)
    event = EVENTS[event_name](before)

    if isinstance(expected, Refused):
        with pytest.raises(InvalidTransition) as caught:
            transition(before, event, at)
        message = str(caught.value)
        assert message == expected.message
        assert REF in message and "None" not in message
        assert message[0].isupper() and message.endswith(".")
        return

    after, facts = transition(before, event, at)
    check_facts(facts)
    assert after.state is expected.state
    assert [fact.kind for fact in facts] == list(expected.facts)
    assert after.updated_at == at
    if expected.due is SAME:
        assert after.due_at == before.due_at
    elif expected.due is None:
        assert after.due_at is None
    else:
        assert isinstance(expected.due, timedelta)
        assert after.due_at == at + expected.due
    assert next_action(after, after.due_at or at) == expected.action
    for key, value in expected.fields.items():
        assert _field(after, key) == (at if value is AT else value), key
    # identity and request never change
    for key in ("id", "service", "environment", "requested_by", "strategy", "created_at"):
        assert getattr(after, key) == getattr(before, key)
    assert after.state.active == (after.finished_at is None)


# Happy paths, per strategy.


def test_canary_happy_path():
    run = drive(running())
    release = run.release
    assert release.state is State.SUCCEEDED
    assert [s.label for s in release.stages] == ["10%", "analysis", "50%", "analysis", "100%"]
    assert run.statuses() == ("succeeded",) * 5
    assert [s.checks_done for s in release.stages if s.kind is StageKind.BAKE] == [5, 5]
    assert release.current == 5 and release.current_stage is None
    assert release.due_at is None and run.action is None
    assert release.finished_at == run.now and release.reason == ""
    assert [a for a, _ in run.log] == [
        Action.START_STAGE,
        Action.POLL_STAGE,
        Action.START_STAGE,
        *[Action.ANALYZE] * 5,
        Action.START_STAGE,
        Action.POLL_STAGE,
        Action.START_STAGE,
        *[Action.ANALYZE] * 5,
        Action.START_STAGE,
        Action.POLL_STAGE,
    ]
    # 10% -> 300 s analysis -> 50% -> 300 s analysis -> 100%, each step polled once after 5 s
    assert run.now - T0 == timedelta(seconds=5 + 5 + 300 + 5 + 300 + 5)
    assert run.kinds[-1] == "release.succeeded"
    assert run.facts[-1].summary == "checkout v1.4.3 is live in production"
    assert run.kinds.count("analysis.passed") == 10
    # only the last check of each bake is worth a message
    assert [f.notify for f in run.facts if f.kind == "analysis.passed"] == (
        [False] * 4 + [True]
    ) * 2


def test_canary_from_awaiting_ci_checks_ci_first():
    run = drive(awaiting_ci())
    assert run.log[0] == (Action.CHECK_CI, "10%")
    assert run.state is State.SUCCEEDED


def test_canary_start_percent_skips_lower_steps():
    run = drive(running(start_percent=25))
    assert [s.label for s in run.release.stages] == ["25%", "analysis", "50%", "analysis", "100%"]
    assert run.state is State.SUCCEEDED


def test_blue_green_happy_path():
    run = drive(running(strategy=StrategyName.BLUE_GREEN))
    release = run.release
    assert release.state is State.SUCCEEDED
    assert [s.label for s in release.stages] == ["green", "verify", "switch", "keep blue"]
    assert run.statuses() == ("succeeded",) * 4
    assert release.stages[1].analysis and release.stages[1].checks_done == 2  # 120 s / 60 s
    assert not release.stages[3].analysis and release.stages[3].checks_done == 0
    assert [a for a, _ in run.log] == [
        Action.START_STAGE,
        Action.POLL_STAGE,
        Action.START_STAGE,
        Action.ANALYZE,
        Action.ANALYZE,
        Action.START_STAGE,
        Action.POLL_STAGE,
        Action.START_STAGE,
        Action.FINISH_BAKE,
    ]
    assert run.now - T0 == timedelta(seconds=5 + 5 + 120 + 5 + 600)


def test_rolling_happy_path_with_plain_bakes():
    run = drive(running(strategy=StrategyName.ROLLING, analysis=False, batches=3))
    release = run.release
    assert release.state is State.SUCCEEDED
    assert [s.label for s in release.stages] == [
        "batch 1/3",
        "bake",
        "batch 2/3",
        "bake",
        "batch 3/3",
    ]
    assert [s.percent for s in release.stages if s.kind is StageKind.STEP] == [33, 67, 100]
    assert [a for a, _ in run.log].count(Action.FINISH_BAKE) == 2
    assert Action.ANALYZE not in [a for a, _ in run.log]
    assert run.now - T0 == timedelta(seconds=5 + 5 + 60 + 5 + 60 + 5)


def test_feature_flag_happy_path():
    run = drive(running(strategy=StrategyName.FEATURE_FLAG, flag="new-cart"))
    release = run.release
    assert release.state is State.SUCCEEDED and release.flag == "new-cart"
    assert [s.label for s in release.stages] == [
        "flag 25%",
        "analysis",
        "flag 50%",
        "analysis",
        "flag 100%",
    ]
    assert [a for a, _ in run.log if a is not Action.ANALYZE] == [Action.START_STAGE] * 5
    assert release.stages[0].detail == "on for 25%"


def test_plain_bake_waits_its_whole_duration():
    run = running(analysis=False)
    run.do(StageStarted(0, "op-1"))
    run.do(StageSucceeded(0), after=5)
    run.do(StageStarted(1))
    bake = run.release.current_stage
    assert bake is not None and bake.label == "bake" and not bake.analysis
    assert run.release.due_at == run.now + timedelta(seconds=300)
    assert run.wait(299).action is None
    assert run.wait(1).action is Action.FINISH_BAKE


# Analysis failure, with and without auto-rollback, and the failure limit.


def failing_first_check(release: Release, check: int) -> tuple[bool, str]:
    return False, "error_rate 0.083 (max 0.01)"


def test_analysis_failure_rolls_back_automatically():
    run = drive(running(), failing_first_check)
    release = run.release
    assert release.state is State.ROLLED_BACK
    assert release.reason == "analysis failed at 10%: error_rate 0.083 (max 0.01)"
    assert release.ended_by is None
    assert run.statuses() == ("succeeded", "failed", "skipped", "skipped", "skipped")
    assert release.stages[1].checks_failed == 1
    assert [a for a, _ in run.log][-3:] == [
        Action.ANALYZE,
        Action.START_ROLLBACK,
        Action.POLL_ROLLBACK,
    ]
    assert run.kinds[-5:] == [
        "analysis.failed",
        "release.failed",
        "release.auto_rollback",
        "rollback.started",
        "release.rolled_back",
    ]
    failed_fact = run.facts[-5]
    assert failed_fact.outcome == "failed"
    assert failed_fact.details["passed"] is False
    assert run.facts[-1].summary == "Rolled back: checkout in production is on v1.4.2 again"
    assert run.action is None and release.finished_at == run.now


def test_analysis_failure_without_auto_rollback_fails():
    run = drive(running(auto_rollback=False), failing_first_check)
    release = run.release
    assert release.state is State.FAILED
    assert release.reason == "analysis failed at 10%: error_rate 0.083 (max 0.01)"
    assert release.rollback_target is None
    assert release.stages[1].status is StageStatus.FAILED
    assert run.kinds[-2:] == ["analysis.failed", "release.failed"]
    assert "Auto-rollback is off" in run.facts[-1].summary
    assert release.due_at is None and run.action is None


def test_failure_limit_tolerates_that_many_failed_checks():
    verdicts = iter([False, True, True, True, True])

    def one_bad_check(release: Release, check: int) -> tuple[bool, str]:
        return (True, "ok") if release.current > 1 else (next(verdicts), "error_rate x")

    run = drive(running(failure_limit=1), one_bad_check)
    assert run.state is State.SUCCEEDED
    assert run.release.stages[1].checks_failed == 1
    assert run.release.stages[1].checks_done == 5
    tolerated = run.facts[run.kinds.index("analysis.passed")]
    assert tolerated.details["passed"] is False
    assert not tolerated.summary.startswith("Analysis passed"), (
        "a failed check that is tolerated must not be reported as passed"
    )


def test_failure_limit_exceeded_fails_on_the_next_bad_check():
    run = analysing(failure_limit=1)
    run.do(AnalysisChecked(1, False, "error_rate 0.02"), after=60)
    assert run.state is State.RUNNING
    run.do(AnalysisChecked(1, False, "error_rate 0.03"), after=60)
    assert run.state is State.ROLLING_BACK
    assert run.release.stages[1].checks_failed == 2
    assert run.release.reason == "analysis failed at 10%: error_rate 0.03"


def test_analysis_count_ends_the_stage_after_that_many_measurements():
    run = analysing(analysis_count=2)
    run.do(AnalysisChecked(1, True, "error_rate 0"), after=60)
    assert run.release.current == 1, "one measurement of two: still watching"
    run.do(AnalysisChecked(1, True, "error_rate 0"), after=60)
    assert run.release.stages[1].status is StageStatus.SUCCEEDED
    assert run.release.current == 2, "two of two taken well before the 300 s bake is over"
    assert run.kinds[-2] == "analysis.passed"


def test_without_a_count_analysis_runs_until_the_bake_time_is_over():
    run = analysing()
    for _ in range(4):
        run.do(AnalysisChecked(1, True, "error_rate 0"), after=60)
        assert run.release.current == 1
    run.do(AnalysisChecked(1, True, "error_rate 0"), after=60)
    assert run.release.current == 2


def test_step_failure_rolls_back_and_names_the_stage():
    run = drive(rolling_back())
    assert run.state is State.ROLLED_BACK
    assert run.release.reason == "10% failed: pods crashlooping"
    assert run.release.stages[0].status is StageStatus.FAILED
    assert run.release.stages[0].detail == "pods crashlooping"


# Pause, resume, promote.


def test_pause_during_a_step_keeps_polling_but_does_not_start_the_next_stage():
    run = step_running()
    due = run.release.due_at
    run.do(Pause(ONCALL), after=1)
    assert run.state is State.PAUSED and run.release.due_at == due
    run.now = due
    assert run.action is Action.POLL_STAGE
    run.do(StageProgress(0, "5/10 pods", poll_in_s=5))
    assert run.state is State.PAUSED and run.wait(5).action is Action.POLL_STAGE
    run.do(StageSucceeded(0, "all pods ready"))
    assert run.state is State.PAUSED and run.release.current == 1
    assert run.release.due_at is None
    assert run.wait(3600).action is None  # the bake does not start while paused
    run.do(Resume(REQUESTER))
    assert run.state is State.RUNNING and run.action is Action.START_STAGE
    assert run.release.paused_by is None


def test_pause_during_the_last_step_still_finishes_the_release():
    run = running(start_percent=100)
    run.do(StageStarted(0, "op-1"))
    run.do(Pause(ONCALL), after=1)
    run.do(StageSucceeded(0), after=4)
    assert run.state is State.SUCCEEDED and run.release.paused_by is None


def test_pause_during_a_bake_stops_the_clock_work():
    run = analysing()
    run.do(Pause(ONCALL), after=5)
    assert run.state is State.PAUSED and run.release.due_at is None
    assert run.wait(3600).action is None
    with pytest.raises(InvalidTransition, match="is paused"):
        transition(run.release, AnalysisChecked(1, True, "ok"), run.now)
    run.do(Resume(ONCALL))
    assert run.state is State.RUNNING and run.action is Action.ANALYZE


def test_resume_before_a_plain_bake_ends_waits_for_the_rest_of_it():
    run = running(analysis=False)
    run.do(StageStarted(0, "op-1"))
    run.do(StageSucceeded(0), after=5)
    run.do(StageStarted(1))
    started = run.now
    run.do(Pause(ONCALL), after=10)
    run.do(Resume(ONCALL), after=10)
    assert run.action is Action.FINISH_BAKE
    run.do(BakeElapsed(1))
    assert run.state is State.RUNNING and run.release.current == 1
    # not over yet: the engine must come back when the bake ends, not on every tick
    assert run.release.due_at == started + timedelta(seconds=300)
    assert run.action is None
    run.now = run.release.due_at
    assert run.action is Action.FINISH_BAKE
    run.do(BakeElapsed(1))
    assert run.release.current == 2 and run.action is Action.START_STAGE


def test_pause_twice_names_who_paused():
    run = paused_step()
    with pytest.raises(InvalidTransition) as caught:
        transition(run.release, Pause(REQUESTER), run.now)
    assert f"<@{ONCALL}>" in str(caught.value)


def test_promote_skips_a_running_bake():
    run = analysing()
    run.do(Promote(REQUESTER), after=30)
    bake = run.release.stages[1]
    assert bake.status is StageStatus.SKIPPED and bake.finished_at == run.now
    assert bake.detail == f"promoted by <@{REQUESTER}>"
    assert run.release.current == 2 and run.action is Action.START_STAGE
    assert run.kinds[-1] == "release.promoted"


def test_promote_skips_a_bake_that_has_not_started():
    run = step_running()
    run.do(StageSucceeded(0), after=5)
    assert run.release.current_stage.status is StageStatus.PENDING  # type: ignore[union-attr]
    run.do(Promote(REQUESTER))
    bake = run.release.stages[1]
    assert bake.status is StageStatus.SKIPPED and bake.started_at == run.now
    assert run.release.current == 2


def test_promote_is_refused_while_a_step_rolls_out():
    for build in (step_running, paused_step):
        run = build()
        with pytest.raises(InvalidTransition) as caught:
            transition(run.release, Promote(REQUESTER), run.now)
        assert "still rolling out" in str(caught.value) and REF in str(caught.value)


def test_promote_through_the_whole_canary():
    run = running()
    for _ in range(2):
        step = run.release.current_stage
        assert step is not None
        run.do(StageStarted(step.index, "op"))
        run.do(StageSucceeded(step.index), after=5)
        run.do(Promote(REQUESTER))
    run.do(StageStarted(4, "op"))
    run.do(StageSucceeded(4), after=5)
    assert run.state is State.SUCCEEDED
    assert run.statuses() == ("succeeded", "skipped", "succeeded", "skipped", "succeeded")


def test_promote_from_paused_bake_resumes():
    run = paused_bake()
    run.do(Promote(REQUESTER), after=5)
    assert run.state is State.RUNNING and run.release.paused_by is None
    assert run.action is Action.START_STAGE


# Approvals.


def test_approvals_collected_while_awaiting_ci_count_once_per_user():
    run = awaiting_ci(approvals=2)
    run.do(Approve(APPROVER, "ship it"), after=1)
    with pytest.raises(InvalidTransition) as caught:
        transition(run.release, Approve(APPROVER), run.now)
    assert str(caught.value) == f"You already approved release {REF}; it counts once."
    assert run.release.approved_by == (APPROVER,) and run.release.approvals_missing == 1
    assert run.facts[-1].summary == f"Approved by <@{APPROVER}> (1 of 2): ship it"
    run.do(CiChecked(passed=True, summary="3 checks passed"), after=5)
    assert run.state is State.AWAITING_APPROVAL and run.action is None
    assert run.facts[-1].kind == "release.approval_requested"
    assert "Waiting for 1 approval to deploy" in run.facts[-1].summary
    with pytest.raises(InvalidTransition):
        transition(run.release, Approve(APPROVER), run.now)
    run.do(Approve(OTHER_APPROVER), after=60)
    assert run.state is State.RUNNING and run.action is Action.START_STAGE
    assert run.release.approved_by == (APPROVER, OTHER_APPROVER)
    assert run.release.approvals[1].at == run.now


def test_enough_approvals_before_ci_go_straight_to_rollout():
    run = awaiting_ci(approvals=1)
    run.do(Approve(APPROVER), after=1)
    assert run.state is State.AWAITING_CI
    run.do(CiChecked(passed=True, summary="green"), after=5)
    assert run.state is State.RUNNING
    assert "release.approval_requested" not in run.kinds


def test_rejection_needs_a_reason():
    run = awaiting_approval()
    with pytest.raises(InvalidTransition) as caught:
        transition(run.release, Reject(APPROVER, "   "), run.now)
    assert REF in str(caught.value) and "reason" in str(caught.value)


def test_ci_red_rejects_and_pending_retries():
    run = awaiting_ci()
    run.do(CiChecked(passed=False, pending=True, summary="pending: build", retry_in_s=20))
    assert run.release.due_at == run.now + timedelta(seconds=20)
    assert run.wait(19).action is None and run.wait(1).action is Action.CHECK_CI
    run.do(CiChecked(passed=False, summary="failing: unit"))
    assert run.state is State.REJECTED and run.facts[-1].outcome == "refused"
    assert run.facts[-1].summary == "CI gate refused v1.4.3: failing: unit"


def test_versions_resolved_keeps_a_requested_version():
    run = Run(new_release(version_to="v1.5.0-rc.1"))
    run.do(VersionsResolved("v1.4.3", "v1.4.2"))
    assert (run.release.version_to, run.release.version_from) == ("v1.5.0-rc.1", "v1.4.2")
    run = Run(new_release())
    assert not run.release.resolved
    run.do(VersionsResolved("v1.4.3", None))
    assert run.release.resolved and run.release.version_from is None
    assert run.facts[-1].summary == "Shipping v1.4.3 (now running: nothing)"


# Approval timers: reminders before expiry, one escalation, expiry.

REQUESTED = T0 + timedelta(seconds=5)  # when CI passed and the approval request was made


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return REQUESTED + timedelta(hours=hours, minutes=minutes)


def fire(run: Run, when: datetime) -> list[Fact]:
    run.now = when
    assert run.action is Action.APPROVAL_TIMER
    return run.do(ApprovalTimer())


def test_the_request_says_when_it_lapses_and_is_due_at_its_first_timer():
    run = awaiting_approval_timed()
    request = run.facts[-1]
    assert request.kind == "release.approval_requested"
    assert request.summary == (
        "Waiting for 1 approval to deploy v1.4.3 to production; the request lapses in 4h00m"
    )
    release = run.release
    assert release.approval_requested_at == REQUESTED
    assert (release.reminders_sent, release.escalated) == (0, False)
    assert release.due_at == approval_due(release) == at(hours=1)  # the escalation
    assert run.wait(3600 - 1).action is None


def test_escalation_then_reminders_then_expiry():
    run = awaiting_approval_timed()

    facts = fire(run, at(hours=1))
    assert [f.kind for f in facts] == ["approval.escalated"]
    assert facts[0].summary == (
        f"Nobody has approved release {REF} yet: <!subteam^S0LEADS>, can one of you approve "
        "v1.4.3 for production?"
    )
    assert run.release.escalated and run.release.reminders_sent == 0
    assert run.release.due_at == at(hours=3)  # 1 h before the 4 h expiry

    facts = fire(run, at(hours=3))
    assert [f.kind for f in facts] == ["approval.reminder"]
    assert facts[0].summary == (
        f"Reminder: release {REF} still needs 1 approval to deploy v1.4.3 to production; "
        "the request lapses in 1h00m."
    )
    assert run.release.reminders_sent == 1 and run.release.due_at == at(hours=3, minutes=45)

    facts = fire(run, at(hours=3, minutes=45))
    assert [f.kind for f in facts] == ["approval.reminder"]
    assert facts[0].summary.endswith("the request lapses in 15m00s.")
    assert run.release.reminders_sent == 2 and run.release.due_at == at(hours=4)

    facts = fire(run, at(hours=4))
    assert [f.kind for f in facts] == ["release.approval_expired"]
    assert facts[0].outcome == "refused"
    assert facts[0].summary == (
        f"Nobody approved release {REF} within 4h00m: the request lapsed. "
        "Deploy again when approvers are around."
    )
    release = run.release
    assert release.state is State.REJECTED
    assert release.reason == "approval expired: nobody approved in 4h00m"
    assert release.finished_at == at(hours=4) and release.due_at is None
    assert release.ended_by is None and run.action is None
    assert run.kinds.count("approval.escalated") == 1


def test_the_engine_stand_in_drives_a_request_to_expiry():
    run = drive(awaiting_approval_timed())
    assert run.state is State.REJECTED
    assert [action for action, _ in run.log] == [Action.APPROVAL_TIMER] * 4
    assert run.now == at(hours=4)


def test_timers_missed_while_the_engine_was_down_come_as_one_batch():
    run = awaiting_approval_timed()
    facts = fire(run, at(hours=3, minutes=50))
    assert [f.kind for f in facts] == ["approval.escalated", "approval.reminder"]
    assert facts[1].summary.endswith("the request lapses in 10m00s.")
    assert run.release.reminders_sent == 2 and run.release.escalated
    assert run.release.due_at == at(hours=4)


def test_a_timer_past_expiry_only_expires():
    run = awaiting_approval_timed()
    facts = fire(run, at(hours=5))
    assert [f.kind for f in facts] == ["release.approval_expired"]
    assert "within 5h00m" in facts[0].summary
    assert run.state is State.REJECTED


def test_an_early_timer_changes_nothing_and_escalation_happens_once():
    run = awaiting_approval_timed()
    run.now = at(minutes=30)
    assert run.do(ApprovalTimer()) == []
    assert run.release.due_at == at(hours=1) and not run.release.escalated
    fire(run, at(hours=1))
    run.now = at(hours=1, minutes=1)
    assert run.do(ApprovalTimer()) == []  # stray: already escalated, no reminder due yet
    assert run.release.due_at == at(hours=3)


def test_reminders_only_and_expiry_only():
    only_reminders = ApprovalTiming(expires_after_s=7200, remind_before_s=(600, 3600))
    run = awaiting_approval_timed(approval_timing=only_reminders)
    assert run.release.due_at == at(hours=1)  # reminders go out in time order
    assert [f.kind for f in fire(run, at(hours=1))] == ["approval.reminder"]
    assert run.release.due_at == at(hours=1, minutes=50)
    run = awaiting_approval_timed(approval_timing=ApprovalTiming(expires_after_s=600))
    assert run.release.due_at == at(minutes=10)
    assert [f.kind for f in fire(run, at(minutes=10))] == ["release.approval_expired"]


def test_escalation_without_expiry_waits_forever_after():
    timing = ApprovalTiming(escalate_after_s=1800, escalate_to="<@U0LEAD>")
    run = awaiting_approval_timed(approval_timing=timing)
    assert run.facts[-1].summary == "Waiting for 1 approval to deploy v1.4.3 to production"
    facts = fire(run, at(minutes=30))
    assert [f.kind for f in facts] == ["approval.escalated"] and "<@U0LEAD>" in facts[0].summary
    assert run.release.due_at is None and run.state is State.AWAITING_APPROVAL


def test_approvals_between_timers_keep_the_timers_until_the_last_one():
    run = awaiting_approval_timed(approvals=2)
    run.do(Approve(APPROVER, "fine by me"), after=600)
    assert run.state is State.AWAITING_APPROVAL
    assert run.release.due_at == at(hours=1)  # unchanged by the approval
    facts = fire(run, at(hours=3))
    kinds = [f.kind for f in facts]
    assert kinds == ["approval.escalated", "approval.reminder"]
    assert "still needs 1 approval to deploy" in facts[1].summary
    run.do(Approve(OTHER_APPROVER), after=60)
    assert run.state is State.RUNNING and run.action is Action.START_STAGE
    assert run.release.due_at == run.now  # the rollout's due_at, not a timer's
    with pytest.raises(InvalidTransition) as caught:
        transition(run.release, ApprovalTimer(), at(hours=4))
    assert str(caught.value) == (
        f"Release {REF} is rolling out, so you cannot time its approval request."
    )


def test_partly_approved_requests_do_not_say_nobody_approved():
    run = awaiting_approval_timed(approvals=2)
    run.do(Approve(APPROVER), after=60)
    escalated = fire(run, at(hours=1))[0]
    assert "Nobody" not in escalated.summary
    assert escalated.summary == (
        f"Release {REF} still needs 1 approval (1 of 2 given): <!subteam^S0LEADS>, can one "
        "of you approve v1.4.3 for production?"
    )
    expired = fire(run, at(hours=4))[-1]
    assert expired.kind == "release.approval_expired" and "Nobody" not in expired.summary
    assert expired.summary == (
        f"Release {REF} got 1 of 2 approvals within 4h00m: the request lapsed. "
        "Deploy again when approvers are around."
    )
    assert run.release.reason == "approval expired: 1 of 2 approvals in 4h00m"


def test_approval_due_without_a_request_is_none():
    release = new_release(approval_timing=TIMING)
    assert release.approval_requested_at is None and approval_due(release) is None


def test_green_ci_auto_approves_when_the_policy_asks_no_more():
    run = awaiting_ci(auto_approve=True)
    facts = run.do(CiChecked(passed=True, summary="3 checks passed"), after=5)
    assert [f.kind for f in facts] == ["release.ci_passed", "release.auto_approved"]
    assert facts[1].summary == (
        "Approved automatically: CI is green and production's policy asks no more"
    )
    assert run.state is State.RUNNING and run.action is Action.START_STAGE
    # Without the policy's auto approval, nothing claims an approval happened.
    assert "release.auto_approved" not in running().kinds
    # Red CI approves nothing.
    run = awaiting_ci(auto_approve=True)
    run.do(CiChecked(passed=False, summary="failing: unit"))
    assert run.kinds[-1] == "release.ci_failed" and run.state is State.REJECTED
    # An approval still required (e.g. break-glass's extra approver) is still waited for.
    run = awaiting_ci(auto_approve=True, approvals=1)
    run.do(CiChecked(passed=True, summary="green"))
    assert run.state is State.AWAITING_APPROVAL and "release.auto_approved" not in run.kinds


def test_commit_authors_come_from_the_ci_result():
    run = awaiting_ci()
    run.do(CiChecked(passed=False, pending=True, summary="pending", authors=("U0EARLY",)))
    assert run.release.authors == ()  # only a finished, green result counts
    run.do(CiChecked(passed=True, summary="green", authors=("U0DEV", "U0ALICE")), after=10)
    assert run.release.authors == ("U0DEV", "U0ALICE")
    run = awaiting_ci()
    from dataclasses import replace

    run.release = replace(run.release, authors=("U0KNOWN",))
    run.do(CiChecked(passed=True, summary="green"))  # no authors reported: keep what we knew
    assert run.release.authors == ("U0KNOWN",)


# Abort and rollback.


def test_abort_before_any_traffic_ends_at_once():
    for build in (awaiting_ci, awaiting_approval, running):
        run = build()
        run.do(Abort(REQUESTER), after=1)
        assert run.state is State.ABORTED and run.action is None
        assert run.release.reason == ""
        assert run.release.ended_by == REQUESTER
        assert run.release.rollback_target is None
        assert set(run.statuses()) == {"skipped"}


def test_abort_after_traffic_rolls_back_to_aborted():
    run = analysing()
    run.do(Abort(REQUESTER, "wrong build"), after=1)
    assert run.state is State.ROLLING_BACK
    assert run.release.rollback_target is State.ABORTED
    assert run.action is Action.START_ROLLBACK
    run.do(RollbackStarted("rb-1"))
    assert run.wait(5).action is Action.POLL_ROLLBACK
    run.do(RollbackProgress("1/3", poll_in_s=5))
    run.do(RollbackSucceeded("reverted"), after=5)
    release = run.release
    assert release.state is State.ABORTED and release.finished_at == run.now
    assert release.reason == "wrong build" and release.ended_by == REQUESTER
    assert run.facts[-1].kind == "release.abort_reverted"
    assert (
        run.facts[-1].summary == "Aborted and reverted: checkout in production is on v1.4.2 again"
    )


def test_rollback_of_a_succeeded_release():
    run = succeeded()
    finished = run.release.finished_at
    assert finished is not None
    run.do(Rollback(ONCALL, "latency"), after=600)
    assert run.state is State.ROLLING_BACK and run.state.active
    assert run.release.finished_at is None and run.release.rollback_started_at == run.now
    assert run.facts[-1].summary == f"Rollback to v1.4.2 requested by <@{ONCALL}>: latency"
    drive(run)
    assert run.state is State.ROLLED_BACK
    assert run.release.ended_by == ONCALL and run.release.reason == "latency"


def test_rollback_failure_fails_then_rollback_again_works():
    run = drive(rolling_back(), rollback_ok=False)
    assert run.state is State.FAILED
    assert run.release.reason == "rollback failed: the deployer timed out"
    assert run.facts[-1].kind == "rollback.failed" and run.facts[-1].outcome == "failed"
    assert "Roll back again" in run.facts[-1].summary
    run.do(Rollback(ONCALL, "try again"), after=60)
    assert run.state is State.ROLLING_BACK and run.release.rollback_operation is None
    assert run.action is Action.START_ROLLBACK
    drive(run)
    assert run.state is State.ROLLED_BACK and run.release.reason == "try again"


def test_rollback_started_twice_keeps_the_first_operation():
    run = rollback_started()
    run.do(RollbackStarted("rb-other"))
    assert run.release.rollback_operation == "rb-1"


def test_rollback_of_a_first_release_does_not_say_none():
    run = Run(new_release())
    run.do(VersionsResolved("v0.1.0", None))
    run.do(CiChecked(passed=True, summary="green"))
    run.do(StageStarted(0, "op-1"))
    run.do(StageFailed(0, "boom"), after=5)  # check_facts refuses a "None" in any summary
    drive(run)
    assert run.state is State.ROLLED_BACK


def test_auto_rollback_fact_of_a_paused_release_clears_pause():
    run = paused_step()
    run.do(StageFailed(0, "boom"), after=1)
    assert run.state is State.ROLLING_BACK and run.release.paused_by is None


# next_action and due_at.


NEXT_ACTIONS = [
    ("scheduled", scheduled, Action.START_SCHEDULED),
    ("awaiting_ci", awaiting_ci, Action.CHECK_CI),
    ("awaiting_approval", awaiting_approval, None),
    ("awaiting_approval, timed", awaiting_approval_timed, Action.APPROVAL_TIMER),
    ("running, step pending", running, Action.START_STAGE),
    ("running, step rolling out", step_running, Action.POLL_STAGE),
    ("running, analysis", analysing, Action.ANALYZE),
    ("paused, step rolling out", paused_step, Action.POLL_STAGE),
    ("paused, analysis", paused_bake, None),
    ("rolling back, not started", rolling_back, Action.START_ROLLBACK),
    ("rolling back, started", rollback_started, Action.POLL_ROLLBACK),
    ("succeeded", succeeded, None),
    ("failed", failed, None),
    ("rolled_back", rolled_back, None),
    ("aborted", aborted, None),
    ("rejected", rejected, None),
]


@pytest.mark.parametrize(
    ("build", "action"), [pytest.param(b, a, id=n) for n, b, a in NEXT_ACTIONS]
)
def test_next_action_when_due(build: Callable[[], Run], action: Action | None):
    run = build()
    release = run.release
    if release.due_at is None:
        assert action is None
        assert next_action(release, run.now + timedelta(days=365)) is None
        return
    assert next_action(release, release.due_at) is action
    assert next_action(release, release.due_at + timedelta(hours=1)) is action
    assert next_action(release, release.due_at - timedelta(microseconds=1)) is None


def test_next_action_covers_every_state():
    assert {build().state for _, build, _ in NEXT_ACTIONS} == set(State)


def test_next_action_finish_bake_for_a_plain_bake():
    run = running(analysis=False)
    run.do(StageStarted(0, "op-1"))
    run.do(StageSucceeded(0), after=5)
    assert run.action is Action.START_STAGE
    run.do(StageStarted(1))
    assert next_action(run.release, run.release.due_at) is Action.FINISH_BAKE  # type: ignore[arg-type]


def test_analysis_checks_come_every_interval_and_never_after_the_bake():
    run = analysing(interval=120)
    start = run.now
    assert run.release.due_at == start + timedelta(seconds=120)
    run = analysing(interval=900)  # longer than the 300 s bake: one check when it ends
    assert run.release.due_at == run.now + timedelta(seconds=300)
    run.now = run.release.due_at
    run.do(AnalysisChecked(1, True, "ok"))
    assert run.release.current == 2


@pytest.mark.parametrize("build", [succeeded, failed, rolled_back, aborted, rejected])
def test_terminal_states_ignore_a_stray_due_at(build: Callable[[], Run]):
    from dataclasses import replace

    release = replace(build().release, due_at=T0)
    assert next_action(release, T0 + timedelta(days=1)) is None


def test_a_stray_due_at_while_awaiting_approval_fires_a_harmless_timer():
    """Awaiting approval has timers now: the engine fires one, and a request with nothing to
    time just loses its due_at."""
    from dataclasses import replace

    run = awaiting_approval()
    assert run.release.due_at is None and run.action is None
    run.release = replace(run.release, due_at=T0)
    assert run.action is Action.APPROVAL_TIMER
    assert run.do(ApprovalTimer()) == []
    assert run.state is State.AWAITING_APPROVAL and run.release.due_at is None


def test_every_terminal_release_has_finished_and_no_timer():
    for build in (succeeded, failed, rolled_back, aborted, rejected):
        release = build().release
        assert release.state not in ACTIVE_STATES
        assert release.finished_at is not None and release.due_at is None
        assert release.paused_by is None


def test_transition_leaves_the_old_release_untouched():
    run = step_running()
    before = run.release
    snapshot = repr(before)
    transition(before, StageSucceeded(0), run.now)
    assert repr(before) == snapshot


def test_state_labels_and_activity():
    assert State.ROLLING_BACK.label == "rolling back"
    assert {s for s in State if s.active} == {
        State.SCHEDULED,
        State.AWAITING_CI,
        State.AWAITING_APPROVAL,
        State.RUNNING,
        State.PAUSED,
        State.ROLLING_BACK,
    }


def test_release_ref_and_helpers():
    release = new_release()
    assert release.ref == REF
    from dataclasses import replace

    assert replace(release, id=None).ref == "(new)"
    assert release.current_stage is release.stages[0]
    assert release.stage_started_at() is None
    assert not release.touched_traffic
    assert step_running().release.touched_traffic


def test_an_approval_after_the_request_lapsed_does_not_count():
    timing = ApprovalTiming(expires_after_s=3600)
    run = awaiting_approval(approvals=2, approval_timing=timing)
    run.do(Approve(APPROVER), after=60)
    with pytest.raises(InvalidTransition, match=r"The approval request for release #12 lapsed"):
        transition(run.release, Approve(OTHER_APPROVER), run.now + timedelta(hours=2))


def test_a_release_paused_by_its_window_resumes_when_the_next_opens():
    run = running()
    opens = run.now + timedelta(hours=8)
    run.do(WindowClosed(opens, pause=True))
    assert run.state is State.PAUSED and run.release.due_at == opens
    assert next_action(run.release, opens) is Action.WINDOW_OPENED
    with pytest.raises(InvalidTransition, match="already paused until its deploy window opens"):
        transition(run.release, Pause(REQUESTER), run.now)
    run.now = opens
    run.do(WindowOpened())
    assert run.state is State.RUNNING and run.action is Action.START_STAGE
    with pytest.raises(InvalidTransition, match="was told its deploy window closed already"):
        transition(run.release, WindowClosed(None, pause=True), run.now)


def test_a_person_may_resume_a_release_its_window_paused():
    run = running()
    run.do(WindowClosed(run.now + timedelta(hours=8), pause=True))
    run.do(Resume(REQUESTER), after=60)
    assert run.state is State.RUNNING and not run.release.window_paused
