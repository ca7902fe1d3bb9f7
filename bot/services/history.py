"""What the web pages show: release history with filters, one release's timeline, and the
DORA metrics. Read-only; nothing here changes a release."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.audit import AuditRecord
from bot.core.catalog import Catalog
from bot.core.dora import DoraReport, report
from bot.core.people import mentioned
from bot.core.ports import AuditEvents, Clock, UnitOfWork
from bot.core.release import Release

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class HistoryFilter:
    service: str | None = None
    environment: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Listing:
    releases: Sequence[Release]
    names: dict[str, str]  # user ID -> the name they last acted under


@dataclass(frozen=True)
class Timeline:
    release: Release
    events: list[AuditRecord]
    names: dict[str, str]


class History:
    def __init__(
        self,
        catalog: Catalog,
        unit_of_work: Callable[[], UnitOfWork],
        audit: AuditEvents,
        clock: Clock,
    ) -> None:
        self.catalog = catalog
        self._uow = unit_of_work
        self._audit = audit
        self._clock = clock

    async def releases(self, where: HistoryFilter) -> Listing:
        async with self._uow() as uow:
            found = await uow.releases.history(where.service, where.environment, HISTORY_LIMIT)
        shown = [r for r in found if not where.state or r.state.value == where.state]
        return Listing(shown, await self._audit.names({r.requested_by for r in shown}))

    async def timeline(self, release_id: int) -> Timeline | None:
        async with self._uow() as uow:
            release = await uow.releases.get(release_id)
        if release is None:
            return None
        events = await self._audit.for_release(release_id)
        people = {release.requested_by, *release.approved_by, *(e.event.actor_id for e in events)}
        people |= mentioned([release.reason, *(s.detail for s in release.stages)])
        people |= mentioned(e.event.reason for e in events)
        return Timeline(release, events, await self._audit.names(people))

    async def dora(self, days: int, service: str | None) -> tuple[DoraReport, list[dict]]:
        """The report, and per-week counts of successful and failed production releases."""
        now = self._clock.now()
        since = now - timedelta(days=days)
        environments = production_environments(self.catalog)
        async with self._uow() as uow:
            made = await production_dora(uow, self.catalog, since, now, service)
            weeks = await uow.releases.dora_weeks(environments, since, now, service)
        return made, weeks


def production_environments(catalog: Catalog) -> list[str]:
    return [name for name, env in catalog.environments.items() if env.production]


async def production_dora(
    uow: UnitOfWork, catalog: Catalog, since: datetime, until: datetime, service: str | None
) -> DoraReport:
    """The DORA report of production releases that ended in [since, until], from the
    database's aggregates (bot.core.dora.compute is their specification)."""
    totals = await uow.releases.dora_totals(production_environments(catalog), since, until, service)
    return report(totals, since=since, until=until, service=service, bands=catalog.dora.bands)
