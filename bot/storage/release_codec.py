"""Release <-> row. Searchable fields get columns; the whole release also lives in `data`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.catalog import StrategyName
from bot.core.release import Approval, ApprovalTiming, BreakGlass, Release, State
from bot.core.stages import Stage


def lock_key(release: Release) -> str | None:
    if release.exclusive and release.state.active:
        return f"{release.service}/{release.environment}"
    return None


def to_data(release: Release) -> dict[str, Any]:
    return {
        "stages": [stage.to_dict() for stage in release.stages],
        "current": release.current,
        "approvals": [
            {"user_id": a.user_id, "at": a.at.isoformat(), "reason": a.reason}
            for a in release.approvals
        ],
        "approvals_required": release.approvals_required,
        "auto_rollback": release.auto_rollback,
        "analysis_interval_s": release.analysis_interval_s,
        "failure_limit": release.failure_limit,
        "analysis_count": release.analysis_count,
        "flag": release.flag,
        "reason": release.reason,
        "ended_by": release.ended_by,
        "paused_by": release.paused_by,
        "ci_summary": release.ci_summary,
        "rollback_target": release.rollback_target.value if release.rollback_target else None,
        "rollback_operation": release.rollback_operation,
        "rollback_started_at": _iso(release.rollback_started_at),
        "exclusive": release.exclusive,
        "authors": list(release.authors),
        "committed_at": _iso(release.committed_at),
        "break_glass": (
            {"incident": release.break_glass.incident, "reason": release.break_glass.reason}
            if release.break_glass
            else None
        ),
        "auto_approve": release.auto_approve,
        "approval_timing": {
            "expires_after_s": release.approval_timing.expires_after_s,
            "remind_before_s": list(release.approval_timing.remind_before_s),
            "escalate_after_s": release.approval_timing.escalate_after_s,
            "escalate_to": release.approval_timing.escalate_to,
        },
        "approval_requested_at": _iso(release.approval_requested_at),
        "reminders_sent": release.reminders_sent,
        "escalated": release.escalated,
        "scheduled_for": _iso(release.scheduled_for),
        "gates_summary": release.gates_summary,
        "announce": [[channel, list(events)] for channel, events in release.announce],
        "window_noted": release.window_noted,
        "window_paused": release.window_paused,
    }


def row_values(release: Release) -> dict[str, Any]:
    """The row's columns (not `id`, nor the engine's own: claims, attempts, revision)."""
    return {
        "service": release.service,
        "environment": release.environment,
        "strategy": release.strategy.value,
        "state": release.state.value,
        "version_from": release.version_from,
        "version_to": release.version_to,
        "requested_by": release.requested_by,
        "channel": release.channel,
        "message_ts": release.message_ts,
        "lock_key": lock_key(release),
        "data": to_data(release),
        "created_at": release.created_at,
        "updated_at": release.updated_at or release.created_at,
        "finished_at": release.finished_at,
        "due_at": release.due_at,
        "moved_traffic": release.touched_traffic,
        "committed_at": release.committed_at,
    }


def from_row(row: Any) -> Release:
    """From a ReleaseRow, or a result row of the releases table's columns."""
    data = row.data
    target = data.get("rollback_target")
    return Release(
        id=row.id,
        service=row.service,
        environment=row.environment,
        strategy=StrategyName(row.strategy),
        version_to=row.version_to,
        version_from=row.version_from,
        requested_by=row.requested_by,
        channel=row.channel,
        message_ts=row.message_ts,
        stages=tuple(Stage.from_dict(stage) for stage in data["stages"]),
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        due_at=row.due_at,
        state=State(row.state),
        current=data["current"],
        approvals=tuple(
            Approval(a["user_id"], datetime.fromisoformat(a["at"]), a.get("reason", ""))
            for a in data["approvals"]
        ),
        approvals_required=data["approvals_required"],
        auto_rollback=data["auto_rollback"],
        analysis_interval_s=data["analysis_interval_s"],
        failure_limit=data["failure_limit"],
        analysis_count=data.get("analysis_count"),
        flag=data.get("flag"),
        reason=data.get("reason", ""),
        ended_by=data.get("ended_by"),
        paused_by=data.get("paused_by"),
        ci_summary=data.get("ci_summary", ""),
        rollback_target=State(target) if target else None,
        rollback_operation=data.get("rollback_operation"),
        rollback_started_at=_parse(data.get("rollback_started_at")),
        exclusive=data.get("exclusive", True),
        authors=tuple(data.get("authors", ())),
        committed_at=_parse(data.get("committed_at")),
        break_glass=BreakGlass(**data["break_glass"]) if data.get("break_glass") else None,
        auto_approve=data.get("auto_approve", False),
        approval_timing=_timing(data.get("approval_timing")),
        approval_requested_at=_parse(data.get("approval_requested_at")),
        reminders_sent=data.get("reminders_sent", 0),
        escalated=data.get("escalated", False),
        scheduled_for=_parse(data.get("scheduled_for")),
        gates_summary=data.get("gates_summary", ""),
        announce=tuple((c, tuple(events)) for c, events in data.get("announce", ())),
        window_noted=data.get("window_noted", False),
        window_paused=data.get("window_paused", False),
    )


def _timing(data: dict[str, Any] | None) -> ApprovalTiming:
    if not data:
        return ApprovalTiming()
    return ApprovalTiming(
        expires_after_s=data.get("expires_after_s"),
        remind_before_s=tuple(data.get("remind_before_s", ())),
        escalate_after_s=data.get("escalate_after_s"),
        escalate_to=data.get("escalate_to", ""),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
