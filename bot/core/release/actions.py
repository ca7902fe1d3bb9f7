"""Engine actions: what a due release is waiting for."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.core.release.model import Release, State
from bot.core.stages import Stage, StageKind, StageStatus


class Action(StrEnum):
    START_SCHEDULED = "start_scheduled"
    WINDOW_OPENED = "window_opened"
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
        case State.SCHEDULED:
            return Action.START_SCHEDULED
        case State.AWAITING_CI:
            return Action.CHECK_CI
        case State.AWAITING_APPROVAL:
            return Action.APPROVAL_TIMER
        case State.RUNNING if stage is not None:
            if stage.status is StageStatus.PENDING or starting(stage):
                return Action.START_STAGE
            if stage.kind is StageKind.STEP:
                return Action.POLL_STAGE
            return Action.ANALYZE if stage.analysis else Action.FINISH_BAKE
        case State.PAUSED if release.window_paused:
            return Action.WINDOW_OPENED
        case State.PAUSED if stage is not None:
            if starting(stage):
                return Action.START_STAGE
            if stage.kind is StageKind.STEP and stage.status is StageStatus.RUNNING:
                return Action.POLL_STAGE
        case State.ROLLING_BACK:
            return Action.POLL_ROLLBACK if release.rollback_operation else Action.START_ROLLBACK
    return None


def starting(stage: Stage) -> bool:
    """A step whose start was recorded but whose backend operation is not known yet."""
    return (
        stage.kind is StageKind.STEP
        and stage.status is StageStatus.RUNNING
        and stage.operation_id is None
    )
