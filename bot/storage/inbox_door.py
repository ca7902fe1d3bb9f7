"""The inbox's door: Slack's requests written down before their OK, in batches.

Requests that arrive while a batch is being written go together in the next one (a group
commit). On PostgreSQL a batch is one statement on a connection of the door's own, in
autocommit: it inserts the rows (a key seen before is skipped), notifies the engines
(bot/storage/wakeups.py) and commits, in one round trip. On SQLite (one process) it is one
INSERT through SQLAlchemy. Either way the cost of a write is shared by all who arrived
together, so the OK stays fast however many arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.ports import Clock, StorageUnavailable
from bot.storage.database import translated_errors, unavailable
from bot.storage.tables import InboxRow
from bot.storage.wakeups import INBOX

if TYPE_CHECKING:
    import psycopg

MAX_BATCH = 500
WRITE_ON_POSTGRES = f"""
WITH written AS (
    INSERT INTO inbox (key, payload, received_at, due_at, attempts)
    SELECT key, payload, at, at, 0
    FROM unnest(%(keys)s::text[], %(payloads)s::json[], %(at)s::timestamptz[])
        AS arrived (key, payload, at)
    ON CONFLICT (key) DO NOTHING
    RETURNING key
)
SELECT written.key FROM written, (SELECT pg_notify('{INBOX}', '')) AS woken
"""


@dataclass
class _Waiting:
    key: str
    payload: dict[str, Any]
    received_at: datetime
    written: asyncio.Future


class InboxDoor:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._clock = clock
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task | None = None
        self._batches = (
            _PostgresBatches(engine.url)
            if engine.dialect.name == "postgresql"
            else _SqliteBatches(engine)
        )
        self._write = self._batches.write

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
            first_of_each = {}
            for waiting in batch:
                first_of_each.setdefault(waiting.key, waiting)
            try:
                new = await self._write(list(first_of_each.values()))
            except Exception as exc:  # every request of the batch hears why
                failure = unavailable(exc) or exc
                for waiting in batch:
                    if not waiting.written.done():
                        waiting.written.set_exception(failure)
                continue
            for waiting in batch:  # the same key twice in one batch: only the first is new
                is_new = waiting.key in new and first_of_each[waiting.key] is waiting
                if not waiting.written.done():
                    waiting.written.set_result(is_new)

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        await self._batches.close()


class _PostgresBatches:
    def __init__(self, url: Any) -> None:
        # Loaded here, at start, not on the first request (and never on SQLite).
        import psycopg  # noqa: F401

        parsed = make_url(url)
        self._conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: psycopg.AsyncConnection | None = None

    async def write(self, batch: list[_Waiting]) -> set[str]:
        import psycopg

        params = {
            "keys": [w.key for w in batch],
            "payloads": [json.dumps(w.payload) for w in batch],
            "at": [w.received_at for w in batch],
        }
        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name="releasebot-inbox"
                )
            cursor = await self._connection.execute(WRITE_ON_POSTGRES, params, prepare=True)
            return {key for (key,) in await cursor.fetchall()}
        except psycopg.OperationalError as exc:  # gone: the next batch connects anew
            with contextlib.suppress(Exception):
                if self._connection is not None:
                    await self._connection.close()
            self._connection = None
            raise StorageUnavailable(f"database unavailable ({type(exc).__name__})") from exc

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class _SqliteBatches:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        table = InboxRow.__table__
        self._insert = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.key)
        )

    async def write(self, batch: list[_Waiting]) -> set[str]:
        rows = [
            {
                "key": w.key,
                "payload": w.payload,
                "received_at": w.received_at,
                "due_at": w.received_at,
            }
            for w in batch
        ]
        async with translated_errors(), self._engine.begin() as connection:
            result = await connection.execute(self._insert, rows)
            return {key for (key,) in result}

    async def close(self) -> None:
        """Nothing of its own: it writes through the bot's engine."""
