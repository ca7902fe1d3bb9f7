"""The one entry point for slash commands: parse, then route to the use case.

A usage error is answered (with an example) and audited like any refusal. `prepare` reads the
command and gathers what it needs from outside the database before the transaction opens (a
backend health check may take seconds, the requester's time zone is asked of Slack, and no
transaction waits on a network call); `handle`
runs the use case inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core import commands as grammar
from bot.core.catalog import Catalog
from bot.core.commands import policy, reports
from bot.core.policy import Act
from bot.core.ports import BackendHealth, Clock, IntegrationHealth, PeopleDirectory, UnitOfWork
from bot.core.wording import plain_text
from bot.services.audit_exports import AuditExports
from bot.services.deploys import Deploys
from bot.services.outcome import Outcome
from bot.services.policy_actions import PolicyActions
from bot.services.queries import Queries
from bot.services.recorder import Recorder
from bot.services.releases import Releases
from bot.services.requests import Request


@dataclass(frozen=True)
class Prepared:
    """A slash command as read, with what it needs from outside the database."""

    request: Request
    command: str
    text: str
    parsed: Any = None
    usage: grammar.UsageError | None = None
    backends: tuple[BackendHealth, ...] = ()
    time_zone: str | None = None  # the requester's, for a start time said without one


class CommandRouter:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        deploys: Deploys,
        releases: Releases,
        queries: Queries,
        policies: PolicyActions,
        exports: AuditExports,
        health: IntegrationHealth,
        people: PeopleDirectory,
    ) -> None:
        self._catalog = catalog
        self._clock = clock
        self._deploys = deploys
        self._releases = releases
        self._queries = queries
        self._policies = policies
        self._exports = exports
        self._health = health
        self._people = people

    async def prepare(self, request: Request, command: str, text: str) -> Prepared:
        try:
            parsed = grammar.parse(command, text, self._catalog)
        except grammar.UsageError as exc:
            return Prepared(request, command, text, usage=exc)
        backends: tuple[BackendHealth, ...] = ()
        if isinstance(parsed, reports.Integrations):
            backends = tuple(await self._health.check_health())
        zone = None
        if isinstance(parsed, grammar.Deploy) and parsed.when and parsed.when.clock:
            zone = parsed.when.zone or await self._people.time_zone(request.user_id)
        return Prepared(request, command, text, parsed, backends=backends, time_zone=zone)

    async def handle(self, uow: UnitOfWork, prepared: Prepared) -> Outcome:
        request, parsed = prepared.request, prepared.parsed
        if prepared.usage is not None:
            return await self._usage(uow, prepared, prepared.usage)
        match parsed:
            case grammar.Deploy():
                return await self._deploys.deploy(uow, request, parsed, prepared.time_zone)
            case grammar.RollbackCommand():
                return await self._releases.rollback(uow, request, parsed)
            case grammar.ReleaseAction():
                return await self._releases.act(
                    uow,
                    request,
                    Act(parsed.action),
                    release_id=parsed.release_id,
                    service=parsed.service,
                    environment=parsed.environment,
                    reason=parsed.reason,
                )
            case grammar.Status():
                return await self._queries.status(uow, request, parsed)
            case grammar.ListActive():
                return await self._queries.active(uow, request, parsed)
            case grammar.History():
                return await self._queries.history(uow, request, parsed)
            case grammar.Help():
                return await self._queries.help(uow, request, parsed)
            case policy.LockEnvironment():
                return await self._policies.lock(uow, request, parsed)
            case policy.UnlockEnvironment():
                return await self._policies.unlock(uow, request, parsed)
            case policy.FreezeEnvironments():
                return await self._policies.freeze(uow, request, parsed)
            case policy.UnfreezeEnvironments():
                return await self._policies.unfreeze(uow, request, parsed)
            case reports.ExportAudit():
                return await self._exports.request(uow, request, parsed)
            case reports.Dora():
                return await self._queries.dora(uow, request, parsed)
            case reports.NotifyPlanQuery():
                return await self._queries.notify_plan(uow, request, parsed)
            case reports.Integrations():
                return await self._queries.integrations(uow, request, prepared.backends)
            case policy.WhoAmI():
                return await self._policies.whoami(uow, request, parsed)
            case policy.WhoCan():
                return await self._policies.who_can(uow, request, parsed)
            case policy.Where():
                return await self._policies.where(uow, request, parsed)
        raise AssertionError(f"unrouted command {parsed!r}")

    async def _usage(
        self, uow: UnitOfWork, prepared: Prepared, error: grammar.UsageError
    ) -> Outcome:
        request, command = prepared.request, prepared.command
        name = command.strip().lstrip("/") or "command"
        await Recorder(uow, self._clock.now()).refuse(
            request,
            f"{request.via}.{name}",
            rule="usage",
            reason=error.problem,
            outcome="invalid",
            template="usage",
            context={
                "problem": error.problem,
                "example": error.example,
                "command": plain_text(f"{command} {prepared.text}", 200),
                "topic": error.topic,
            },
        )
        return Outcome(False, error.problem)
