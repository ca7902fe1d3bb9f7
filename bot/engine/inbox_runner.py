"""Drains the inbox: claims accepted requests (SKIP LOCKED across replicas, a lease so a
crashed replica's claims come back) and has the processor handle each. A database outage or a
concurrent change is tried again with a growing pause; a bug is answered and recorded."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.ports import (
    Clock,
    ConcurrentUpdate,
    InboxItem,
    InboxQueue,
    StorageUnavailable,
)
from bot.engine.backoff import backoff_s
from bot.services.inbox import InboxProcessor

log = logging.getLogger(__name__)

BACKOFF_CAP_S = 5  # someone waits for the answer; a database is back in seconds or not


class InboxRunner:
    def __init__(
        self, claims: InboxQueue, processor: InboxProcessor, clock: Clock, batch: int = 50
    ) -> None:
        self._claims = claims
        self._processor = processor
        self._clock = clock
        self.batch = batch

    async def run_due(self) -> int:
        """Handle what is due; returns how many requests were claimed. When the database is
        gone this raises StorageUnavailable: what stays claimed returns with its lease."""
        items = await self._claims.claim_due(self.batch)
        due = []
        for item in items:
            if self._processor.expired(item):
                await self._one(item)  # answered as too late
            else:
                due.append(item)
        if len(due) > 1:
            try:
                await self._processor.process_all(due)
                return len(items)
            except Exception as exc:  # noqa: BLE001 - each is tried alone, below
                log.info("inbox: a batch of %s failed (%r); one at a time", len(due), exc)
        for item in due:
            await self._one(item)
        return len(items)

    async def _one(self, item: InboxItem) -> None:
        try:
            await self._processor.process(item)
        except (StorageUnavailable, ConcurrentUpdate) as exc:
            delay = backoff_s(item.attempts, base=1, cap=BACKOFF_CAP_S)
            log.warning(
                "inbox %s: %s; trying again in %ss", item.id, exc or type(exc).__name__, delay
            )
            await self._claims.retry_at(
                item, self._clock.now() + timedelta(seconds=delay), str(exc)
            )
        except Exception:
            log.exception("inbox %s (%s): handling it failed", item.id, item.key)
            await self._processor.fail(item, "error")
