"""Writes what a use case decided, inside its transaction: audit events and the messages owed.

Every refusal becomes an audit event and a private reply; every fact of a release becomes an
audit event, a thread post when it is worth telling, and an update of the status message.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from bot.core.audit import AuditEvent
from bot.core.deployments import deployment_state
from bot.core.notify import EVENT_WORDS, event_of
from bot.core.ports import Outbound, UnitOfWork
from bot.core.release import Fact, Release
from bot.services.requests import Request
from bot.services.views import release_summary

BOT_ACTOR = "releasebot"


class Recorder:
    def __init__(self, uow: UnitOfWork, now: datetime) -> None:
        self._uow = uow
        self._now = now

    async def audit(
        self,
        request: Request | None,
        action: str,
        *,
        outcome: str = "ok",
        rule: str = "",
        reason: str = "",
        release: Release | None = None,
        service: str = "",
        environment: str = "",
        details: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> None:
        actor_id = actor or (request.user_id if request else BOT_ACTOR)
        actor_name = request.user_name if request and actor_id == request.user_id else ""
        await self._uow.audit.append(
            AuditEvent(
                at=self._now,
                actor_id=actor_id,
                actor_name=actor_name,
                action=action,
                outcome=outcome,
                service=release.service if release else service,
                environment=release.environment if release else environment,
                release_id=release.id if release else None,
                version_from=(release.version_from or "") if release else "",
                version_to=release.version_to if release else "",
                rule=rule,
                reason=reason,
                details={
                    **(details or {}),
                    # Which Slack request it was (command:TRIGGER_ID, ...), so every command
                    # Slack had an OK for can be followed to what became of it.
                    **({"via": request.via, "request": request.key} if request else {}),
                },
                approvers=tuple(a.user_id for a in release.approvals) if release else (),
            )
        )

    async def refuse(
        self,
        request: Request,
        action: str,
        *,
        rule: str,
        reason: str,
        release: Release | None = None,
        service: str = "",
        environment: str = "",
        outcome: str = "refused",
        template: str = "refusal",
        context: dict[str, Any] | None = None,
    ) -> None:
        await self.audit(
            request,
            action,
            outcome=outcome,
            rule=rule,
            reason=reason,
            release=release,
            service=service,
            environment=environment,
        )
        await self.reply(request, template, {"reason": reason, "rule": rule, **(context or {})})

    async def reply(self, request: Request, template: str, context: dict[str, Any]) -> None:
        """A private answer to the person who asked."""
        key = f"reply:{request.key}:{uuid.uuid4().hex[:8]}"
        if request.response_url:
            await self._uow.outbox.enqueue(
                Outbound(
                    "respond",
                    key,
                    template,
                    context,
                    response_url=request.response_url,
                    channel=request.channel,
                    user=request.user_id,
                )
            )
        else:
            await self._uow.outbox.enqueue(
                Outbound(
                    "ephemeral",
                    key,
                    template,
                    context,
                    channel=request.channel,
                    user=request.user_id,
                )
            )

    async def facts(
        self, release: Release, facts: list[Fact], request: Request | None = None
    ) -> None:
        """Audit each fact, tell the thread what is worth telling, refresh the status message."""
        for fact in facts:
            await self.audit(
                request if fact.actor else None,
                fact.kind,
                outcome=fact.outcome,
                rule=fact.rule,
                reason=fact.summary,
                release=release,
                details=fact.details,
                actor=fact.actor,
            )
            if fact.notify:
                await self._uow.outbox.enqueue(
                    Outbound(
                        "thread",
                        f"thread:{release.id}:{fact.kind}:{uuid.uuid4().hex[:12]}",
                        "thread_fact",
                        {
                            "kind": fact.kind,
                            "summary": fact.summary,
                            "details": fact.details,
                            "outcome": fact.outcome,
                        },
                        release_id=release.id,
                        channel=release.channel,
                    )
                )
            await self._announce(release, fact)
        await self.status_changed(release)
        await self._mirror(release)

    async def _announce(self, release: Release, fact: Fact) -> None:
        """The fact's event, in every channel the release's notify plan names for it, once."""
        event = event_of(fact, release)
        if event is None or release.id is None:
            return
        for channel, events in release.announce:
            if event not in events:
                continue
            await self._uow.outbox.enqueue(
                Outbound(
                    "post",
                    f"announce:{release.id}:{event}:{channel}",
                    "announcement",
                    {
                        "event": event,
                        "words": EVENT_WORDS[event],
                        "summary": fact.summary,
                        "release": release_summary(release),
                    },
                    release_id=release.id,
                    channel=channel,
                )
            )

    async def _mirror(self, release: Release) -> None:
        """Owe the deployment system of record each state the release reaches, once."""
        recorded = deployment_state(release)
        if recorded is None or release.id is None:
            return
        state, description = recorded
        await self._uow.outbox.enqueue(
            Outbound(
                "mirror",
                f"mirror:{release.id}:{state}",
                "",
                {"state": state, "description": description},
                release_id=release.id,
            )
        )

    async def status_changed(self, release: Release) -> None:
        await self._uow.outbox.enqueue(
            Outbound(
                "status",
                f"status:{release.id}:{uuid.uuid4().hex[:12]}",
                "status",
                {},
                release_id=release.id,
                channel=release.channel,
            )
        )
