"""A CI or deployment system said something changed in a repository (a GitHub webhook): the
releases of its services that wait on CI, or on a running stage, are looked at now instead of
at their next poll. The event is only a hint; the ports are asked again for the facts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core.catalog import Catalog
from bot.core.ports import Clock, ConcurrentUpdate, UnitOfWork
from bot.core.release import Release, State
from bot.core.stages import StageKind, StageStatus


def polls_a_backend(release: Release) -> bool:
    """Waiting on CI, a deploy step or a rollback: the things an event can answer sooner.
    Never an analysis or a bake: they measure time, and an early tick would count an extra
    measurement."""
    if release.state is State.AWAITING_CI:
        return True
    if release.state is State.ROLLING_BACK:
        return release.rollback_operation is not None
    stage = release.current_stage
    return (
        release.state is State.RUNNING
        and stage is not None
        and stage.kind is StageKind.STEP
        and stage.status is StageStatus.RUNNING
        and stage.operation_id is not None
    )


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
                if release.service not in services or not polls_a_backend(release):
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
