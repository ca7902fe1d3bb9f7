"""An in-memory database and its unit of work: the contract of SqlUnitOfWork without a database
(tests/storage/test_unit_of_work_contract.py runs one suite over both), so a service can be
tested on its own in microseconds.

Units of work run one at a time (as on SQLite): each works on a copy of the tables and puts it
back when it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from bot.core.audit import AuditRecord
from bot.core.ports import Clock
from bot.core.release import Release
from bot.storage.memory.policy import MemoryApiTokens, MemoryFreezes, MemoryLocks
from bot.storage.memory.records import MemoryAuditLog, MemoryInboxLog, MemoryOutbox
from bot.storage.memory.releases import MemoryReleases, decode
from bot.storage.memory.tables import OutboxEntry, Tables


class MemoryDatabase:
    """What the tables hold, readable by tests: `audit`, `outbox`, `releases()`."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tables = Tables()
        self._turn = asyncio.Lock()

    def unit_of_work(self, on_outbox_commit: Callable[[], None] | None = None) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self, on_outbox_commit)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[Tables]:
        """The tables as committed, for a change outside a unit of work (a claim, a request
        accepted), made while no unit of work runs."""
        async with self._turn:
            yield self._tables

    async def receive(self, key: str) -> int | None:
        """Accept a request as the inbox door would: its row id, None when seen before."""
        async with self.turn() as tables:
            if key in tables.inbox_keys:
                return None
            item_id = tables.new_id("inbox")
            tables.inbox_keys[key] = item_id
            tables.inbox[item_id] = False
            return item_id

    @property
    def audit(self) -> list[AuditRecord]:
        return list(self._tables.audit)

    @property
    def outbox(self) -> list[OutboxEntry]:
        """Messages owed, oldest first, superseded status rows left out."""
        return [entry for entry in self._tables.outbox.values() if not entry.superseded]

    def releases(self) -> list[Release]:
        return [decode(row) for row in self._tables.releases.values()]


class MemoryUnitOfWork:
    def __init__(
        self, database: MemoryDatabase, on_outbox_commit: Callable[[], None] | None = None
    ) -> None:
        self._database = database
        self._on_outbox_commit = on_outbox_commit
        self._tables: Tables | None = None

    async def __aenter__(self) -> MemoryUnitOfWork:
        await self._database._turn.acquire()
        tables = self._database._tables.copy()
        self._tables = tables
        clock = self._database.clock
        self.releases = MemoryReleases(tables)
        self.locks = MemoryLocks(tables)
        self.freezes = MemoryFreezes(tables)
        self.audit = MemoryAuditLog(tables)
        self.outbox = MemoryOutbox(tables, clock)
        self.inbox = MemoryInboxLog(tables)
        self.api_tokens = MemoryApiTokens(tables)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._tables = None
        self._database._turn.release()

    async def commit(self) -> None:
        assert self._tables is not None, "commit outside the unit of work"
        self.audit.write()
        self.outbox.write()
        self._database._tables = self._tables
        self._tables = self._tables.copy()
        self._rebind(self._tables)
        if self.outbox.enqueued and self._on_outbox_commit:
            self._on_outbox_commit()

    def _rebind(self, tables: Tables) -> None:
        for repository in (
            self.releases,
            self.locks,
            self.freezes,
            self.audit,
            self.outbox,
            self.inbox,
            self.api_tokens,
        ):
            repository._tables = tables
