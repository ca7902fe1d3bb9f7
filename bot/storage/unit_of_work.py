"""One transaction around a use case: everything it changes commits together or not at all."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

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
            with suppress(Exception):
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
        try:
            async with translated_errors():
                try:
                    if not self._committed:
                        await session.rollback()
                finally:
                    await session.close()
        except Exception:
            if exc is None:
                raise  # the connection went while the work was done: say so
            # Otherwise the work's own failure is the one that matters, below.
        lost = unavailable(exc) if exc is not None else None
        if lost is not None and lost is not exc:
            raise lost from exc

    async def commit(self) -> None:
        assert self._session is not None
        async with translated_errors():
            await self.audit.write()
            await self.outbox.write()
            await self._session.commit()
        self._committed = True
        if self.outbox.enqueued and self._on_outbox_commit:
            self._on_outbox_commit()

    @property
    def session(self) -> AsyncSession:
        assert self._session is not None
        return self._session
