"""Starting a release: `/deploy` checked against policy, planned by its strategy, and written
with its first fact. It runs inside the transaction the inbox processor opened."""

from __future__ import annotations

from bot.core.catalog import Catalog
from bot.core.commands import Deploy
from bot.core.policy import Act, decide, required_approvals
from bot.core.policy_config import ApprovalPolicy
from bot.core.ports import Clock, LockHeld, UnitOfWork
from bot.core.release import ApprovalTiming, Fact, Release
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

    async def deploy(self, uow: UnitOfWork, request: Request, command: Deploy) -> Outcome:
        now = self._clock.now()
        service = self._catalog.service(command.service)
        environment = self._catalog.environment(command.environment)
        assert service is not None and environment is not None
        action = f"{request.via}.deploy"
        record = Recorder(uow, now)
        facts = await self._facts.for_deploy(
            uow, service.name, environment.name, now, command.version, command.break_glass
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
            await record.refuse(
                request,
                action,
                rule=decision.rule,
                reason=decision.message,
                service=service.name,
                environment=environment.name,
            )
            return Outcome(False, decision.message)
        try:
            stages = plan_stages(service, command.strategy, analysis=bool(service.analysis.metrics))
        except PlanError as exc:
            await record.refuse(
                request,
                action,
                rule="plan.invalid",
                reason=str(exc),
                service=service.name,
                environment=environment.name,
                outcome="invalid",
            )
            return Outcome(False, str(exc))
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
            due_at=now,
        )
        try:
            release = await uow.releases.add(release)
        except LockHeld:
            reason = (
                f"{service.name} in {environment.name} got another active release a "
                "moment ago. Try `/release status` to see it."
            )
            await record.refuse(
                request,
                action,
                rule="lock.active_release",
                reason=reason,
                service=service.name,
                environment=environment.name,
            )
            return Outcome(False, reason)
        details = {
            "strategy": release.strategy.value,
            "stages": [s.label for s in release.stages],
            "approvals_required": release.approvals_required,
        }
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
            f"{release.environment} ({release.strategy.value})",
            notify=False,
        )
        await record.facts(release, [requested], request)
        return Outcome(True, f"release {release.ref} started", release.id)


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
