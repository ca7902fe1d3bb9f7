"""Repositories over one AsyncSession: releases, the audit chain, the outbox, the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import GENESIS_HASH, AuditEvent, AuditRecord, keepable, seal
from bot.core.dora import DoraTotals
from bot.core.ports import Clock, ConcurrentUpdate, LockHeld, Outbound
from bot.core.release import ACTIVE_STATES, Release, State
from bot.storage import dora_queries, release_codec
from bot.storage.tables import AuditHeadRow, AuditRow, InboxRow, OutboxRow, ReleaseRow

# Core tables: rows as tuples, and statements without the ORM's bookkeeping (no objects here
# are built or tracked).
_RELEASES = ReleaseRow.__table__
_AUDIT = AuditRow.__table__
_HEAD = AuditHeadRow.__table__
_OUTBOX = OutboxRow.__table__


class SqlReleases:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._revisions: dict[int, int] = {}

    async def add(self, release: Release) -> Release:
        values = {**release_codec.row_values(release), "attempts": 0, "revision": 0}
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
        query = select(_RELEASES).where(ReleaseRow.id == release_id)
        if for_update:
            query = query.with_for_update()
        return self._track((await self._session.execute(query)).first())

    async def get_many(self, release_ids: Sequence[int]) -> dict[int, Release]:
        if not release_ids:
            return {}
        rows = await self._session.execute(select(_RELEASES).where(ReleaseRow.id.in_(release_ids)))
        return {release.id: release for row in rows if (release := self._track(row)) and release.id}

    async def save(self, release: Release) -> None:
        assert release.id is not None
        revision = self._revisions.get(release.id)
        if revision is None:
            raise ConcurrentUpdate(f"release {release.ref} was saved without being read first")
        values = release_codec.row_values(release)
        # The status message's ts: the outbox stores it once posted; a use case that read the
        # release before that must not write it back empty.
        values.pop("message_ts")
        try:
            async with self._session.begin_nested():
                result = await self._session.execute(
                    update(_RELEASES)
                    .where(_RELEASES.c.id == release.id, _RELEASES.c.revision == revision)
                    .values(**values, revision=revision + 1)
                )
        except IntegrityError as exc:
            raise LockHeld(f"{release.service}/{release.environment}") from exc
        if result.rowcount != 1:
            raise ConcurrentUpdate(f"release {release.ref} changed while it was being updated")
        self._revisions[release.id] = revision + 1

    async def active_for(self, service: str, environment: str) -> Release | None:
        query = (
            select(_RELEASES)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.state.in_([s.value for s in ACTIVE_STATES]),
            )
            .order_by(ReleaseRow.id.desc())
            .limit(1)
        )
        return self._track((await self._session.execute(query)).first())

    async def latest_for(self, service: str, environment: str) -> Release | None:
        query = (
            select(_RELEASES)
            .where(
                ReleaseRow.service == service,
                ReleaseRow.environment == environment,
                ReleaseRow.state != State.REJECTED.value,
            )
            .order_by(ReleaseRow.id.desc())
            .limit(1)
        )
        return self._track((await self._session.execute(query)).first())

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
            select(_RELEASES)
            .where(ReleaseRow.service == service, ReleaseRow.environment == environment)
            .order_by(ReleaseRow.id.desc())
            .limit(50)
        )
        for row in await self._session.execute(query):
            release = release_codec.from_row(row)
            if release.touched_traffic:
                return self._track(row)
        return None

    async def active(self) -> Sequence[Release]:
        query = (
            select(_RELEASES)
            .where(ReleaseRow.state.in_([s.value for s in ACTIVE_STATES]))
            .order_by(ReleaseRow.id)
        )
        return [self._track(row) for row in (await self._session.execute(query))]

    async def history(
        self, service: str | None, environment: str | None, limit: int
    ) -> Sequence[Release]:
        query = select(_RELEASES).order_by(ReleaseRow.id.desc()).limit(limit)
        if service:
            query = query.where(ReleaseRow.service == service)
        if environment:
            query = query.where(ReleaseRow.environment == environment)
        return [self._track(row) for row in (await self._session.execute(query))]

    async def finished_in(
        self, environments: Sequence[str], since: datetime, service: str | None
    ) -> Sequence[Release]:
        query = (
            select(_RELEASES)
            .where(ReleaseRow.environment.in_(list(environments)), ReleaseRow.finished_at >= since)
            .order_by(ReleaseRow.id)
        )
        if service:
            query = query.where(ReleaseRow.service == service)
        return [self._track(row) for row in (await self._session.execute(query))]

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

    def _track(self, row: Any) -> Release | None:
        if row is None:
            return None
        assert row.id is not None
        self._revisions[row.id] = row.revision
        return release_codec.from_row(row)


class SqlAuditLog:
    """Events appended in a transaction are chained and written together when it commits:
    the head row is locked only for that moment, and one INSERT carries them all."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._pending: list[tuple[str, AuditEvent]] = []

    async def append(self, event: AuditEvent) -> None:
        self._pending.append((str(uuid.uuid4()), keepable(event)))

    async def write(self) -> None:
        """Chain and insert what was appended (the unit of work calls it before commit)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        # Bumping the head row locks it until commit, so concurrent writers queue up and each
        # sees the previous commit's hash (PostgreSQL re-reads the row after the wait).
        head = (
            await self._session.execute(
                update(_HEAD)
                .where(_HEAD.c.id == 1)
                .values(seq=_HEAD.c.seq + len(pending))
                .returning(_HEAD.c.seq, _HEAD.c.hash)
            )
        ).one_or_none()
        if head is None:
            raise RuntimeError("audit_head is missing: run `releasebot migrate`")
        last: tuple[int, str] = (head[0] - len(pending), head[1])
        rows = []
        for event_id, event in pending:
            record = seal(last, event_id, event)
            rows.append(audit_row(record))
            last = (record.seq, record.hash)
        await self._session.execute(insert(_AUDIT), rows)
        await self._session.execute(update(_HEAD).where(_HEAD.c.id == 1).values(hash=last[1]))


def audit_row(record: AuditRecord) -> dict:
    """The audit_events row of a record: its export form, with the time and approvers as
    the table keeps them."""
    e = record.event
    return {**record.as_row(), "at": e.at, "approvers": " ".join(e.approvers)}


class SqlOutbox:
    """Messages owed, written when the transaction commits: one INSERT for all of them, and a
    release's newer status row makes its older untried ones pointless (see `_supersede`)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self._pending: list[dict] = []
        self.enqueued = 0

    async def enqueue(self, message: Outbound) -> None:
        now = self._clock.now()
        self._pending.append(
            {
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
        )
        self.enqueued += 1

    async def write(self) -> None:
        """Insert what was enqueued (the unit of work calls it before commit)."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        latest_status = {
            row["release_id"]: index
            for index, row in enumerate(pending)
            if row["kind"] == "status" and row["release_id"] is not None
        }
        if latest_status:
            await self._supersede(sorted(latest_status), pending[0]["created_at"])
        rows = [
            row
            for index, row in enumerate(pending)
            if row["kind"] != "status" or latest_status.get(row["release_id"], index) == index
        ]
        dialect = self._session.get_bind().dialect.name
        statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_OUTBOX)
        await self._session.execute(statement.on_conflict_do_nothing(index_elements=["key"]), rows)

    async def _supersede(self, release_ids: list[int], now: datetime) -> None:
        """A new status row makes older ones that were never tried pointless: the message shows
        the release as it is when sent. A row tried already stays, and goes first: its post
        may have reached Slack, and only it looks that up."""
        await self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.kind == "status",
                OutboxRow.release_id.in_(release_ids),
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
        return item_id in await self.take_all([item_id])

    async def take_all(self, item_ids: Sequence[int]) -> set[int]:
        # The rows stay locked until this transaction ends: a replica handling the same rows
        # waits here, then finds them done.
        result = await self._session.execute(
            update(InboxRow)
            .where(InboxRow.id.in_(item_ids), InboxRow.done_at.is_(None))
            .values(done_at=self._clock.now(), due_at=None, claimed_by=None, lease_until=None)
            .returning(InboxRow.id)
            .execution_options(synchronize_session=False)
        )
        return set(result.scalars())


async def audit_head(session: AsyncSession) -> tuple[int, str]:
    row = (await session.execute(select(AuditHeadRow.seq, AuditHeadRow.hash))).one_or_none()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


async def count_rows(session: AsyncSession, table: type) -> int:
    return (await session.execute(select(func.count()).select_from(table))).scalar_one()
