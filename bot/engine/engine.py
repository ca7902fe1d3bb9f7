"""The engine: one tick advances due releases and sends what the outbox owes.

Each replica's APScheduler job only calls `tick`; the due work itself lives in database rows.
`kick()` asks for an early outbox pass after a commit, so replies do not wait for the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine.dispatcher import OutboxDispatcher
from bot.engine.stage_runner import StageRunner
from bot.services.groups import GroupCache

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self, runner: StageRunner, dispatcher: OutboxDispatcher, groups: GroupCache | None = None
    ) -> None:
        self._runner = runner
        self._dispatcher = dispatcher
        self._groups = groups
        self._lock = asyncio.Lock()
        self._kicked: asyncio.Event | None = None
        self._kicker: asyncio.Task | None = None

    async def tick(self) -> int:
        """One pass: due releases, then the outbox. Returns how many rows were handled."""
        if self._groups is not None:  # Slack calls stay outside the engine's lock
            await self._groups.refresh()
        async with self._lock:
            try:
                handled = await self._runner.run_due()
            finally:  # messages owed go out even when advancing releases failed
                handled_messages = await self._dispatcher.dispatch_due()
            return handled + handled_messages

    async def settle(self, max_passes: int = 50) -> None:
        """Tick until nothing due is left (for tests and the `simulate` command)."""
        for _ in range(max_passes):
            if not await self.tick():
                return

    def kick(self) -> None:
        if self._kicked is not None:
            self._kicked.set()

    async def _kick_loop(self) -> None:
        assert self._kicked is not None
        while True:
            await self._kicked.wait()
            self._kicked.clear()
            try:
                async with self._lock:
                    await self._dispatcher.dispatch_due()
            except Exception:
                log.exception("outbox pass after kick failed")

    def start(self, interval_s: float = 1.0) -> AsyncIOScheduler:
        """Schedule the tick on this event loop; returns the running scheduler."""
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=interval_s,
            id="releasebot-tick",
            max_instances=1,
            coalesce=True,
        )
        scheduler.start()
        self._kicked = asyncio.Event()
        self._kicker = asyncio.create_task(self._kick_loop(), name="releasebot-outbox-kick")
        return scheduler

    async def stop(self, scheduler: AsyncIOScheduler) -> None:
        """Stop ticking and wait for a tick in progress to finish."""
        scheduler.shutdown(wait=False)
        if self._kicker:
            self._kicker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._kicker
            self._kicker = None
        self._kicked = None
        async with self._lock:
            pass

    async def _safe_tick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("engine tick failed")
