"""The rollout: stages started, polled, analysed, baked and finished; promote, pause, resume."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.release.actions import starting
from bot.core.release.events import (
    AnalysisChecked,
    BakeElapsed,
    Pause,
    Promote,
    Resume,
    StageFailed,
    StageProgress,
    StageStarted,
    StageStarting,
    StageSucceeded,
)
from bot.core.release.facts import Fact
from bot.core.release.model import InvalidTransition, Release, State
from bot.core.release.moves import advance, expect_stage, fail, require, with_stage
from bot.core.stages import Stage, StageKind, StageStatus


def _stage_starting(r: Release, e: StageStarting, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.PENDING, {State.RUNNING})
    if stage.kind is not StageKind.STEP:
        raise InvalidTransition(f"Stage {stage.label} of release {r.ref} is not a step; ignored.")
    starting = replace(stage, status=StageStatus.RUNNING, started_at=now, operation_id=None)
    return with_stage(r, starting, due_at=now + timedelta(seconds=e.retry_in_s)), []


def _stage_started(r: Release, e: StageStarted, now: datetime) -> tuple[Release, list[Fact]]:
    current = r.current_stage
    if current is not None and current.index == e.index and starting(current):
        stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    else:
        stage = expect_stage(r, e.index, StageStatus.PENDING, {State.RUNNING})
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
    return with_stage(r, started, due_at=due), [
        Fact(
            "stage.started",
            summary,
            details={"stage": stage.label, "index": stage.index},
            notify=False,
        )
    ]


def _stage_progress(r: Release, e: StageProgress, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    return with_stage(r, replace(stage, detail=e.detail), now + timedelta(seconds=e.poll_in_s)), []


def _stage_succeeded(r: Release, e: StageSucceeded, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    done = replace(stage, status=StageStatus.SUCCEEDED, finished_at=now, detail=e.detail)
    summary = step_sentence(r, stage) + (f": {e.detail}" if e.detail else "")
    return advance(r, done, now, Fact("stage.succeeded", summary, details={"stage": stage.label}))


def _stage_failed(r: Release, e: StageFailed, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING, State.PAUSED})
    failed = replace(stage, status=StageStatus.FAILED, finished_at=now, detail=e.reason)
    return fail(r, failed, now, f"{stage.label} failed: {e.reason}")


def _analysis_checked(r: Release, e: AnalysisChecked, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING})
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
        r2, facts = fail(
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
        return advance(r, done, now, fact)
    due = now + timedelta(seconds=max(1, r.analysis_interval_s))
    return with_stage(r, checked, due_at=due), [fact]


def _bake_elapsed(r: Release, e: BakeElapsed, now: datetime) -> tuple[Release, list[Fact]]:
    stage = expect_stage(r, e.index, StageStatus.RUNNING, {State.RUNNING})
    if stage.kind is not StageKind.BAKE:
        raise InvalidTransition(
            f"Stage {stage.label} of release {r.ref} is not a bake stage; ignored."
        )
    if not _bake_over(stage, now):
        ends = (stage.started_at or now) + timedelta(seconds=stage.duration_s)
        return with_stage(r, stage, due_at=ends), []
    done = replace(stage, status=StageStatus.SUCCEEDED, finished_at=now)
    return advance(r, done, now, Fact("stage.succeeded", f"{stage.label} done", notify=False))


def _promote(r: Release, e: Promote, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.RUNNING, State.PAUSED}, "promote it")
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
        return advance(r, skipped, now, fact)
    return replace(r, state=State.RUNNING, paused_by=None, due_at=now), [fact]


def _pause(r: Release, e: Pause, now: datetime) -> tuple[Release, list[Fact]]:
    if r.state is State.PAUSED and r.window_paused:
        raise InvalidTransition(f"Release {r.ref} is already paused until its deploy window opens.")
    if r.state is State.PAUSED:
        raise InvalidTransition(f"Release {r.ref} is already paused by <@{r.paused_by}>.")
    require(r, {State.RUNNING}, "pause it")
    stage = r.current_stage
    polling = (
        stage is not None and stage.kind is StageKind.STEP and stage.status is StageStatus.RUNNING
    )
    paused = replace(
        r, state=State.PAUSED, paused_by=e.user_id, due_at=r.due_at if polling else None
    )
    return paused, [Fact("release.paused", f"Paused by <@{e.user_id}>", actor=e.user_id)]


def _resume(r: Release, e: Resume, now: datetime) -> tuple[Release, list[Fact]]:
    require(r, {State.PAUSED}, "resume it")
    resumed = replace(
        r,
        state=State.RUNNING,
        paused_by=None,
        window_paused=False,  # a person may resume outside a window: their call
        due_at=min(r.due_at or now, now),
    )
    return resumed, [Fact("release.resumed", f"Resumed by <@{e.user_id}>", actor=e.user_id)]


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


def _label_before(r: Release, stage: Stage) -> str:
    earlier = [s for s in r.stages[: stage.index] if s.kind is StageKind.STEP]
    return earlier[-1].label if earlier else stage.label


HANDLERS: dict[type, Any] = {
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
}
