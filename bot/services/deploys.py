"""Starting a release: `/deploy` checked against policy, planned by its strategy, and written
with its first fact. It runs inside the transaction the inbox processor opened."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.catalog import Catalog
from bot.core.commands import Deploy, UsageError
from bot.core.commands.deploy import deploy_words
from bot.core.commands.when import When, start_at
from bot.core.durations import format_duration
from bot.core.policy import Act, decide, required_approvals
from bot.core.policy_config import ApprovalPolicy
from bot.core.ports import Clock, LockHeld, UnitOfWork
from bot.core.release import ApprovalTiming, Fact, Release, State
from bot.core.strategies import PlanError, plan_stages
from bot.services.facts import FactsFinder
from bot.services.outcome import Outcome
from bot.services.recorder import Recorder
from bot.services.requests import Request


class Deploys:
    def __init__(self, catalog: Catalog, clock: Clock, facts: FactsFinder) -> None:
        self._catalog = catalog
        self._clock = clock
        self._facts = facts

    async def deploy(
        self, uow: UnitOfWork, request: Request, command: Deploy, time_zone: str | None = None
    ) -> Outcome:
        """`time_zone`: the requester's, for a start time said without one (else UTC)."""
        now = self._clock.now()
        service = self._catalog.service(command.service)
        environment = self._catalog.environment(command.environment)
        assert service is not None and environment is not None
        action = f"{request.via}.deploy"
        record = Recorder(uow, now)

        async def refuse(
            rule: str, reason: str, outcome: str = "refused", context: dict | None = None
        ) -> Outcome:
            await record.refuse(
                request,
                action,
                rule=rule,
                reason=reason,
                service=service.name,
                environment=environment.name,
                outcome=outcome,
                context=context,
            )
            return Outcome(False, reason)

        start: datetime | None = None
        if command.when is not None:
            try:
                start = start_at(command.when, now, time_zone)
            except UsageError as exc:
                return await refuse("schedule.invalid", exc.problem, "invalid")
        facts = await self._facts.for_deploy(
            uow, service.name, environment.name, start or now, command.version, command.break_glass
        )
        decision = decide(
            self._catalog,
            request.user_id,
            Act.DEPLOY,
            service=service.name,
            environment=environment.name,
            facts=facts,
        )
        if not decision.allowed:
            offer = None
            if decision.rule == "window.closed" and facts.closed_window:
                opens = facts.closed_window.next_opens
                if opens is not None:  # a button that asks for the same deploy at that time
                    offer = {"schedule": deploy_words(replace(command, when=None), opens)}
            return await refuse(decision.rule, decision.message, context=offer)
        try:
            stages = plan_stages(service, command.strategy, analysis=bool(service.analysis.metrics))
        except PlanError as exc:
            return await refuse("plan.invalid", str(exc), "invalid")
        policy = self._catalog.approval_policy(service.name, environment.name)
        release = Release(
            service=service.name,
            environment=environment.name,
            strategy=command.strategy.name,
            flag=command.strategy.flag,
            version_to=facts.version or "",
            version_from=await uow.releases.last_good_version(service.name, environment.name),
            requested_by=request.user_id,
            channel=request.channel,
            stages=stages,
            created_at=now,
            updated_at=now,
            approvals_required=required_approvals(policy, command.break_glass),
            auto_approve=policy.auto_when_ci_green,
            approval_timing=approval_timing(policy),
            break_glass=command.break_glass,
            auto_rollback=environment.auto_rollback,
            analysis_interval_s=service.analysis.interval,
            failure_limit=service.analysis.failure_limit,
            analysis_count=service.analysis.count,
            exclusive=not service.concurrent_releases,
            state=State.SCHEDULED if start else State.AWAITING_CI,
            scheduled_for=start,
            due_at=start or now,
            announce=self._catalog.notify_plan(service.name, environment.name).announcements(),
        )
        try:
            release = await uow.releases.add(release)
        except LockHeld:
            return await refuse(
                "lock.active_release",
                f"{service.name} in {environment.name} got another active release a "
                "moment ago. Try `/release status` to see it.",
            )
        details: dict = {
            "strategy": release.strategy.value,
            "stages": [s.label for s in release.stages],
            "approvals_required": release.approvals_required,
        }
        if start is not None:
            details["scheduled_for"] = start.isoformat()
        if command.break_glass:
            details["break_glass"] = {
                "incident": command.break_glass.incident,
                "reason": command.break_glass.reason,
            }
        await record.audit(
            request,
            action,
            rule=decision.rule,
            release=release,
            details=details,
            reason=command.break_glass.reason if command.break_glass else "",
        )
        requested = Fact(
            "release.requested",
            f"{request.user_name or request.user_id} asked to deploy "
            f"{release.version_to or 'the latest build'} of {release.service} to "
            f"{release.environment} ({release.strategy.value})"
            + (f" {_when_words(start, command.when, time_zone, now)}" if start else ""),
            notify=start is not None,  # the time as read, in its zone and UTC, for all to check
        )
        await record.facts(release, [requested], request)
        return Outcome(True, f"release {release.ref} started", release.id)


def _when_words(start: datetime, when: When | None, zone: str | None, now: datetime) -> str:
    """`at 22:00 Europe/Berlin (21:00 UTC), in 5h12m`: the zone the time was read in and UTC."""
    away = format_duration((start - now).total_seconds())
    if when is not None and when.clock is not None:
        named = when.zone or zone or "UTC"
        local = start.astimezone(ZoneInfo(named))
        return f"at {local:%Y-%m-%d %H:%M} {named} ({start:%H:%M} UTC), in {away}"
    return f"at {start:%Y-%m-%d %H:%M} UTC, in {away}"


def approval_timing(policy: ApprovalPolicy) -> ApprovalTiming:
    people = policy.escalate_to
    mentions = [f"<@{user}>" for user in people.users]
    mentions += [f"<!subteam^{group}>" for group in people.groups]
    mentions += [f"the {role.value}s" for role in people.roles]
    return ApprovalTiming(
        expires_after_s=policy.expires_after,
        remind_before_s=policy.remind_before,
        escalate_after_s=policy.escalate_after,
        escalate_to=", ".join(mentions),
    )
