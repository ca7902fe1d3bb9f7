"""What the handlers share: the guards that refuse an event a release is not ready for, and
the moves that change a release (a stage updated, advanced or failed; a rollback begun; the
release ended)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.release.facts import Fact
from bot.core.release.model import InvalidTransition, Release, State
from bot.core.stages import Stage, StageStatus

_STATE_SENTENCES = {
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


def require(r: Release, states: set[State] | frozenset[State], doing: str) -> None:
    if r.state not in states:
        raise InvalidTransition(
            f"Release {r.ref} {_STATE_SENTENCES[r.state]}, so you cannot {doing}."
        )


def expect_stage(r: Release, index: int, status: StageStatus, states: set[State]) -> Stage:
    if r.state not in states:
        raise InvalidTransition(
            f"Release {r.ref} {_STATE_SENTENCES[r.state]}; stage result ignored."
        )
    stage = r.current_stage
    if stage is None or stage.index != index or stage.status is not status:
        raise InvalidTransition(f"Stage {index} of release {r.ref} is not {status.value}; ignored.")
    return stage


def with_stage(r: Release, stage: Stage, due_at: datetime | None) -> Release:
    stages = tuple(stage if s.index == stage.index else s for s in r.stages)
    return replace(r, stages=stages, due_at=due_at)


def start_rollout(r: Release, now: datetime) -> Release:
    return replace(r, state=State.RUNNING, due_at=now)


def advance(r: Release, done: Stage, now: datetime, fact: Fact) -> tuple[Release, list[Fact]]:
    r = with_stage(r, done, due_at=None)
    r = replace(r, current=done.index + 1)
    if r.current >= len(r.stages):
        ended = end(r, State.SUCCEEDED, now, reason="")
        return ended, [
            fact,
            Fact("release.succeeded", f"{r.service} {r.version_to} is live in {r.environment}"),
        ]
    return replace(r, due_at=now if r.state is State.RUNNING else None), [fact]


def fail(r: Release, failed: Stage, now: datetime, reason: str) -> tuple[Release, list[Fact]]:
    r = with_stage(r, failed, due_at=None)
    if r.auto_rollback:
        facts = [
            Fact("release.failed", reason, outcome="failed"),
            Fact("release.auto_rollback", f"Rolling back to {previous_version(r)} automatically"),
        ]
        return begin_rollback(r, now, State.ROLLED_BACK, reason, None), facts
    ended = end(skip_rest(r, now), State.FAILED, now, reason=reason)
    return ended, [
        Fact(
            "release.failed",
            f"{reason}. Auto-rollback is off: roll back or fix forward.",
            outcome="failed",
        )
    ]


def begin_rollback(
    r: Release, now: datetime, target: State, reason: str, by: str | None
) -> Release:
    r = skip_rest(r, now)
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


def skip_rest(r: Release, now: datetime) -> Release:
    """Stages not finished are skipped; a running step is left to the rollback to undo."""
    stages = tuple(
        s if s.finished else replace(s, status=StageStatus.SKIPPED, finished_at=now)
        for s in r.stages
    )
    return replace(r, stages=stages)


def end(r: Release, state: State, now: datetime, *, reason: str, by: str | None = None) -> Release:
    return replace(
        r, state=state, finished_at=now, due_at=None, reason=reason, ended_by=by, paused_by=None
    )


def previous_version(r: Release) -> str:
    return r.version_from or "the previous version"
