"""Repositories over one AsyncSession: releases, the audit chain, the outbox, the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import GENESIS_HASH, AuditEvent, AuditRecord, seal
from bot.core.dora import DoraTotals
from bot.core.ports import Clock, ConcurrentUpdate, LockHeld, Outbound
from bot.core.release import ACTIVE_STATES, Release, State
from bot.storage import dora_queries, release_codec
from bot.storage.tables import AuditHeadRow, AuditRow, InboxRow, OutboxRow, ReleaseRow


class SqlReleases:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._revisions: dict[int, int] = {}

    async def add(self, release: Release) -> Release:
        values = release_codec.fill_row(ReleaseRow(), release).model_dump(exclude={"id"})
        try:
            async with self._session.begin_nested():
                new_id = (
                    await self._session.execute(
                        insert(ReleaseRow).values(**values).returning(ReleaseRow.id)
                    )
                ).scalar_one()
        except IntegrityError as exc:
            raise LockHeld(f"{release.service}/{release.environment}") from exc
        self._revisions[new_id] = values["revision"]
        return replace(release, id=new_id)

    async def get(self, release_id: int, *, for_update: bool = False) -> Release | None:
        query = select(ReleaseRow).where(ReleaseRow.id == release_id)
        if for_update:
            query = query.with_for_update()
        row = (
            await self._session.execute(query.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return self._track(row)

    async def save(self, release: Release) -> None:
        assert release.id is not None
        revision = self._revisions.get(release.id)
        if revision is None:
            raise ConcurrentUpdate(f"release {release.ref} was saved without being read first")
        values = release_codec.fill_row(ReleaseRow(), release).model_dump(
            exclude={"id", "revision"}
        )
        # The engine's own columns, and the status message's ts (the outbox stores it once
        # posted; a use case that read the release before that must not write it back empty).
        for unset in ("claimed_by", "lease_until", "attempts", "message_ts"):
            values.pop(unset, None)
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    update(ReleaseRow)
                    .where(ReleaseRow.id == release.id, ReleaseRow.revision == revision)
                    .values(**values, revision=revision + 1)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError as exc:
            raise LockHeld(f"{release.service}/{release.environment}") from exc
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"release {release.ref} changed while it was being updated")
        self._revisions[release.id] = revision + 1

    async def active_for(self, service: str, environment: str) -> Release | None:
        query = (
            select(ReleaseRow)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.state.in_([s.value for s in ACTIVE_STATES]),
            )
            .order_by(ReleaseRow.id.desc())
            .limit(1)
        )
        return self._track((await self._session.execute(query)).scalar_one_or_none())

    async def latest_for(self, service: str, environment: str) -> Release | None:
        query = (
            select(ReleaseRow)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.state != State.REJECTED.value,
            )
            .order_by(ReleaseRow.id.desc())
            .limit(1)
        )
        return self._track((await self._session.execute(query)).scalar_one_or_none())

    async def has_succeeded(self, service: str, environment: str, version: str) -> bool:
        query = (
            select(ReleaseRow.id)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.version_to == version,
                ReleaseRow.state == State.SUCCEEDED.value,
            )
            .limit(1)
        )
        return (await self._session.execute(query)).first() is not None

    async def deployed_for(self, service: str, environment: str) -> Release | None:
        query = (
            select(ReleaseRow)
            .where(ReleaseRow.service == service, ReleaseRow.environment == environment)
            .order_by(ReleaseRow.id.desc())
            .limit(50)
        )
        for row in (await self._session.execute(query)).scalars():
            release = release_codec.from_row(row)
            if release.touched_traffic:
                return self._track(row)
        return None

    async def active(self) -> Sequence[Release]:
        query = (
            select(ReleaseRow)
            .where(ReleaseRow.state.in_([s.value for s in ACTIVE_STATES]))
            .order_by(ReleaseRow.id)
        )
        return [self._track(row) for row in (await self._session.execute(query)).scalars()]

    async def history(
        self, service: str | None, environment: str | None, limit: int
    ) -> Sequence[Release]:
        query = select(ReleaseRow).order_by(ReleaseRow.id.desc()).limit(limit)
        if service:
            query = query.where(ReleaseRow.service == service)
        if environment:
            query = query.where(ReleaseRow.environment == environment)
        return [self._track(row) for row in (await self._session.execute(query)).scalars()]

    async def finished_in(
        self, environments: Sequence[str], since: datetime, service: str | None
    ) -> Sequence[Release]:
        query = (
            select(ReleaseRow)
            .where(ReleaseRow.environment.in_(list(environments)), ReleaseRow.finished_at >= since)
            .order_by(ReleaseRow.id)
        )
        if service:
            query = query.where(ReleaseRow.service == service)
        return [self._track(row) for row in (await self._session.execute(query)).scalars()]

    async def dora_totals(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> DoraTotals:
        return await dora_queries.totals(self._session, environments, since, until, service)

    async def dora_weeks(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> list[dict]:
        return await dora_queries.weeks(self._session, environments, since, until, service)

    async def last_good_version(self, service: str, environment: str) -> str | None:
        query = (
            select(ReleaseRow.version_to)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.state == State.SUCCEEDED.value,
            )
            .order_by(ReleaseRow.finished_at.desc(), ReleaseRow.id.desc())
            .limit(1)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    def _track(self, row: ReleaseRow | None) -> Release | None:
        if row is None:
            return None
        assert row.id is not None
        self._revisions[row.id] = row.revision
        return release_codec.from_row(row)


class SqlAuditLog:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, event: AuditEvent) -> AuditRecord:
        # Bumping the head row locks it until commit, so concurrent appends queue up and each
        # sees the previous commit's hash (PostgreSQL re-reads the row after the wait).
        head = (
            await self._session.execute(
                update(AuditHeadRow)
                .where(AuditHeadRow.id == 1)
                .values(seq=AuditHeadRow.seq + 1)
                .returning(AuditHeadRow.seq, AuditHeadRow.hash)
            )
        ).one_or_none()
        if head is None:
            raise RuntimeError("audit_head is missing: run `releasebot migrate`")
        seq, prev_hash = head
        record = seal((seq - 1, prev_hash), str(uuid.uuid4()), event)
        await self._session.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == 1).values(hash=record.hash)
        )
        e = record.event
        self._session.add(
            AuditRow(
                seq=record.seq,
                event_id=record.event_id,
                at=e.at,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                action=e.action,
                outcome=e.outcome,
                service=e.service,
                environment=e.environment,
                release_id=e.release_id,
                version_from=e.version_from,
                version_to=e.version_to,
                rule=e.rule,
                reason=e.reason,
                details=e.details,
                approvers=" ".join(e.approvers),
                prev_hash=record.prev_hash,
                hash=record.hash,
            )
        )
        await self._session.flush()
        return record


class SqlOutbox:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self.enqueued = 0

    async def enqueue(self, message: Outbound) -> None:
        now = self._clock.now()
        values = {
            "key": message.key,
            "kind": message.kind,
            "release_id": message.release_id,
            "channel": message.channel,
            "user_id": message.user,
            "response_url": message.response_url,
            "replace_original": message.replace_original,
            "template": message.template,
            "context": message.context,
            "created_at": now,
            "due_at": now,
            "attempts": 0,
        }
        if message.kind == "status" and message.release_id is not None:
            await self._supersede_status(message.release_id, now)
        await self._session.execute(
            insert_ignoring_duplicates(self._session, OutboxRow, values, "key")
        )
        self.enqueued += 1

    async def _supersede_status(self, release_id: int, now: datetime) -> None:
        """A new status row makes older ones that were never tried pointless: the message shows
        the release as it is when sent. A row tried already stays, and goes first: its post
        may have reached Slack, and only it looks that up."""
        await self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.kind == "status",
                OutboxRow.release_id == release_id,
                OutboxRow.sent_at.is_(None),
                OutboxRow.due_at.is_not(None),
                OutboxRow.claimed_by.is_(None),
                OutboxRow.attempts == 0,
            )
            .values(sent_at=now, due_at=None, last_error="superseded")
            .execution_options(synchronize_session=False)
        )


class SqlInboxLog:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def take(self, item_id: int) -> bool:
        # The row stays locked until this transaction ends: a replica handling the same row
        # waits here, then finds it done.
        result = await self._session.execute(
            update(InboxRow)
            .where(InboxRow.id == item_id, InboxRow.done_at.is_(None))
            .values(done_at=self._clock.now(), due_at=None, claimed_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def insert_ignoring_duplicates(session: AsyncSession, table: type, values: dict, key: str):
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[key])


async def audit_head(session: AsyncSession) -> tuple[int, str]:
    row = (await session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash))).one_or_none()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


async def count_rows(session: AsyncSession, table: type) -> int:
    return (await session.execute(select(func.count()).select_from(table))).scalar_one()
