"""Due work as database rows: release timers and outbox messages, claimed with a lease.

PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so replicas
never claim the same row. SQLite: the same statement without the lock clause, under BEGIN
IMMEDIATE (one writer). A claim is finished only `WHERE claimed_by = me`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ports import Claim, Clock, OutboxItem
from bot.storage.tables import OutboxRow, ReleaseRow


class _Claims:
    table: Any

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        owner: str,
        lease_s: int = 60,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.owner = owner
        self._lease = timedelta(seconds=lease_s)

    def _due(self, now: datetime) -> Any:
        t = self.table
        return and_(
            t.due_at.is_not(None),
            t.due_at <= now,
            or_(t.claimed_by.is_(None), t.lease_until < now),
        )

    async def _claim(self, now: datetime, limit: int, extra: Any = None) -> list[Claim]:
        t = self.table
        key = t.id
        condition = self._due(now) if extra is None else and_(self._due(now), extra)
        async with self._sessions() as session, session.begin():
            pick = select(key).where(condition).order_by(t.due_at, key).limit(limit)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = await session.execute(
                update(t)
                .where(key.in_(pick.scalar_subquery()))
                .values(
                    claimed_by=self.owner, lease_until=now + self._lease, attempts=t.attempts + 1
                )
                .returning(key, t.attempts, t.due_at)
                .execution_options(synchronize_session=False)
            )
            return sorted((Claim(row[0], row[1], row[2]) for row in rows), key=lambda c: c.id)

    async def _finish(self, session: AsyncSession, row_id: int, **values: Any) -> bool:
        t = self.table
        result = await session.execute(
            update(t)
            .where(t.id == row_id, t.claimed_by == self.owner)
            .values(claimed_by=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


class ReleaseClaims(_Claims):
    table = ReleaseRow

    async def claim_due(self, limit: int = 20) -> list[Claim]:
        return await self._claim(self._clock.now(), limit)

    async def done(self, release_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await self._finish(session, release_id, attempts=0)

    async def retry_at(self, claim: Claim, due_at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            unchanged = (
                ReleaseRow.due_at == claim.due_at if claim.due_at else ReleaseRow.due_at.is_(None)
            )
            moved = await session.execute(
                update(ReleaseRow)
                .where(ReleaseRow.id == claim.id, ReleaseRow.claimed_by == self.owner, unchanged)
                .values(claimed_by=None, lease_until=None, due_at=due_at)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:
                await self._finish(session, claim.id, attempts=0)


class OutboxClaims(_Claims):
    table = OutboxRow

    async def claim_due(self, limit: int = 50) -> list[OutboxItem]:
        claims = await self._claim(self._clock.now(), limit, OutboxRow.sent_at.is_(None))
        if not claims:
            return []
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxRow)
                    .where(OutboxRow.id.in_([c.id for c in claims]))
                    .order_by(OutboxRow.id)
                )
            ).scalars()
            return [
                OutboxItem(
                    id=r.id,
                    key=r.key,
                    kind=r.kind,
                    release_id=r.release_id,
                    channel=r.channel,
                    user_id=r.user_id,
                    response_url=r.response_url,
                    replace_original=r.replace_original,
                    template=r.template,
                    context=r.context,
                    attempts=r.attempts,
                )
                for r in rows
            ]

    async def sent(self, item: OutboxItem, message_ts: str | None = None) -> None:
        """Marks the row sent; older pending status rows of the release are superseded."""
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            await self._finish(session, item.id, sent_at=now, message_ts=message_ts, due_at=None)
            if item.kind == "status" and item.release_id is not None:
                await session.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.kind == "status",
                        OutboxRow.release_id == item.release_id,
                        OutboxRow.id < item.id,
                        OutboxRow.sent_at.is_(None),
                        OutboxRow.due_at.is_not(None),  # given-up rows stay as they are
                        or_(OutboxRow.claimed_by.is_(None), OutboxRow.claimed_by == self.owner),
                    )
                    .values(sent_at=now, due_at=None, claimed_by=None, last_error="superseded")
                )

    async def first_post(
        self, release_id: int, post: Callable[[], Awaitable[str]]
    ) -> tuple[str, bool]:
        async with self._sessions() as session, session.begin():
            stored = (
                await session.execute(
                    select(ReleaseRow.message_ts)
                    .where(ReleaseRow.id == release_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if stored:
                return stored, False
            ts = await post()
            await session.execute(
                update(ReleaseRow).where(ReleaseRow.id == release_id).values(message_ts=ts)
            )
            return ts, True

    async def failed_status_posts(self, release_id: int) -> int:
        async with self._sessions() as session:
            return (
                await session.execute(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(
                        OutboxRow.kind == "status",
                        OutboxRow.release_id == release_id,
                        OutboxRow.sent_at.is_(None),
                        OutboxRow.due_at.is_(None),
                        OutboxRow.last_error.is_not(None),
                    )
                )
            ).scalar_one()

    async def retry_at(self, item: OutboxItem, due_at: datetime, error: str = "") -> None:
        async with self._sessions() as session, session.begin():
            await self._finish(session, item.id, due_at=due_at, last_error=error or None)

    async def give_up(self, item: OutboxItem, error: str) -> None:
        async with self._sessions() as session, session.begin():
            await self._finish(session, item.id, due_at=None, last_error=error)

    async def newer_status_pending(self, item: OutboxItem) -> bool:
        async with self._sessions() as session:
            found = await session.execute(
                select(OutboxRow.id)
                .where(
                    OutboxRow.kind == "status",
                    OutboxRow.release_id == item.release_id,
                    OutboxRow.id > item.id,
                    OutboxRow.sent_at.is_(None),
                )
                .limit(1)
            )
            return found.first() is not None
