"""What the web pages show: release history with filters, one release's timeline, and the
DORA metrics. Read-only; nothing here changes a release."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.access import holdings
from bot.core.catalog import Catalog
from bot.core.dora import FAILED_STATES, DoraReport, ReleaseFacts, compute
from bot.core.policy_config import Role
from bot.core.ports import AuditEvents, AuditRecord, Clock, UnitOfWork
from bot.core.release import Release
from bot.services.facts import FactsFinder

HISTORY_LIMIT = 200


@dataclass(frozen=True)
class HistoryFilter:
    service: str | None = None
    environment: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class Timeline:
    release: Release
    events: list[AuditRecord]


class History:
    def __init__(
        self,
        catalog: Catalog,
        unit_of_work: Callable[[], UnitOfWork],
        audit: AuditEvents,
        clock: Clock,
        facts: FactsFinder,
    ) -> None:
        self.catalog = catalog
        self._uow = unit_of_work
        self._audit = audit
        self._clock = clock
        self._facts = facts

    def may_export(self, user_id: str) -> bool:
        """Auditors and admins see and download the audit export."""
        return any(
            h.role in (Role.AUDITOR, Role.ADMIN)
            for h in holdings(self.catalog, user_id, self._facts.groups())
        )

    async def releases(self, where: HistoryFilter) -> Sequence[Release]:
        async with self._uow() as uow:
            found = await uow.releases.history(where.service, where.environment, HISTORY_LIMIT)
        return [r for r in found if not where.state or r.state.value == where.state]

    async def timeline(self, release_id: int) -> Timeline | None:
        async with self._uow() as uow:
            release = await uow.releases.get(release_id)
        if release is None:
            return None
        return Timeline(release, await self._audit.for_release(release_id))

    async def dora(self, days: int, service: str | None) -> tuple[DoraReport, list[dict]]:
        """The report, and per-week counts of successful and failed production releases."""
        now = self._clock.now()
        since = now - timedelta(days=days)
        production = [n for n, e in self.catalog.environments.items() if e.production]
        async with self._uow() as uow:
            releases = await uow.releases.finished_in(production, since, service)
        facts = [ReleaseFacts.of(r) for r in releases]
        report = compute(
            facts, since=since, until=now, service=service, bands=self.catalog.dora.bands
        )
        return report, _weeks(facts, since, now)


def _weeks(facts: list[ReleaseFacts], since: datetime, until: datetime) -> list[dict]:
    weeks = []
    start = since
    while start < until:
        end = min(start + timedelta(days=7), until)
        last = end == until
        inside = [
            f
            for f in facts
            if f.finished_at
            and start <= f.finished_at
            and (f.finished_at <= end if last else f.finished_at < end)
        ]
        weeks.append(
            {
                "start": start.date().isoformat(),
                "succeeded": sum(1 for f in inside if f.state.value == "succeeded"),
                "failed": sum(1 for f in inside if f.moved_traffic and f.state in FAILED_STATES),
            }
        )
        start = end
    return weeks
