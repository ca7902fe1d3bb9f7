"""Gathers what a policy decision depends on, from the database, the catalog and the group
cache, inside the deciding transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bot.core.catalog import Catalog
from bot.core.deploy_windows import ClosedWindow, closed_at
from bot.core.freezes import Freeze, active_freeze
from bot.core.policy import Facts
from bot.core.ports import UnitOfWork
from bot.core.release import BreakGlass, Release

Groups = Callable[[], Mapping[str, frozenset[str]]]


class FactsFinder:
    def __init__(self, catalog: Catalog, groups: Groups) -> None:
        self._catalog = catalog
        self._groups = groups

    def groups(self) -> Mapping[str, frozenset[str]]:
        return self._groups()

    async def freeze(
        self, uow: UnitOfWork, service: str, environment: str, now: datetime
    ) -> Freeze | None:
        """The catalog window or chat-declared freeze in force, if any."""
        window = active_freeze(self._catalog.freezes, service, environment, now)
        if window is not None:
            return window
        declared = await uow.freezes.active(environment, now)
        return declared[0] if declared else None

    def closed_window(self, service: str, environment: str, now: datetime) -> ClosedWindow | None:
        """The deploy windows, if they are shut at `now`."""
        return closed_at(self._catalog.deploy_windows(service, environment), now)

    async def for_deploy(
        self,
        uow: UnitOfWork,
        service: str,
        environment: str,
        now: datetime,
        version: str | None,
        break_glass: BreakGlass | None,
    ) -> Facts:
        exclusive = not self._catalog.services[service].concurrent_releases
        required = self._catalog.environments[environment].requires
        proven: bool | None = None
        if required:
            if version is None:  # ship what succeeded in the earlier environment
                version = await uow.releases.last_good_version(service, required)
                proven = version is not None
            else:
                proven = await uow.releases.has_succeeded(service, required, version)
        return Facts(
            groups=self._groups(),
            active_release=(
                await uow.releases.active_for(service, environment) if exclusive else None
            ),
            lock=await uow.locks.active(service, environment, now),
            freeze=await self.freeze(uow, service, environment, now),
            closed_window=self.closed_window(service, environment, now),
            version=version,
            proven=proven,
            break_glass=break_glass,
        )

    async def for_release(self, uow: UnitOfWork, release: Release, now: datetime) -> Facts:
        return Facts(
            groups=self._groups(),
            deployed_release=await uow.releases.deployed_for(release.service, release.environment),
            lock=await uow.locks.active(release.service, release.environment, now),
            freeze=await self.freeze(uow, release.service, release.environment, now),
            closed_window=self.closed_window(release.service, release.environment, now),
            escalated=release.escalated,
        )
