"""The audit trail's read side: one release's records, the exports people ask for, and the
integrity checks the running bot makes. bot/storage implements them (the write side is
AuditLog, in the unit of work)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.core.audit import AuditRecord
from bot.core.audit_manifest import ChainPoint, Checkpoint


@dataclass(frozen=True)
class AuditFiles:
    """An audit export and its manifest, written to a temporary directory."""

    export: Path
    manifest: Path
    count: int
    signed: bool


class AuditEvents(Protocol):
    async def for_release(self, release_id: int) -> list[AuditRecord]:
        """Every audit record of one release, in sequence order."""

    async def names(self, user_ids: Collection[str]) -> dict[str, str]:
        """The name each of these people last acted under (those never seen are left out)."""


class AuditIntegrity(Protocol):
    """What the running bot checks its audit trail with."""

    async def missing_triggers(self) -> list[str]:
        """The append-only triggers that are missing or disabled, by name."""

    async def last_checkpoint(self) -> Checkpoint | None: ...

    async def hash_at(self, seq: int) -> str | None: ...

    async def head(self) -> ChainPoint: ...

    def rows_after(self, seq: int) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The chain's stored rows after `seq`, in order, in batches (bot.core.audit.RAW)."""


class AuditExporter(Protocol):
    async def export(self, filters: dict[str, Any], fmt: str, directory: Path) -> AuditFiles:
        """`filters`: since, until (ISO times), service, environment, actor, action."""
