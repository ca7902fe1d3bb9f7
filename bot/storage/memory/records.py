"""The audit chain, the outbox and the inbox in memory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from bot.core.audit import GENESIS_HASH, AuditEvent, keepable, seal
from bot.core.ports import Clock, Outbound
from bot.storage.memory.tables import OutboxEntry, Tables


class MemoryAuditLog:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        self._pending: list[tuple[str, AuditEvent]] = []

    async def append(self, event: AuditEvent) -> None:
        self._pending.append((str(uuid.uuid4()), keepable(event)))

    def write(self) -> None:
        pending, self._pending = self._pending, []
        chain = self._tables.audit
        last = (chain[-1].seq, chain[-1].hash) if chain else (0, GENESIS_HASH)
        for event_id, event in pending:
            record = seal(last, event_id, event)
            chain.append(record)
            last = (record.seq, record.hash)


class MemoryOutbox:
    def __init__(self, tables: Tables, clock: Clock) -> None:
        self._tables = tables
        self._clock = clock
        self._pending: list[OutboxEntry] = []
        self.enqueued = 0

    async def enqueue(self, message: Outbound) -> None:
        self._pending.append(OutboxEntry(message, self._clock.now()))
        self.enqueued += 1

    def write(self) -> None:
        pending, self._pending = self._pending, []
        rows = self._tables.outbox
        for entry in pending:
            release_id = entry.message.release_id
            if entry.message.kind == "status" and release_id is not None:
                for key, older in rows.items():  # a newer status makes untried ones pointless
                    if older.message.kind == "status" and older.message.release_id == release_id:
                        rows[key] = replace(older, superseded=True)
            rows.setdefault(entry.message.key, entry)


class MemoryInboxLog:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def take(self, item_id: int) -> bool:
        return item_id in await self.take_all([item_id])

    async def take_all(self, item_ids: Sequence[int]) -> set[int]:
        taken = {i for i in item_ids if self._tables.inbox.get(i) is False}
        for item_id in taken:
            self._tables.inbox[item_id] = True
        return taken
