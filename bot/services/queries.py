"""Read-only use cases: status, list, history, help. Each is audited like any other command."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core.catalog import Catalog
from bot.core.commands import Dora, Help, History, ListActive, NotifyPlanQuery, Status
from bot.core.durations import format_duration
from bot.core.notify import plan_sentences
from bot.core.ports import BackendHealth, Clock, UnitOfWork
from bot.core.release import State
from bot.core.wording import plural
from bot.services.history import production_dora, production_environments
from bot.services.outcome import Outcome
from bot.services.recorder import Recorder
from bot.services.requests import Request
from bot.services.views import release_summary


class Queries:
    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    async def status(self, uow: UnitOfWork, request: Request, query: Status) -> Outcome:
        record = Recorder(uow, self._clock.now())
        if query.release_id is not None:
            found = await uow.releases.get(query.release_id)
            releases = [found] if found else []
        elif query.service:
            envs = (
                [query.environment]
                if query.environment
                else list(self._catalog.services[query.service].environments)
            )
            releases = [
                r for env in envs if (r := await uow.releases.latest_for(query.service, env))
            ]
        else:
            releases = list(await uow.releases.active())
        await record.audit(
            request,
            f"{request.via}.status",
            service=query.service or "",
            environment=query.environment or "",
            details={"release_id": query.release_id},
        )
        await record.reply(
            request,
            "status_summary",
            {
                "releases": [release_summary(r) for r in releases],
                "release_id": query.release_id,
                "service": query.service,
                "environment": query.environment,
            },
        )
        return Outcome(True, f"{len(releases)} release(s)")

    async def active(self, uow: UnitOfWork, request: Request, query: ListActive) -> Outcome:
        releases = list(await uow.releases.active())
        title = "Active releases"
        if query.scheduled:
            releases = [
                r
                for r in releases
                if r.state is State.SCHEDULED and query.service in (None, r.service)
            ]
            releases.sort(key=lambda r: (r.scheduled_for or r.created_at, r.id or 0))
            title = "Scheduled releases" + (f" of {query.service}" if query.service else "")
        record = Recorder(uow, self._clock.now())
        await record.audit(request, f"{request.via}.{'scheduled' if query.scheduled else 'list'}")
        await record.reply(
            request,
            "release_list",
            {"title": title, "releases": [release_summary(r) for r in releases]},
        )
        return Outcome(True, f"{len(releases)} active")

    async def notify_plan(
        self, uow: UnitOfWork, request: Request, query: NotifyPlanQuery
    ) -> Outcome:
        service = self._catalog.services[query.service]
        environments = [query.environment] if query.environment else list(service.environments)
        plans = [
            {
                "environment": environment,
                "lines": plan_sentences(
                    self._catalog.notify_plan(query.service, environment).announcements()
                ),
            }
            for environment in environments
        ]
        record = Recorder(uow, self._clock.now())
        await record.audit(request, f"{request.via}.notify", service=query.service)
        await record.reply(request, "notify_plan", {"service": query.service, "plans": plans})
        return Outcome(True, f"{len(plans)} plan(s)")

    async def history(self, uow: UnitOfWork, request: Request, query: History) -> Outcome:
        releases = await uow.releases.history(query.service, query.environment, query.limit)
        scope = " in ".join(part for part in (query.service, query.environment) if part)
        record = Recorder(uow, self._clock.now())
        await record.audit(
            request,
            f"{request.via}.history",
            service=query.service or "",
            environment=query.environment or "",
        )
        await record.reply(
            request,
            "release_list",
            {
                "title": f"Last {plural(len(releases), 'release')}"
                + (f" of {scope}" if scope else ""),
                "releases": [release_summary(r) for r in releases],
            },
        )
        return Outcome(True, f"{len(releases)} release(s)")

    async def dora(self, uow: UnitOfWork, request: Request, query: Dora) -> Outcome:
        now = self._clock.now()
        since = now - timedelta(seconds=query.window_s)
        report = await production_dora(uow, self._catalog, since, now, query.service)
        record = Recorder(uow, now)
        await record.audit(request, f"{request.via}.dora", service=query.service or "")
        await record.reply(
            request,
            "dora",
            {
                "service": query.service or "all services",
                "environments": production_environments(self._catalog),
                "window": format_duration(query.window_s),
                "metrics": [
                    {
                        "name": m.name,
                        "value": m.value,
                        "unit": m.unit,
                        "band": m.band,
                        "basis": m.basis,
                    }
                    for m in report.metrics
                ],
            },
        )
        return Outcome(True, "dora sent")

    async def integrations(
        self, uow: UnitOfWork, request: Request, backends: Sequence[BackendHealth]
    ) -> Outcome:
        """`backends`: as checked just before, outside the transaction."""
        record = Recorder(uow, self._clock.now())
        await record.audit(
            request,
            f"{request.via}.integrations",
            details={"down": [b.name for b in backends if not b.ok]},
        )
        await record.reply(
            request,
            "integrations",
            {
                "backends": [
                    {
                        "name": b.name,
                        "type": b.type,
                        "ok": b.ok,
                        "problem": b.problem,
                        "last_error": b.last_error,
                        "last_error_at": b.last_error_at.isoformat() if b.last_error_at else "",
                        "used_by": self._used_by(b.name),
                    }
                    for b in backends
                ]
            },
        )
        return Outcome(True, "integrations sent")

    def _used_by(self, backend: str) -> list[str]:
        """Services that use the backend the same way share one entry:
        "checkout, payments (ci, deployer)"."""
        by_roles: dict[tuple[str, ...], list[str]] = {}
        for service in self._catalog.services.values():
            roles = tuple(r for r, ref in service.backends.model_dump().items() if ref == backend)
            if roles:
                by_roles.setdefault(roles, []).append(service.name)
        return [f"{', '.join(names)} ({', '.join(roles)})" for roles, names in by_roles.items()]

    async def help(self, uow: UnitOfWork, request: Request, query: Help) -> Outcome:
        record = Recorder(uow, self._clock.now())
        await record.audit(request, f"{request.via}.help")
        await record.reply(
            request,
            "help",
            {
                "topic": query.topic,
                "services": sorted(self._catalog.services),
                "environments": [e.name for e in self._catalog.ordered_environments()],
            },
        )
        return Outcome(True, "help sent")
