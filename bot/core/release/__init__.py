"""A release and its state machine.

`transition(release, event, now)` is the only way a release changes (`machine.py`).
`next_action(release, now)` tells the engine what the release is waiting for (`actions.py`).
"""

from bot.core.release.actions import Action, next_action
from bot.core.release.approvals import REJECT_REASON_MIN, approval_due, reject_reason_problem
from bot.core.release.events import (
    ACTOR_EVENTS,
    Abort,
    AnalysisChecked,
    ApprovalTimer,
    Approve,
    BakeElapsed,
    CiChecked,
    Event,
    Pause,
    Promote,
    Reject,
    Resume,
    Rollback,
    RollbackFailed,
    RollbackProgress,
    RollbackStarted,
    RollbackSucceeded,
    StageFailed,
    StageProgress,
    StageStarted,
    StageStarting,
    StageSucceeded,
    StartRefused,
    VersionsResolved,
)
from bot.core.release.facts import Fact
from bot.core.release.machine import transition
from bot.core.release.model import (
    ACTIVE_STATES,
    CI_RED,
    GATED_STATES,
    Approval,
    ApprovalTiming,
    BreakGlass,
    InvalidTransition,
    Release,
    State,
)
from bot.core.release.rollout import step_sentence

__all__ = [
    "ACTIVE_STATES",
    "ACTOR_EVENTS",
    "CI_RED",
    "GATED_STATES",
    "REJECT_REASON_MIN",
    "Abort",
    "Action",
    "AnalysisChecked",
    "Approval",
    "ApprovalTimer",
    "ApprovalTiming",
    "Approve",
    "BakeElapsed",
    "BreakGlass",
    "CiChecked",
    "Event",
    "Fact",
    "InvalidTransition",
    "Pause",
    "Promote",
    "Reject",
    "Release",
    "Resume",
    "Rollback",
    "RollbackFailed",
    "RollbackProgress",
    "RollbackStarted",
    "RollbackSucceeded",
    "StageFailed",
    "StageProgress",
    "StageStarted",
    "StageStarting",
    "StageSucceeded",
    "StartRefused",
    "State",
    "VersionsResolved",
    "approval_due",
    "next_action",
    "reject_reason_problem",
    "step_sentence",
    "transition",
]
