"""One stage of a release plan: a step that changes traffic, or a bake that watches it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class StageKind(StrEnum):
    STEP = "step"
    BAKE = "bake"


class StageStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Stage:
    index: int
    kind: StageKind
    label: str
    action: str = ""
    percent: int | None = None
    duration_s: int = 0
    analysis: bool = False
    status: StageStatus = StageStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    operation_id: str | None = None
    checks_done: int = 0
    checks_failed: int = 0
    detail: str = ""

    @classmethod
    def step(cls, action: str, label: str, percent: int) -> Stage:
        return cls(index=0, kind=StageKind.STEP, label=label, action=action, percent=percent)

    @classmethod
    def bake(cls, label: str, seconds: int, analysis: bool) -> Stage:
        return cls(
            index=0,
            kind=StageKind.BAKE,
            label=label,
            action="bake",
            duration_s=seconds,
            analysis=analysis,
        )

    def numbered(self, index: int) -> Stage:
        return replace(self, index=index)

    @property
    def finished(self) -> bool:
        return self.status in (StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.SKIPPED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "label": self.label,
            "action": self.action,
            "percent": self.percent,
            "duration_s": self.duration_s,
            "analysis": self.analysis,
            "status": self.status.value,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "operation_id": self.operation_id,
            "checks_done": self.checks_done,
            "checks_failed": self.checks_failed,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stage:
        return cls(
            index=data["index"],
            kind=StageKind(data["kind"]),
            label=data["label"],
            action=data.get("action", ""),
            percent=data.get("percent"),
            duration_s=data.get("duration_s", 0),
            analysis=data.get("analysis", False),
            status=StageStatus(data.get("status", "pending")),
            started_at=_parse(data.get("started_at")),
            finished_at=_parse(data.get("finished_at")),
            operation_id=data.get("operation_id"),
            checks_done=data.get("checks_done", 0),
            checks_failed=data.get("checks_failed", 0),
            detail=data.get("detail", ""),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
