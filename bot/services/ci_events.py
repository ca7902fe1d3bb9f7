"""A CI or deployment system said something changed in a repository (a GitHub webhook): the
releases of its services that wait on CI, or on a running stage, are looked at now instead of
at their next poll. The event is only a hint; the ports are asked again for the facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core.catalog import Catalog
from bot.core.ports import Clock, ConcurrentUpdate, UnitOfWork
from bot.core.release import State

WAITING = {State.AWAITING_CI, State.RUNNING, State.ROLLING_BACK}


class CiEvents:
    def __init__(self, catalog: Catalog, unit_of_work: Callable[[], UnitOfWork], clock: Clock):
        self._catalog = catalog
        self._uow = unit_of_work
        self._clock = clock

    async def repository_changed(self, repository: str) -> int:
        """How many releases were moved forward."""
        services = {
            name
            for name, service in self._catalog.services.items()
            if service.repository.lower() == repository.lower()
        }
        if not services:
            return 0
        now = self._clock.now()
        poked = 0
        async with self._uow() as uow:
            for release in await uow.releases.active():
                due = release.due_at
                if release.service not in services or release.state not in WAITING:
                    continue
                if due is not None and due <= now:
                    continue
                try:
                    await uow.releases.save(replace(release, due_at=now))
                except ConcurrentUpdate:
                    continue  # it moved meanwhile, which is what we wanted
                poked += 1
            await uow.commit()
        return poked
