"""Undoing a release: abort, rollback, and the rollback operation's progress."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.release.events import (
    Abort,
    Rollback,
    RollbackFailed,
    RollbackProgress,
    RollbackStarted,
    RollbackSucceeded,
)
from bot.core.release.facts import Fact
from bot.core.release.model import ACTIVE_STATES, InvalidTransition, Release, State
from bot.core.release.moves import begin_rollback, end, previous_version, require, skip_rest


def _abort(r: Release, e: Abort, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, ACTIVE_STATES - {State.ROLLING_BACK}, "abort it")
    reason = e.reason  # who did it is ended_by; the reason is only what they said
    fact = Fact(
        "release.aborted",
        f"Aborted by <@{e.user_id}>" + (f": {e.reason}" if e.reason else ""),
        actor=e.user_id,
    )
    if not r.touched_traffic:
        return end(skip_rest(r, now), State.ABORTED, now, reason=reason, by=e.user_id), [fact]
    return begin_rollback(r, now, State.ABORTED, reason, e.user_id), [fact]


def _rollback(r: Release, e: Rollback, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is State.ROLLING_BACK:
        raise InvalidTransition(f"Release {r.ref} is already rolling back.")
    require(
        r,
        {*ACTIVE_STATES, State.SUCCEEDED, State.FAILED},
        "roll it back",
    )
    reason = e.reason
    undo = f"Switching flag {r.flag} off" if r.flag else f"Rollback to {previous_version(r)}"
    fact = Fact(
        "release.rollback_requested",
        f"{undo} requested by <@{e.user_id}>" + (f": {e.reason}" if e.reason else ""),
        actor=e.user_id,
    )
    if not r.touched_traffic:
        ended = end(skip_rest(r, now), State.ABORTED, now, reason=reason, by=e.user_id)
        return ended, [fact]
    return begin_rollback(r, now, State.ROLLED_BACK, reason, e.user_id), [fact]


def _rollback_started(r: Release, e: RollbackStarted, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.ROLLING_BACK}, "start a rollback")
    if r.rollback_operation:
        return r, []
    started = replace(
        r, rollback_operation=e.operation_id, due_at=now + timedelta(seconds=e.poll_in_s)
    )
    return started, [
        Fact("rollback.started", f"Rolling back to {previous_version(r)}", notify=False)
    ]


def _rollback_progress(
    r: Release, e: RollbackProgress, now: datetime
) -> tuple[Release, list[Fact]]:
    require(r, {State.ROLLING_BACK}, "track a rollback")
    return replace(r, due_at=now + timedelta(seconds=e.poll_in_s)), []


def _rollback_succeeded(
    r: Release, e: RollbackSucceeded, now: datetime
) -> tuple[Release, list[Fact]]:
    require(r, {State.ROLLING_BACK}, "finish a rollback")
    target = r.rollback_target or State.ROLLED_BACK
    ended = end(r, target, now, reason=r.reason, by=r.ended_by)
    if target is State.ROLLED_BACK:
        kind, word = "release.rolled_back", "Rolled back"
    else:
        kind, word = "release.abort_reverted", "Aborted and reverted"
    summary = (
        f"{word}: flag {r.flag} is off for {r.service} in {r.environment}"
        if r.flag
        else f"{word}: {r.service} in {r.environment} is on {previous_version(r)} again"
    )
    return ended, [Fact(kind, summary, details={"detail": e.detail})]


def _rollback_failed(r: Release, e: RollbackFailed, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.ROLLING_BACK}, "fail a rollback")
    ended = end(r, State.FAILED, now, reason=f"rollback failed: {e.reason}", by=r.ended_by)
    return ended, [
        Fact(
            "rollback.failed",
            f"Rollback failed: {e.reason}. Roll back again or fix by hand.",
            outcome="failed",
        )
    ]


HANDLERS: dict[type, Any] = {
    Abort: _abort,
    Rollback: _rollback,
    RollbackStarted: _rollback_started,
    RollbackProgress: _rollback_progress,
    RollbackSucceeded: _rollback_succeeded,
    RollbackFailed: _rollback_failed,
}
