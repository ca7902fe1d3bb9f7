"""Environment locks and chat-declared freezes: rows that expire by themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.freezes import Freeze
from bot.core.policy import EnvLock
from bot.core.ports import LockHeld
from bot.storage.tables import FreezeRow, LockRow

ALL_ENVIRONMENTS = "*"


class SqlLocks:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, service: str, environment: str, now: datetime) -> EnvLock | None:
        row = (
            await self._session.execute(
                select(LockRow).where(
                    LockRow.service == service,
                    LockRow.environment == environment,
                    LockRow.active_key.is_not(None),
                    LockRow.expires_at > now,
                )
            )
        ).scalar_one_or_none()
        return _lock(row) if row else None

    async def add(
        self,
        service: str,
        environment: str,
        owner: str,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> EnvLock:
        key = f"{service}/{environment}"
        await self._session.execute(  # an expired lock no longer holds the key
            update(LockRow)
            .where(LockRow.active_key == key, LockRow.expires_at <= now)
            .values(active_key=None)
        )
        try:
            async with self._session.begin_nested():
                new_id = (
                    await self._session.execute(
                        insert(LockRow)
                        .values(
                            service=service,
                            environment=environment,
                            owner=owner,
                            reason=reason,
                            created_at=now,
                            expires_at=until,
                            active_key=key,
                        )
                        .returning(LockRow.id)
                    )
                ).scalar_one()
        except IntegrityError as exc:
            raise LockHeld(key) from exc
        return EnvLock(new_id, service, environment, owner, reason, now, until)

    async def extend(self, lock: EnvLock, reason: str, until: datetime) -> EnvLock:
        await self._session.execute(
            update(LockRow).where(LockRow.id == lock.id).values(reason=reason, expires_at=until)
        )
        return EnvLock(
            lock.id, lock.service, lock.environment, lock.owner, reason, lock.created_at, until
        )

    async def lift(self, lock: EnvLock, by: str, now: datetime) -> None:
        await self._session.execute(
            update(LockRow)
            .where(LockRow.id == lock.id)
            .values(active_key=None, lifted_at=now, lifted_by=by)
        )


class SqlFreezes:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def active(self, environment: str | None, now: datetime) -> list[Freeze]:
        """Freezes in force on `environment` (those on every environment included); with
        None, every freeze in force."""
        query = select(FreezeRow).where(
            FreezeRow.lifted_at.is_(None),
            or_(FreezeRow.expires_at.is_(None), FreezeRow.expires_at > now),
        )
        if environment is not None:
            query = query.where(
                or_(FreezeRow.environment == environment, FreezeRow.environment == ALL_ENVIRONMENTS)
            )
        rows = (await self._session.execute(query.order_by(FreezeRow.id))).scalars()
        return [_freeze(row) for row in rows]

    async def add(
        self, environment: str | None, reason: str, by: str, now: datetime, until: datetime | None
    ) -> Freeze:
        row = FreezeRow(
            environment=environment or ALL_ENVIRONMENTS,
            reason=reason,
            created_by=by,
            created_at=now,
            expires_at=until,
        )
        self._session.add(row)
        await self._session.flush()
        return _freeze(row)

    async def lift(self, environment: str | None, by: str, now: datetime) -> int:
        """Lifts the freezes declared on exactly `environment` (None: the all-environments
        ones); returns how many."""
        result = await self._session.execute(
            update(FreezeRow)
            .where(
                and_(
                    FreezeRow.environment == (environment or ALL_ENVIRONMENTS),
                    FreezeRow.lifted_at.is_(None),
                    or_(FreezeRow.expires_at.is_(None), FreezeRow.expires_at > now),
                )
            )
            .values(lifted_at=now, lifted_by=by)
        )
        return result.rowcount


def _lock(row: LockRow) -> EnvLock:
    return EnvLock(
        row.id, row.service, row.environment, row.owner, row.reason, row.created_at, row.expires_at
    )


def _freeze(row: FreezeRow) -> Freeze:
    scope = "every environment" if row.environment == ALL_ENVIRONMENTS else row.environment
    return Freeze(f"stop-the-line ({scope})", row.expires_at, row.reason, row.created_by)
