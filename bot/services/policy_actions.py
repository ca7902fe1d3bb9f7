"""Use cases about policy itself: lock and unlock an environment, freeze and unfreeze, and the
questions people ask (whoami, who-can, where). Each is decided by bot/core/policy.py, audited
with the rule that decided it, and answered privately; locks and freezes are announced in the
channel too, so everyone sees the line was stopped."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from bot.core.access import holdings, people_in
from bot.core.catalog import Catalog
from bot.core.commands import (
    FreezeEnvironments,
    LockEnvironment,
    UnfreezeEnvironments,
    UnlockEnvironment,
    Where,
    WhoAmI,
    WhoCan,
)
from bot.core.deploy_windows import closed_at
from bot.core.policy import (
    ROLE_GRANTS,
    Act,
    Decision,
    EnvLock,
    Facts,
    approval_people,
    decide,
    refuse,
)
from bot.core.policy_config import People
from bot.core.ports import Clock, LockHeld, Outbound, UnitOfWork
from bot.core.release import State
from bot.core.wording import plain_text
from bot.services.facts import FactsFinder
from bot.services.outcome import Outcome
from bot.services.recorder import Recorder
from bot.services.requests import Request


class PolicyActions:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        facts: FactsFinder,
    ) -> None:
        self._catalog = catalog
        self._clock = clock
        self._facts = facts

    async def lock(self, uow: UnitOfWork, request: Request, command: LockEnvironment) -> Outcome:
        now = self._clock.now()
        service, environment = command.service, command.environment
        reason = plain_text(command.reason)
        record = Recorder(uow, now)
        current, decision = await self._lock_decision(
            uow, request.user_id, Act.LOCK, service, environment, now
        )
        problem = decision.message if not decision.allowed else ""
        mine = current is not None and current.owner == request.user_id
        if not problem and current is not None and not mine:
            problem = f"{service} in {environment} is {current.describe()} already."
            decision = refuse("lock.held", problem)
        if not problem and mine:
            lock = await uow.locks.extend(
                current, reason, now + timedelta(seconds=command.duration_s)
            )
        elif not problem:
            try:
                lock = await uow.locks.add(
                    service,
                    environment,
                    request.user_id,
                    reason,
                    now,
                    now + timedelta(seconds=command.duration_s),
                )
            except LockHeld:
                problem = f"{service} in {environment} was locked a moment ago."
                decision = refuse("lock.held", problem)
        if problem:
            await record.refuse(
                request,
                f"{request.via}.lock",
                rule=decision.rule,
                reason=problem,
                service=service,
                environment=environment,
            )
            return Outcome(False, problem)
        await record.audit(
            request,
            f"{request.via}.lock",
            rule=decision.rule,
            reason=reason,
            service=service,
            environment=environment,
            details={"until": lock.expires_at.isoformat()},
        )
        await self._announce(
            uow,
            request,
            "lock_notice",
            {
                "service": service,
                "environment": environment,
                "owner": request.user_id,
                "reason": reason,
                "until": lock.expires_at.isoformat(),
            },
        )
        return Outcome(True, f"locked {service}/{environment}")

    async def unlock(
        self, uow: UnitOfWork, request: Request, command: UnlockEnvironment
    ) -> Outcome:
        now = self._clock.now()
        service, environment = command.service, command.environment
        record = Recorder(uow, now)
        current, decision = await self._lock_decision(
            uow, request.user_id, Act.UNLOCK, service, environment, now
        )
        if decision.allowed and current is None:
            decision = refuse("lock.none", f"{service} in {environment} is not locked.")
        if not decision.allowed:
            await record.refuse(
                request,
                f"{request.via}.unlock",
                rule=decision.rule,
                reason=decision.message,
                service=service,
                environment=environment,
            )
            return Outcome(False, decision.message)
        await uow.locks.lift(current, request.user_id, now)
        await record.audit(
            request,
            f"{request.via}.unlock",
            rule=decision.rule,
            reason=current.reason,
            service=service,
            environment=environment,
            details={"owner": current.owner},
        )
        await self._announce(
            uow,
            request,
            "unlock_notice",
            {
                "service": service,
                "environment": environment,
                "by": request.user_id,
                "owner": current.owner,
                "broken": decision.rule == "lock.break",
            },
        )
        return Outcome(True, f"unlocked {service}/{environment}")

    async def freeze(
        self, uow: UnitOfWork, request: Request, command: FreezeEnvironments
    ) -> Outcome:
        now = self._clock.now()
        scope = command.environment
        reason = plain_text(command.reason)
        record = Recorder(uow, now)
        decision = self._may_freeze(request.user_id, Act.FREEZE, scope)
        if not decision.allowed:
            await record.refuse(
                request,
                f"{request.via}.freeze",
                rule=decision.rule,
                reason=decision.message,
                environment=scope or "*",
            )
            return Outcome(False, decision.message)
        until = now + timedelta(seconds=command.duration_s) if command.duration_s else None
        await uow.freezes.add(scope, reason, request.user_id, now, until)
        await record.audit(
            request,
            f"{request.via}.freeze",
            rule=decision.rule,
            reason=reason,
            environment=scope or "*",
            details={"until": until.isoformat() if until else None},
        )
        await self._announce(
            uow,
            request,
            "freeze_notice",
            {
                "scope": scope or "every environment",
                "by": request.user_id,
                "reason": reason,
                "until": until.isoformat() if until else None,
            },
        )
        return Outcome(True, "frozen")

    async def unfreeze(
        self, uow: UnitOfWork, request: Request, command: UnfreezeEnvironments
    ) -> Outcome:
        now = self._clock.now()
        scope = command.environment
        record = Recorder(uow, now)
        decision = self._may_freeze(request.user_id, Act.UNFREEZE, scope)
        lifted = await uow.freezes.lift(scope, request.user_id, now) if decision.allowed else 0
        if decision.allowed and not lifted:
            where = scope or "every environment"
            wider = scope is not None and any(
                f.name.endswith("(every environment)") for f in await uow.freezes.active(scope, now)
            )
            decision = refuse(
                "freeze.none",
                f"No freeze was declared in chat on {where} alone."
                + (
                    " A freeze on every environment holds it: `/release unfreeze all`."
                    if wider
                    else " Catalog freeze windows end by themselves; break glass to deploy "
                    "during one."
                ),
            )
        if not decision.allowed:
            await record.refuse(
                request,
                f"{request.via}.unfreeze",
                rule=decision.rule,
                reason=decision.message,
                environment=scope or "*",
            )
            return Outcome(False, decision.message)
        await record.audit(
            request,
            f"{request.via}.unfreeze",
            rule=decision.rule,
            environment=scope or "*",
            details={"lifted": lifted},
        )
        await self._announce(
            uow,
            request,
            "unfreeze_notice",
            {
                "scope": scope or "every environment",
                "by": request.user_id,
            },
        )
        return Outcome(True, "unfrozen")

    async def whoami(self, uow: UnitOfWork, request: Request, _command: WhoAmI) -> Outcome:
        grants = holdings(self._catalog, request.user_id, self._facts.groups())
        return await self._answer(
            uow,
            request,
            "whoami",
            {
                "user": request.user_id,
                "grants": [{"role": h.role.value, "scope": h.scope, "via": h.via} for h in grants],
            },
        )

    async def who_can(self, uow: UnitOfWork, request: Request, command: WhoCan) -> Outcome:
        act = Act(command.act)
        groups = self._facts.groups()
        if act in (Act.APPROVE, Act.REJECT):
            policy = self._catalog.approval_policy(command.service, command.environment)
            people = approval_people(
                self._catalog, policy, command.service, command.environment, groups
            )
            rule = (
                f"the {command.environment} approval policy (never their own release; "
                f"{policy.required} needed)"
            )
        else:
            people = people_in(
                self._catalog,
                People(roles=tuple(ROLE_GRANTS[act])),
                command.service,
                command.environment,
                groups,
            )
            rule = "roles " + ", ".join(sorted(r.value for r in ROLE_GRANTS[act]))
        return await self._answer(
            uow,
            request,
            "who_can",
            {
                "act": act.value,
                "service": command.service,
                "environment": command.environment,
                "people": sorted(people),
                "rule": rule,
            },
        )

    async def where(self, uow: UnitOfWork, request: Request, command: Where) -> Outcome:
        now = self._clock.now()
        rows = []
        for environment in self._catalog.services[command.service].environments:
            facts = await self._facts.for_deploy(uow, command.service, environment, now, None, None)
            decision = decide(
                self._catalog,
                request.user_id,
                Act.DEPLOY,
                service=command.service,
                environment=environment,
                facts=facts,
            )
            latest = await uow.releases.latest_for(command.service, environment)
            windows = self._catalog.deploy_windows(command.service, environment)
            closed = closed_at(windows, now)
            active = await uow.releases.active_for(command.service, environment)
            waiting = active if active and active.state is State.SCHEDULED else None
            scheduled = f"{waiting.ref} {waiting.version_to or 'latest'}" if waiting else ""
            rows.append(
                {
                    "environment": environment,
                    "allowed": decision.allowed,
                    "rule": decision.rule,
                    "why": decision.message if not decision.allowed else "",
                    "ci_red": bool(latest and latest.refused_by_ci),
                    "last": (
                        f"{latest.ref} {latest.version_to} ({latest.state.label})"
                        if latest
                        else "never deployed"
                    ),
                    "windows": "; ".join(w.describe() for w in windows.windows),
                    "window_open": closed is None,
                    "window_at": (
                        closed.next_opens.isoformat() if closed and closed.next_opens else None
                    ),
                    "scheduled": scheduled,
                    "scheduled_at": (
                        waiting.scheduled_for.isoformat()
                        if waiting and waiting.scheduled_for
                        else None
                    ),
                }
            )
        return await self._answer(uow, request, "where", {"service": command.service, "rows": rows})

    async def _lock_decision(
        self,
        uow: UnitOfWork,
        user_id: str,
        act: Act,
        service: str,
        environment: str,
        now: datetime,
    ) -> tuple[EnvLock | None, Decision]:
        """The environment's lock, and whether `user_id` may lock or unlock it."""
        current = await uow.locks.active(service, environment, now)
        facts = Facts(groups=self._facts.groups(), lock=current)
        decision = decide(
            self._catalog, user_id, act, service=service, environment=environment, facts=facts
        )
        return current, decision

    def _may_freeze(self, user_id: str, act: Act, scope: str | None) -> Decision:
        environments = [scope] if scope else list(self._catalog.environments)
        for environment in environments:
            services = [
                s.name for s in self._catalog.services.values() if environment in s.environments
            ] or [""]
            for service in services:
                decision = decide(
                    self._catalog,
                    user_id,
                    act,
                    service=service,
                    environment=environment,
                    facts=Facts(groups=self._facts.groups()),
                )
                if not decision.allowed:
                    return decision
        return decision

    async def _answer(
        self, uow: UnitOfWork, request: Request, template: str, context: dict
    ) -> Outcome:
        record = Recorder(uow, self._clock.now())
        await record.audit(request, f"{request.via}.{template.replace('_', '-')}")
        await record.reply(request, template, context)
        return Outcome(True, template)

    async def _announce(
        self, uow: UnitOfWork, request: Request, template: str, context: dict
    ) -> None:
        await uow.outbox.enqueue(
            Outbound(
                "post",
                f"announce:{request.key}:{uuid.uuid4().hex[:8]}",
                template,
                context,
                channel=request.channel,
            )
        )
