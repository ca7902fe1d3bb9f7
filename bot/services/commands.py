"""The one entry point for slash commands: parse, then route to the use case.

A usage error is answered (with an example) and audited like any refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core import commands as grammar
from bot.core import policy_commands as policy
from bot.core.catalog import Catalog
from bot.core.policy import Act
from bot.core.ports import Clock, UnitOfWork
from bot.core.wording import plain_text
from bot.services.audit_exports import AuditExports
from bot.services.policy_actions import PolicyActions
from bot.services.queries import Queries
from bot.services.recorder import Recorder
from bot.services.releases import DUPLICATE, Outcome, Releases
from bot.services.requests import Request


class CommandRouter:
    def __init__(
        self,
        catalog: Catalog,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        releases: Releases,
        queries: Queries,
        policies: PolicyActions,
        exports: AuditExports,
    ) -> None:
        self._exports = exports
        self._catalog = catalog
        self._uow = unit_of_work
        self._clock = clock
        self._releases = releases
        self._queries = queries
        self._policies = policies

    async def handle(self, request: Request, command: str, text: str) -> Outcome:
        try:
            parsed = grammar.parse(command, text, self._catalog)
        except grammar.UsageError as exc:
            return await self._usage(request, command, text, exc)
        match parsed:
            case grammar.Deploy():
                return await self._releases.deploy(request, parsed)
            case grammar.RollbackCommand():
                return await self._releases.rollback(request, parsed)
            case grammar.ReleaseAction():
                return await self._releases.act(
                    request,
                    Act(parsed.action),
                    release_id=parsed.release_id,
                    service=parsed.service,
                    environment=parsed.environment,
                    reason=parsed.reason,
                )
            case grammar.Status():
                return await self._queries.status(request, parsed)
            case grammar.ListActive():
                return await self._queries.active(request, parsed)
            case grammar.History():
                return await self._queries.history(request, parsed)
            case grammar.Help():
                return await self._queries.help(request, parsed)
            case policy.LockEnvironment():
                return await self._policies.lock(request, parsed)
            case policy.UnlockEnvironment():
                return await self._policies.unlock(request, parsed)
            case policy.FreezeEnvironments():
                return await self._policies.freeze(request, parsed)
            case policy.UnfreezeEnvironments():
                return await self._policies.unfreeze(request, parsed)
            case policy.ExportAudit():
                return await self._exports.request(request, parsed)
            case policy.Dora():
                return await self._queries.dora(request, parsed)
            case policy.Integrations():
                return await self._queries.integrations(request)
            case policy.WhoAmI():
                return await self._policies.whoami(request, parsed)
            case policy.WhoCan():
                return await self._policies.who_can(request, parsed)
            case policy.Where():
                return await self._policies.where(request, parsed)
        raise AssertionError(f"unrouted command {parsed!r}")

    async def _usage(
        self, request: Request, command: str, text: str, error: grammar.UsageError
    ) -> Outcome:
        async with self._uow() as uow:
            if not await uow.inbound.first_time(request.key):
                return DUPLICATE
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
                    "command": plain_text(f"{command} {text}", 200),
                    "topic": error.topic,
                },
            )
            await uow.commit()
        return Outcome(False, error.problem)
