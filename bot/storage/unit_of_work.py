"""One transaction around a use case: everything it changes commits together or not at all."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.ports import Clock
from bot.storage.api_tokens import SqlApiTokens
from bot.storage.database import translated_errors, unavailable
from bot.storage.policy_repositories import SqlFreezes, SqlLocks
from bot.storage.repositories import SqlAuditLog, SqlInboxLog, SqlOutbox, SqlReleases


class SqlUnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        on_outbox_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._on_outbox_commit = on_outbox_commit
        self._session: AsyncSession | None = None
        self._committed = False

    async def __aenter__(self) -> SqlUnitOfWork:
        session = self._sessions()
        try:
            async with translated_errors():
                await session.begin()
        except BaseException:
            with contextlib.suppress(Exception):
                await session.close()
            raise
        self._session = session
        self._committed = False
        self.releases = SqlReleases(session)
        self.audit = SqlAuditLog(session)
        self.outbox = SqlOutbox(session, self._clock)
        self.inbox = SqlInboxLog(session, self._clock)
        self.locks = SqlLocks(session)
        self.freezes = SqlFreezes(session)
        self.api_tokens = SqlApiTokens(session)
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        assert self._session is not None
        session, self._session = self._session, None
        lost = unavailable(exc) if exc is not None else None
        try:
            if not self._committed:
                if lost is None:
                    await session.rollback()
                else:  # the connection is gone: rolling back can only fail again
                    with contextlib.suppress(Exception):
                        await session.rollback()
        finally:
            with contextlib.suppress(Exception) if lost else contextlib.nullcontext():
                await session.close()
        if lost is not None and lost is not exc:
            raise lost from exc

    async def commit(self) -> None:
        assert self._session is not None
        async with translated_errors():
            await self._session.commit()
        self._committed = True
        if self.outbox.enqueued and self._on_outbox_commit:
            self._on_outbox_commit()

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None
        return self._session
