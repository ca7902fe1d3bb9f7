"""Use cases that change a release under way: approve, reject, promote, pause, resume, abort,
roll back (bot/services/deploys.py starts releases).

Each runs inside the transaction the inbox processor opened (bot/services/inbox.py):
load -> policy -> transition -> save + audit + outbox; the processor commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.core.catalog import Catalog
from bot.core.commands import RollbackCommand
from bot.core.policy import Act, decide
from bot.core.ports import Clock, LockHeld, Outbound, UnitOfWork
from bot.core.release import (
    Abort,
    Approve,
    Fact,
    InvalidTransition,
    Pause,
    Promote,
    Reject,
    Release,
    Resume,
    Rollback,
    StartNow,
    State,
    transition,
)
from bot.core.wording import plain_text
from bot.services.facts import FactsFinder
from bot.services.gate import hold_at_gate
from bot.services.outcome import Outcome
from bot.services.recorder import Recorder
from bot.services.requests import Request

REVERTED = frozenset({State.ROLLED_BACK, State.ABORTED})
ROLLBACK_LOCK_S = 2 * 3600


@dataclass(frozen=True)
class _Verdict:
    """A re-check's result: the rule that decided, and either a problem or the change."""

    rule: str
    problem: str = ""
    updated: Release | None = None
    facts: list[Fact] = field(default_factory=list)


EVENTS = {
    Act.START: lambda user, reason: StartNow(user),
    Act.APPROVE: lambda user, reason: Approve(user, reason),
    Act.REJECT: lambda user, reason: Reject(user, reason),
    Act.PROMOTE: lambda user, reason: Promote(user),
    Act.PAUSE: lambda user, reason: Pause(user),
    Act.RESUME: lambda user, reason: Resume(user),
    Act.ABORT: lambda user, reason: Abort(user, reason),
    Act.ROLLBACK: lambda user, reason: Rollback(user, reason),
}


