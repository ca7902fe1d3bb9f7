"""Drains the inbox: claims accepted requests (SKIP LOCKED across replicas, a lease so a
crashed replica's claims come back) and has the processor handle each. A database outage or a
concurrent change is tried again with a growing pause; a bug is answered and recorded."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.ports import Clock, ConcurrentUpdate, InboxQueue, StorageUnavailable
from bot.services.inbox import InboxProcessor

log = logging.getLogger(__name__)

BACKOFF_CAP_S = 5  # someone waits for the answer; a database is back in seconds or not


class InboxRunner:
    def __init__(
        self, claims: InboxQueue, processor: InboxProcessor, clock: Clock, batch: int = 20
    ) -> None:
        self._claims = claims
        self._processor = processor
        self._clock = clock
        self.batch = batch

    async def run_due(self) -> int:
        """Handle what is due; returns how many requests were claimed. When the database is
        gone this raises StorageUnavailable: what stays claimed returns with its lease."""
        items = await self._claims.claim_due(self.batch)
        for item in items:
            try:
                await self._processor.process(item)
            except (StorageUnavailable, ConcurrentUpdate) as exc:
                delay = min(BACKOFF_CAP_S, 2 ** max(0, item.attempts - 1))
                log.warning(
                    "inbox %s: %s; trying again in %ss", item.id, exc or type(exc).__name__, delay
                )
                await self._claims.retry_at(
                    item, self._clock.now() + timedelta(seconds=delay), str(exc)
                )
            except Exception:
                log.exception("inbox %s (%s): handling it failed", item.id, item.key)
                await self._processor.fail(item, "error")
        return len(items)
