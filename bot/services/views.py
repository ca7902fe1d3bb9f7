"""Plain, JSON-ready snapshots of releases for replies stored in the outbox and for pages."""

from __future__ import annotations

from typing import Any

from bot.core.release import Release
from bot.core.stages import StageKind


def release_summary(release: Release) -> dict[str, Any]:
    return {
        "id": release.id,
        "ref": release.ref,
        "service": release.service,
        "environment": release.environment,
        "strategy": release.strategy.value,
        "flag": release.flag,
        "state": release.state.value,
        "state_label": release.state.label,
        "version_from": release.version_from,
        "version_to": release.version_to,
        "requested_by": release.requested_by,
        "approved_by": list(release.approved_by),
        "approvals_required": release.approvals_required,
        "created_at": release.created_at.isoformat(),
        "finished_at": release.finished_at.isoformat() if release.finished_at else None,
        "scheduled_for": release.scheduled_for.isoformat() if release.scheduled_for else None,
        "reason": release.reason,
        "ended_by": release.ended_by,
        "channel": release.channel,
        "message_ts": release.message_ts,
        "steps": [
            {"label": stage.label, "status": stage.status.value}
            for stage in release.stages
            if stage.kind is StageKind.STEP
        ],
        "current_stage": release.current_stage.label if release.current_stage else None,
    }
