"""Engine-facing use case: apply what a backend reported to a release, in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.core.ports import Clock, StorageUnavailable, UnitOfWork
from bot.core.release import Event, InvalidTransition, Release, transition
from bot.services.facts import FactsFinder
from bot.services.gate import hold_at_gate
from bot.services.recorder import Recorder

log = logging.getLogger(__name__)

STORAGE_RETRY_PAUSES_S = (0.0, 0.5)


class Progress:
    """`refresh_s`: while a step or rollback is only progressing (nothing worth a thread line),
    the status message is still refreshed this often, so its elapsed times move."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        refresh_s: float,
        facts: FactsFinder,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._facts = facts
        self._refresh = timedelta(seconds=refresh_s)
        self._refreshed: dict[int, datetime] = {}

    async def load(self, release_id: int) -> Release | None:
        async with self._uow() as uow:
            return await uow.releases.get(release_id)

    async def load_many(self, release_ids: Sequence[int]) -> dict[int, Release]:
        async with self._uow() as uow:
            return await uow.releases.get_many(release_ids)

    async def apply(self, release_id: int, *events: Event) -> Release | None:
        """Apply `events` in order; a result that no longer fits (the release was paused,
        aborted or rolled back meanwhile) is dropped. Returns the release as saved.

        What a backend reported must not be lost to a dropped connection: the transaction is
        tried again at once (a second time after a short pause). It is safe to repeat: events
        that were applied already no longer fit and are dropped."""
        for pause_s in STORAGE_RETRY_PAUSES_S:
            try:
                return await self._apply(release_id, events)
            except StorageUnavailable as exc:
                log.warning("release %s: %s; applying its news again", release_id, exc)
                await asyncio.sleep(pause_s)
        return await self._apply(release_id, events)

    async def _apply(self, release_id: int, events: tuple[Event, ...]) -> Release | None:
        now = self._clock.now()
        async with self._uow() as uow:
            release = await uow.releases.get(release_id, for_update=True)
            if release is None:
                return None
            record = Recorder(uow, now)
            changed = told = False
            for event in events:
                before = release
                try:
                    release, facts = transition(release, event, now)
                except InvalidTransition as exc:
                    log.info("release %s: dropped %s: %s", release_id, type(event).__name__, exc)
                    continue
                release, held = await hold_at_gate(uow, self._facts, before, release, now)
                facts = facts + held
                changed = True
                if facts:
                    await record.facts(release, facts)
                    told = True
            if not changed:
                return release
            if told or self._refresh_due(release_id, now):
                if not told:
                    await record.status_changed(release)
                self._refreshed[release_id] = now
            await uow.releases.save(release)
            await uow.commit()
            if not release.state.active:
                self._refreshed.pop(release_id, None)
            return release

    def _refresh_due(self, release_id: int, now: datetime) -> bool:
        last = self._refreshed.get(release_id)
        return last is None or now - last >= self._refresh