class Releases:
    def __init__(
        self,
        catalog: Catalog,
        clock: Clock,
        facts: FactsFinder,
    ) -> None:
        self._catalog = catalog
        self._clock = clock
        self._facts = facts

    async def act(
        self,
        uow: UnitOfWork,
        request: Request,
        act: Act,
        *,
        release_id: int | None = None,
        service: str | None = None,
        environment: str | None = None,
        reason: str = "",
    ) -> Outcome:
        now = self._clock.now()
        action = f"{request.via}.{act.value}"
        reason = plain_text(reason)
        record = Recorder(uow, now)
        release, problem = await self._find(uow, act, release_id, service, environment)
        if release is None:
            await record.refuse(
                request,
                action,
                rule="release.not_found",
                reason=problem,
                service=service or "",
                environment=environment or "",
            )
            return Outcome(False, problem)
        request = _answerable(request, release)
        verdict = await self._judge(uow, request, act, release, reason, now)
        if verdict.updated is not None:
            held, refused = await hold_at_gate(uow, self._facts, release, verdict.updated, now)
            verdict = replace(verdict, updated=held, facts=[*verdict.facts, *refused])
        if verdict.updated is not None and verdict.updated.state is State.ROLLING_BACK:
            await self._clear_the_way(uow, record, request, verdict.updated, now)
        if verdict.updated is not None:
            try:
                await uow.releases.save(verdict.updated)
            except LockHeld:
                verdict = _Verdict(
                    "lock.active_release",
                    f"Another release is active in {release.service}/{release.environment}; "
                    f"roll that one back instead of {release.ref}.",
                )
        if verdict.updated is None:
            await record.refuse(
                request, action, rule=verdict.rule, reason=verdict.problem, release=release
            )
            return Outcome(False, verdict.problem, release.id)
        updated, facts = verdict.updated, verdict.facts
        await record.audit(request, action, rule=verdict.rule, release=updated, reason=reason)
        await record.facts(updated, facts, request)
        if act is Act.ROLLBACK and updated.state is State.ROLLING_BACK:
            await self._lock_after_rollback(uow, record, request, updated, reason, now)
        return Outcome(True, facts[0].summary if facts else "", updated.id)

    async def _lock_after_rollback(
        self,
        uow: UnitOfWork,
        record: Recorder,
        request: Request,
        release: Release,
        reason: str,
        now: datetime,
    ) -> None:
        """Where the catalog says so (lock_on_rollback), a rollback locks the environment, so
        nobody ships the bad version again before someone looked."""
        if not self._catalog.environments[release.environment].lock_on_rollback:
            return
        if await uow.locks.active(release.service, release.environment, now) is not None:
            return
        why = f"rolled back {release.ref}" + (f": {reason}" if reason else "")
        until = now + timedelta(seconds=ROLLBACK_LOCK_S)
        try:
            await uow.locks.add(
                release.service, release.environment, request.user_id, why, now, until
            )
        except LockHeld:
            return  # someone locked it a moment ago: the rollback goes on regardless
        await record.audit(
            request,
            f"{request.via}.lock",
            rule="lock.on_rollback",
            reason=why,
            release=release,
            details={"until": until.isoformat()},
        )
        await uow.outbox.enqueue(
            Outbound(
                "post",
                f"announce:{request.key}:rollback-lock",
                "lock_notice",
                {
                    "service": release.service,
                    "environment": release.environment,
                    "owner": request.user_id,
                    "reason": why,
                    "until": until.isoformat(),
                },
                channel=release.channel,
            )
        )

    async def ask_reject_reason(
        self,
        uow: UnitOfWork,
        request: Request,
        release_id: int,
        trigger_id: str,
        trigger_expires_at: datetime,
    ) -> Outcome:
        """Reject asks for a reason first: if rejecting would be allowed now, a box for the
        reason is owed to the person (the click's trigger opens it); a refusal is recorded and
        answered here, like any other."""
        now = self._clock.now()
        release = await uow.releases.get(release_id)
        if release is None:
            verdict = _Verdict("release.not_found", f"There is no release #{release_id}.")
        else:
            request = _answerable(request, release)
            verdict = await self._judge(uow, request, Act.REJECT, release, "preflight", now)
        if release is None or verdict.updated is None:
            await Recorder(uow, now).refuse(
                request,
                f"{request.via}.reject",
                rule=verdict.rule,
                reason=verdict.problem,
                release=release,
            )
            return Outcome(False, verdict.problem, release_id)
        metadata = {
            "release_id": release.id,
            "channel": request.channel,
            "message_ts": request.message_ts,
        }
        await uow.outbox.enqueue(
            Outbound(
                "modal",
                f"modal:{request.key}",
                "reject_modal",
                {
                    "trigger_id": trigger_id,
                    "expires_at": trigger_expires_at.isoformat(),
                    "view": {
                        "private_metadata": json.dumps(metadata),
                        "ref": release.ref,
                        "service": release.service,
                        "version_to": release.version_to,
                        "environment": release.environment,
                    },
                },
                release_id=release.id,
                channel=request.channel,
                user=request.user_id,
                response_url=request.response_url,
            )
        )
        return Outcome(True, "asked for a reason", release_id)

    async def _clear_the_way(
        self, uow: UnitOfWork, record: Recorder, request: Request, release: Release, now: datetime
    ) -> None:
        """A rollback of what runs wins over a newer release still waiting at its gate (CI or
        approval): that one is aborted in the same transaction, so on-call is never blocked."""
        if not release.exclusive:
            return
        blocker = await uow.releases.active_for(release.service, release.environment)
        if blocker is None or blocker.id == release.id or blocker.touched_traffic:
            return
        blocker = await uow.releases.get(blocker.id, for_update=True)
        aborted, facts = transition(
            blocker, Abort(request.user_id, f"superseded by the rollback of {release.ref}"), now
        )
        await uow.releases.save(aborted)
        await record.facts(
            aborted, [replace(f, rule="rollback.supersedes") for f in facts], request
        )

    async def _judge(
        self,
        uow: UnitOfWork,
        request: Request,
        act: Act,
        release: Release,
        reason: str,
        now: datetime,
    ) -> _Verdict:
        """Re-check a command or click against the database: the button must belong to the
        release's own message, the policy must allow it, and the release must accept it now.
        A click that names no message (a button in a view that does not vouch for this
        release's message) cannot be checked, so it is refused."""
        if request.via == "click" and not request.message_ts:
            return _Verdict(
                "button.unverified",
                f"This button did not come from release {release.ref}'s message, so it cannot "
                "be checked as belonging to it; nothing was changed. Use the buttons on the "
                "release's status message.",
            )
        if request.message_ts and release.message_ts != request.message_ts:
            return _Verdict(
                "button.mismatch",
                f"This button does not belong to release {release.ref}'s message; "
                "nothing was changed.",
            )
        if request.shown_stage is not None and request.shown_stage != release.current:
            return _Verdict(
                "button.stale",
                f"That button was for an earlier stage of release {release.ref}, which has "
                "moved on since; nothing was changed. Look at the message again.",
            )
        decision = decide(
            self._catalog,
            request.user_id,
            act,
            service=release.service,
            environment=release.environment,
            release=release,
            facts=await self._facts.for_release(uow, release, now),
        )
        if not decision.allowed:
            return _Verdict(decision.rule, decision.message)
        try:
            updated, facts = transition(release, EVENTS[act](request.user_id, reason), now)
        except InvalidTransition as exc:
            return _Verdict(f"state.{release.state.value}", str(exc))
        return _Verdict(decision.rule, updated=updated, facts=facts)

    async def rollback(
        self, uow: UnitOfWork, request: Request, command: RollbackCommand
    ) -> Outcome:
        return await self.act(
            uow,
            request,
            Act.ROLLBACK,
            service=command.service,
            environment=command.environment,
            reason=command.reason,
        )

    async def _find(
        self,
        uow: UnitOfWork,
        act: Act,
        release_id: int | None,
        service: str | None,
        environment: str | None,
    ) -> tuple[Release | None, str]:
        if release_id is not None:
            release = await uow.releases.get(release_id, for_update=True)
            if release_id <= 0:  # what a button whose value names no release comes to
                return release, (
                    "That button names no release: it may come from an old or edited message. "
                    "`/release status` shows the releases running now."
                )
            return release, f"There is no release #{release_id}."
        assert service is not None
        envs = [environment] if environment else list(self._catalog.services[service].environments)
        candidates: list[Release] = []
        for env in envs:
            found = await self._target_in(uow, act, service, env)
            if isinstance(found, str):
                return None, found
            if found is not None:
                candidates.append(found)
        where = f"{service} in {environment}" if environment else service
        if not candidates:
            what = "to roll back" if act is Act.ROLLBACK else "active"
            return None, f"Nothing {what} for {where}."
        if len(candidates) > 1:
            listing = ", ".join(f"{r.environment} ({r.ref})" for r in candidates)
            return None, (
                f"{service} has releases in several environments: {listing}. "
                f"Say which, e.g. `{service} {candidates[-1].environment}`."
            )
        return await uow.releases.get(candidates[0].id, for_update=True), ""

    async def _target_in(
        self, uow: UnitOfWork, act: Act, service: str, environment: str
    ) -> Release | None | str:
        """The release an action by service and environment means, None, or why it is unclear.
        A rollback means what runs now (the newest release that moved traffic) or, if nothing
        ran yet, the release waiting at the gate; anything else means the active release."""
        if act is Act.ROLLBACK:
            deployed = await uow.releases.deployed_for(service, environment)
            if deployed is not None and deployed.state not in REVERTED:
                return deployed
        active = [
            r
            for r in await uow.releases.active()
            if (r.service, r.environment) == (service, environment)
        ]
        if len(active) > 1:
            refs = ", ".join(r.ref for r in active)
            return (
                f"{service} has several active releases in {environment} ({refs}); "
                f"name one, e.g. `{active[-1].ref}`."
            )
        return active[0] if active else None


def _answerable(request: Request, release: Release) -> Request:
    """A click in a view (a modal, App Home) comes from no channel and with no response_url:
    its answer goes to the person privately in the release's own channel."""
    if request.channel or request.response_url:
        return request
    return replace(request, channel=release.channel)
