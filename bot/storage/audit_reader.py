"""Streams audit records in sequence order, in batches, so exports run in flat memory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit import AuditEvent, AuditRecord
from bot.storage.tables import AuditRow


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    environment: str | None = None
    actor: str | None = None  # a Slack user ID
    action: str | None = None  # exact, or a prefix ending in "." or "*": "release.*"

    @property
    def empty(self) -> bool:
        return not (
            self.since
            or self.until
            or self.service
            or self.environment
            or self.actor
            or self.action
        )


async def iter_records(
    engine: AsyncEngine, where: AuditFilter = AuditFilter(), batch: int = 2000
) -> AsyncIterator[AuditRecord]:
    last = 0
    while True:
        query = select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
        if where.since:
            query = query.where(AuditRow.at >= where.since)
        if where.until:
            query = query.where(AuditRow.at < where.until)
        if where.service:
            query = query.where(AuditRow.service == where.service)
        if where.environment:
            query = query.where(AuditRow.environment == where.environment)
        if where.actor:
            query = query.where(AuditRow.actor_id == where.actor)
        if where.action:
            prefix = where.action.rstrip("*")
            query = query.where(
                AuditRow.action.startswith(prefix, autoescape=True)
                if where.action.endswith(("*", "."))
                else AuditRow.action == where.action
            )
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        if not rows:
            return
        for row in rows:
            yield to_record(row)
        last = rows[-1].seq


def to_record(row) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        event_id=row.event_id,
        event=AuditEvent(
            at=row.at,
            actor_id=row.actor_id,
            actor_name=row.actor_name,
            action=row.action,
            outcome=row.outcome,
            service=row.service,
            environment=row.environment,
            release_id=row.release_id,
            version_from=row.version_from,
            version_to=row.version_to,
            rule=row.rule,
            reason=row.reason,
            details=row.details,
            approvers=tuple(row.approvers.split()),
        ),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditEvents:
    """The AuditEvents port: one release's records, for its timeline."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_release(self, release_id: int) -> list[AuditRecord]:
        query = select(AuditRow).where(AuditRow.release_id == release_id).order_by(AuditRow.seq)
        async with self._engine.connect() as connection:
            return [to_record(row) for row in (await connection.execute(query)).all()]
