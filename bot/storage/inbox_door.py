"""The inbox's door: Slack's requests written down before their OK, in batches.

Requests that arrive while one batch commits go together in the next (a group commit): one
INSERT and one commit for all of them, on a plain connection (no ORM session). At any rate
there is one transaction in flight, and each OK waits for at most two commits.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.ports import Clock
from bot.storage.database import translated_errors, unavailable
from bot.storage.tables import InboxRow
from bot.storage.wakeups import INBOX, notify

MAX_BATCH = 500


@dataclass
class _Waiting:
    key: str
    payload: dict[str, Any]
    received_at: datetime
    written: asyncio.Future


class InboxDoor:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task | None = None
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        table = InboxRow.__table__
        self._insert = insert(table).on_conflict_do_nothing(index_elements=["key"])
        self._returning = table.c.key

    async def accept(self, key: str, payload: dict[str, Any]) -> bool:
        """True once written, False when `key` was written before; StorageUnavailable when the
        database could not take it."""
        written = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(key, payload, self._clock.now(), written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="releasebot-inbox-door")
        return await written

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                new = await self._write(batch)
            except Exception as exc:  # every request of the batch hears why
                failure = unavailable(exc) or exc
                for waiting in batch:
                    if not waiting.written.done():
                        waiting.written.set_exception(failure)
                continue
            for waiting in batch:
                first = waiting.key in new
                new.discard(waiting.key)  # the same key twice in one batch: only one is new
                if not waiting.written.done():
                    waiting.written.set_result(first)

    async def _write(self, batch: list[_Waiting]) -> set[str]:
        rows = {}
        for waiting in batch:
            rows.setdefault(
                waiting.key,
                {
                    "key": waiting.key,
                    "payload": waiting.payload,
                    "received_at": waiting.received_at,
                    "due_at": waiting.received_at,
                },
            )
        async with translated_errors(), self._engine.begin() as connection:
            result = await connection.execute(
                self._insert.values(list(rows.values())).returning(self._returning)
            )
            new = {key for (key,) in result}
            if new:
                await notify(connection, INBOX)
            return new

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
