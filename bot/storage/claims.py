"""Due work as database rows: release timers, the inbox and the outbox, claimed with a lease.

PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so replicas
never claim the same row. SQLite: the same statement without the lock clause, under BEGIN
IMMEDIATE (one writer). A claim is finished only `WHERE claimed_by = me`. Every method lets a
database outage out as StorageUnavailable.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, delete, exists, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.core.ports import Claim, Clock, InboxItem, OutboxItem, Sent
from bot.storage import release_codec
from bot.storage.database import translated_errors
from bot.storage.tables import ChatHoldRow, InboxRow, OutboxRow, ReleaseRow

T = TypeVar("T")


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

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with translated_errors(), self._sessions() as session, session.begin():
            yield session

    @property
    def _core(self) -> Any:
        """The table as SQLAlchemy Core sees it: statements on it skip the ORM's bookkeeping,
        which the claims, run many times a second, do not need."""
        return self.table.__table__

    def _due(self, now: datetime) -> Any:
        t = self._core.c
        return and_(
            t.due_at.is_not(None),
            t.due_at <= now,
            or_(t.claimed_by.is_(None), t.lease_until < now),
        )

    async def _claim_rows(self, now: datetime, limit: int, extra: Any, *columns: Any) -> list:
        """Claim due rows and return `columns` of each (and `id`), in id order, in one
        statement."""
        t = self._core.c
        key = t.id
        condition = self._due(now) if extra is None else and_(self._due(now), extra)
        async with self._transaction() as session:
            pick = select(key).where(condition).order_by(t.due_at, key).limit(limit)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = await session.execute(
                update(self._core)
                .where(key.in_(pick.scalar_subquery()))
                .values(
                    claimed_by=self.owner, lease_until=now + self._lease, attempts=t.attempts + 1
                )
                .returning(key, *columns)
            )
            return sorted(rows, key=lambda row: row.id)

    async def _claim_items(self, item: type[T], limit: int, extra: Any) -> list[T]:
        """Claim due rows as `item`s, a dataclass whose fields are columns of the table."""
        columns = [self._core.c[f.name] for f in fields(item) if f.name != "id"]
        rows = await self._claim_rows(self._clock.now(), limit, extra, *columns)
        return [item(**row._asdict()) for row in rows]

    async def _finish(self, session: AsyncSession, row_id: int, **values: Any) -> bool:
        t = self._core
        result = await session.execute(
            update(t)
            .where(t.c.id == row_id, t.c.claimed_by == self.owner)
            .values(claimed_by=None, lease_until=None, **values)
        )
        return result.rowcount == 1

    async def release_claims(self) -> int:
        t = self._core
        async with self._transaction() as session:
            result = await session.execute(
                update(t)
                .where(t.c.claimed_by == self.owner)
                .values(claimed_by=None, lease_until=None)
            )
            return result.rowcount


class ReleaseClaims(_Claims):
    table = ReleaseRow

    async def claim_due(self, limit: int = 20) -> list[Claim]:
        """The claimed releases come with the claims, read by the claiming statement."""
        columns = [column for column in ReleaseRow.__table__.c if column.name != "id"]
        rows = await self._claim_rows(self._clock.now(), limit, None, *columns)
        return [
            Claim(row.id, row.attempts, row.due_at, release_codec.from_row(row)) for row in rows
        ]

    async def next_due(self) -> datetime | None:
        t = ReleaseRow
        async with self._transaction() as session:
            return (
                await session.execute(
                    select(func.min(t.due_at)).where(
                        t.due_at.is_not(None),
                        or_(t.claimed_by.is_(None), t.lease_until < self._clock.now()),
                    )
                )
            ).scalar_one()

    async def done(self, release_id: int) -> None:
        async with self._transaction() as session:
            await self._finish(session, release_id, attempts=0)

    async def retry_at(self, claim: Claim, due_at: datetime, *, attempt: bool = True) -> None:
        async with self._transaction() as session:
            t = self._core.c
            unchanged = t.due_at == claim.due_at if claim.due_at else t.due_at.is_(None)
            values: dict[str, Any] = {"claimed_by": None, "lease_until": None, "due_at": due_at}
            if not attempt:
                values["attempts"] = _larger(session)(t.attempts - 1, 0)
            moved = await session.execute(
                update(self._core)
                .where(t.id == claim.id, t.claimed_by == self.owner, unchanged)
                .values(**values)
            )
            if moved.rowcount != 1:
                await self._finish(session, claim.id, attempts=0)


class InboxClaims(_Claims):
    table = InboxRow

    async def claim_due(self, limit: int = 20) -> list[InboxItem]:
        return await self._claim_items(InboxItem, limit, InboxRow.done_at.is_(None))

    async def retry_at(self, item: InboxItem, due_at: datetime, error: str) -> None:
        async with self._transaction() as session:
            await self._finish(session, item.id, due_at=due_at, last_error=error[:2000])


def _one_at_a_time(kind: str) -> Any:
    """Rows of `kind` of one release go one at a time, oldest first: a row waits while an
    older one of its release is neither sent nor given up (even when another replica holds
    it), so a thread reads in order and a status message is posted once."""
    older = aliased(OutboxRow)
    waiting = exists().where(
        older.release_id == OutboxRow.release_id,
        older.kind == kind,
        older.id < OutboxRow.id,
        older.sent_at.is_(None),
        older.due_at.is_not(None),
    )
    return or_(OutboxRow.kind != kind, OutboxRow.release_id.is_(None), not_(waiting))


class OutboxClaims(_Claims):
    table = OutboxRow

    async def claim_due(self, limit: int = 20) -> list[OutboxItem]:
        condition = and_(
            OutboxRow.sent_at.is_(None), _one_at_a_time("thread"), _one_at_a_time("status")
        )
        return await self._claim_items(OutboxItem, limit, condition)

    async def holds(self) -> dict[str, datetime]:
        async with self._transaction() as session:
            rows = await session.execute(
                select(ChatHoldRow.scope, ChatHoldRow.until).where(
                    ChatHoldRow.until > self._clock.now()
                )
            )
            return {scope: until for scope, until in rows}

    async def sent(
        self,
        item: OutboxItem,
        message_ts: str | None = None,
        *,
        hold: tuple[str, datetime] | None = None,
        status_of: int | None = None,
    ) -> None:
        await self.sent_all([Sent(item, message_ts, hold, status_of)])

    async def sent_all(self, marks: Sequence[Sent]) -> None:
        if not marks:
            return
        now = self._clock.now()
        async with self._transaction() as session:
            await session.execute(
                _MARK_SENT,
                [
                    {"row": m.item.id, "owner": self.owner, "now": now, "ts": m.message_ts}
                    for m in marks
                ],
            )
            posted = [{"release": m.status_of, "ts": m.message_ts} for m in marks if m.status_of]
            if posted:
                await session.execute(_STATUS_POSTED, posted)
            holds = [m.hold for m in marks if m.hold is not None]
            for scope, until in holds:
                await _hold(session, scope, until)
            if holds:
                latest = max(until for _, until in holds)
                await session.execute(
                    delete(ChatHoldRow).where(ChatHoldRow.until < latest - HOLDS_KEPT)
                )

    async def take_budget(self, scope: str, interval: timedelta, burst: int) -> datetime | None:
        # A generic cell rate algorithm: the row's `until` is when the budget is next wholly
        # unspent ("theoretical arrival time"); the row lock makes takers queue up.
        now = self._clock.now()
        async with self._transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await session.execute(
                insert(ChatHoldRow)
                .values(scope=scope, until=now)
                .on_conflict_do_nothing(index_elements=["scope"])
            )
            spent_until = (
                await session.execute(
                    select(ChatHoldRow.until).where(ChatHoldRow.scope == scope).with_for_update()
                )
            ).scalar_one()
            spent_until = max(spent_until, now)
            allowance = interval * (burst - 1)
            if spent_until - now > allowance:
                return spent_until - allowance
            await session.execute(
                update(ChatHoldRow)
                .where(ChatHoldRow.scope == scope)
                .values(until=spent_until + interval)
            )
            return None

    async def retry_at(
        self,
        item: OutboxItem,
        due_at: datetime,
        error: str = "",
        *,
        attempt: bool = True,
        hold: tuple[str, datetime] | None = None,
    ) -> None:
        values: dict[str, Any] = {"due_at": due_at, "last_error": error[:2000] or None}
        async with self._transaction() as session:
            if not attempt:  # the claim counted one: this try did not happen
                values["attempts"] = _larger(session)(_outbox.c.attempts - 1, 0)
            await self._finish(session, item.id, **values)
            if hold is not None:
                await _hold(session, *hold)
                await session.execute(
                    delete(ChatHoldRow).where(ChatHoldRow.until < hold[1] - HOLDS_KEPT)
                )

    async def give_up(self, item: OutboxItem, error: str) -> None:
        async with self._transaction() as session:
            await self._finish(session, item.id, due_at=None, last_error=error[:2000])

    async def failed_status_posts(self, release_id: int) -> int:
        async with self._transaction() as session:
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


HOLDS_KEPT = timedelta(hours=1)
_outbox = OutboxRow.__table__
_releases = ReleaseRow.__table__
# Prepared once (their cache keys too), run with one set of parameters per row.
_MARK_SENT = (
    update(_outbox)
    .where(_outbox.c.id == bindparam("row"), _outbox.c.claimed_by == bindparam("owner"))
    .values(
        claimed_by=None,
        lease_until=None,
        sent_at=bindparam("now"),
        message_ts=bindparam("ts"),
        due_at=None,
    )
)
_STATUS_POSTED = (
    update(_releases)
    .where(_releases.c.id == bindparam("release"), _releases.c.message_ts.is_(None))
    .values(message_ts=bindparam("ts"))
)


async def _hold(session: AsyncSession, scope: str, until: datetime) -> None:
    """Keep `scope` quiet until `until`, or longer if it is held longer already; holds long
    over are cleared on the way."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ChatHoldRow).values(scope=scope, until=until)
    later = _larger(session)(ChatHoldRow.until, statement.excluded.until)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["scope"], set_={"until": later})
    )


def _larger(session: AsyncSession) -> Any:
    """SQL's two-argument maximum: GREATEST on PostgreSQL, the scalar max() on SQLite."""
    return func.greatest if session.get_bind().dialect.name == "postgresql" else func.max
