"""Waking an engine in another process: PostgreSQL's LISTEN / NOTIFY.

A web replica writes Slack's requests to the inbox; the engine that handles them may run in
another process (RELEASEBOT_ROLE=web and =engine) or another replica. The inbox's door
notifies `releasebot_inbox` in the transaction that writes (PostgreSQL delivers it on
commit); every engine listening sets its inbox worker's bell, so a command is handled at once
rather than at the next tick. A missed notice costs at most a tick: the due rows are the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

INBOX = "releasebot_inbox"
RECONNECT_S = 1.0


async def notify(connection: AsyncConnection, channel: str) -> None:
    """Within the caller's transaction: listeners hear it once that commits."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """Sets `bells[channel]` whenever `channel` is notified; reconnects after a lost
    connection (every bell rings then, in case a notice was missed meanwhile)."""

    def __init__(self, database_url: str, bells: Mapping[str, asyncio.Event]) -> None:
        url = make_url(database_url)
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._bells = bells
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="releasebot-wakeups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        import psycopg  # PostgreSQL only: a SQLite installation never loads the driver

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, application_name="releasebot-wakeups"
                ) as connection:
                    for channel in self._bells:
                        await connection.execute(f'LISTEN "{channel}"')
                    for bell in self._bells.values():
                        bell.set()
                    async for notice in connection.notifies():
                        if (bell := self._bells.get(notice.channel)) is not None:
                            bell.set()
            except psycopg.Error as exc:
                log.warning("lost the wake-up connection (%s); reconnecting", type(exc).__name__)
            await asyncio.sleep(RECONNECT_S)
