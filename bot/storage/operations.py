"""The OperationStore port: what backends reported, readable by every replica."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ports import Clock, OperationStatus
from bot.storage.tables import OperationRow


class SqlOperations:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def put(self, key: str, status: OperationStatus) -> None:
        values = {
            "key": key,
            "state": status.state,
            "detail": status.detail,
            "updated_at": self._clock.now(),
        }
        async with self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(OperationRow).values(**values)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "state": status.state,
                        "detail": status.detail,
                        "updated_at": values["updated_at"],
                    },
                )
            )

    async def get(self, key: str) -> OperationStatus | None:
        async with self._sessions() as session:
            row = (
                await session.execute(select(OperationRow).where(OperationRow.key == key))
            ).scalar_one_or_none()
        return OperationStatus(row.state, row.detail) if row else None
