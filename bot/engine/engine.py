"""The engine: independent workers for the three kinds of due work, so none waits on another.

- inbox: accepted commands, clicks and submissions, handled by the inbox processor;
- stages: releases whose next step is due (the stage runner calls the backends);
- outbox: messages owed to chat and to systems of record.

A slow or silent Slack therefore holds up only the outbox; stages and rollbacks go on. Each
worker runs one pass at a time in this process, when APScheduler's tick kicks it, or at once
when a commit left it work; the due work itself lives in database rows, claimed with leases,
so any replica may take it up. `stop` lets passes under way finish (or cancels them after a
grace period) and hands this replica's claims back, for a graceful stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.ports import StorageUnavailable
from bot.engine.dispatcher import OutboxDispatcher
from bot.engine.inbox_runner import InboxRunner
from bot.engine.stage_runner import StageRunner
from bot.services.groups import GroupCache

log = logging.getLogger(__name__)


WORKERS = ("inbox", "stages", "outbox")  # the kinds of due work kept in database rows


class Claims(Protocol):
    async def release_claims(self) -> int: ...


class HoldsNoClaims:
    """The claims of work that claims no rows (the group cache refresh): none to hand back."""

    async def release_claims(self) -> int:
        return 0


async def due_at_ticks_only() -> float | None:
    """The `due_in` of work that cannot say when its next row is due: it waits for a kick or
    the next tick."""
    return None


class Worker:
    """One kind of due work, one pass at a time. A pass that claimed a full batch (`batch`
    rows) is followed by another at once: a backlog drains without waiting for ticks."""

    def __init__(
        self,
        name: str,
        run_pass: Callable[[], Awaitable[int]],
        batch: int,
        *,
        bell: asyncio.Event,
        claims: Claims,
        due_in: Callable[[], Awaitable[float | None]],
    ) -> None:
        """`bell`: set to wake the worker. `claims`: what it hands back when a pass is cut
        short. `due_in`: seconds until its next row is due; the worker then wakes at that
        moment rather than at the next tick."""
        self.name = name
        self._claims = claims
        self._due_in = due_in
        self._alarm: asyncio.TimerHandle | None = None
        self.then: Callable[[], None] = lambda: None  # after a pass that handled something
        self._run_pass = run_pass
        self._batch = batch
        self._lock = asyncio.Lock()
        self._kicked = bell
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def run(self) -> int:
        async with self._lock:
            return await self._run_pass()

    def kick(self) -> None:
        self._kicked.set()

    @property
    def bell(self) -> asyncio.Event:
        """Set it to wake the worker (from a commit, or a notice from another process)."""
        return self._kicked

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=f"releasebot-{self.name}")

    async def _loop(self) -> None:
        while True:
            await self._kicked.wait()
            self._kicked.clear()
            if self._stopping:
                return
            try:
                handled = await self.run()
                if handled:
                    self.then()
                if handled >= self._batch:
                    self._kicked.set()
                else:
                    await self._wake_when_due()
            except StorageUnavailable as exc:
                log.warning("%s: %s; trying again at the next tick", self.name, exc)
                await self._hand_back()
            except Exception:
                log.exception("%s: a pass failed", self.name)

    async def _wake_when_due(self) -> None:
        seconds = await self._due_in()
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None
        if seconds is not None:
            self._alarm = asyncio.get_running_loop().call_later(seconds, self._kicked.set)

    async def _hand_back(self) -> None:
        """A pass cut short by the database leaves rows claimed: give them back as soon as
        the database answers again, rather than when their leases run out."""
        with contextlib.suppress(StorageUnavailable):
            await self._claims.release_claims()

    async def stop(self, grace_s: float) -> None:
        """Start no new pass; let the one under way finish, or cancel it after `grace_s`."""
        self._stopping = True
        if self._alarm is not None:
            self._alarm.cancel()
        self._kicked.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            log.warning("%s: still busy after %gs, stopping it", self.name, grace_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class Engine:
    def __init__(
        self,
        inbox: InboxRunner,
        stages: StageRunner,
        outbox: OutboxDispatcher,
        groups: GroupCache,
        *,
        claims: Mapping[str, Claims],
        bells: Mapping[str, asyncio.Event],
    ) -> None:
        """`claims` and `bells` by worker name, one of each for every name in WORKERS: the
        rows each claims, and an event that wakes it when a commit left it work."""
        for what, given in (("claims", claims), ("bells", bells)):
            missing = [name for name in WORKERS if name not in given]
            if missing:
                raise ValueError(f"Engine: no {what} for {', '.join(missing)}")

        def worker(
            name: str,
            run_pass: Callable[[], Awaitable[int]],
            batch: int,
            due_in: Callable[[], Awaitable[float | None]],
        ) -> Worker:
            return Worker(
                name, run_pass, batch, bell=bells[name], claims=claims[name], due_in=due_in
            )

        self.inbox = worker("inbox", inbox.run_due, inbox.batch, due_at_ticks_only)
        self.stages = worker("stages", stages.run_due, stages.batch, stages.next_due_in)
        self.outbox = worker("outbox", outbox.dispatch_due, outbox.batch, due_at_ticks_only)
        self.inbox.then = self.stages.kick  # a request handled may have made a release due
        self._claims = [claims[name] for name in WORKERS]
        self._groups = Worker(
            "groups",
            _counted(groups.refresh),
            batch=1,
            bell=asyncio.Event(),
            claims=HoldsNoClaims(),
            due_in=due_at_ticks_only,
        )
        self._workers = [self.inbox, self.stages, self.outbox, self._groups]

    async def tick(self) -> int:
        """One pass of each kind of work, in order (tests and `settle`). Returns how many rows
        were handled."""
        await self._groups.run()  # the group cache: decisions read it
        handled = await self.inbox.run()
        try:
            handled += await self.stages.run()
        finally:  # messages owed go out even when advancing releases failed
            handled += await self.outbox.run()
        return handled

    async def settle(self, max_passes: int = 50) -> None:
        """Tick until nothing due is left (for tests and the `simulate` command)."""
        for _ in range(max_passes):
            if not await self.tick():
                return

    def start(self, interval_s: float = 1.0) -> AsyncIOScheduler:
        """Start the workers; APScheduler kicks each every `interval_s`. Returns the running
        scheduler (for other periodic jobs)."""
        scheduler = AsyncIOScheduler()
        for worker in self._workers:
            worker.start()
            scheduler.add_job(
                worker.kick,
                "interval",
                seconds=interval_s,
                id=f"releasebot-{worker.name}",
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        for worker in self._workers:
            worker.kick()
        return scheduler

    async def stop(self, scheduler: AsyncIOScheduler, grace_s: float = 20.0) -> None:
        """Stop ticking, let passes under way finish (up to `grace_s`), and hand back what this
        replica still holds so another one carries on at once."""
        scheduler.shutdown(wait=False)
        await asyncio.gather(*(worker.stop(grace_s) for worker in self._workers))
        await self.hand_back_claims()

    async def hand_back_claims(self) -> int:
        """Unclaim every row claimed under this replica's name. On a graceful stop; and on
        start, when a replica comes back under the name of one that died (its claims would
        otherwise wait for their leases to run out)."""
        handed = 0
        for claims in self._claims:
            try:
                handed += await claims.release_claims()
            except StorageUnavailable as exc:
                log.warning("could not hand back claims (%s); their leases will run out", exc)
        if handed:
            log.info("handed back %s claimed rows", handed)
        return handed


def _counted(refresh: Callable[[], Awaitable[bool]]) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        await refresh()
        return 0  # a refresh is never "more to do"

    return run
