"""The inbox: every command, click and submission is written down before Slack gets its OK,
and handled afterwards, here. `InboxProcessor` is the one place that runs a use case:

    take the row (dedupe) -> decide and record -> commit, with the audit events and the
    messages owed (outbox rows), in one transaction

so a crash at any point either left the request waiting (it is taken up again) or handled
it completely. A request that cannot be handled in time, or hits a bug, is answered as such
and audited: nobody who got an OK is left with silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.core.policy import Act
from bot.core.ports import Clock, InboxDoor, InboxItem, StorageUnavailable, UnitOfWork
from bot.core.wording import plain_text
from bot.services.commands import CommandRouter
from bot.services.recorder import Recorder
from bot.services.releases import Releases
from bot.services.requests import Request

log = logging.getLogger(__name__)

Kind = Literal["command", "click", "submission"]
DEFAULT_DEADLINE_S = 15 * 60  # well inside a response_url's 30 minutes
TRIGGER_LIFETIME_S = 3  # a trigger_id opens a modal within 3 s of the click


@dataclass(frozen=True)
class Inbound:
    """What Slack sent, translated: a slash command (`command`, `text`), a button (`act` on
    `release_id`) or the reject box submitted (`reason`)."""

    kind: Kind
    request: Request
    command: str = ""
    text: str = ""
    act: str = ""
    release_id: int = 0
    reason: str = ""
    trigger_id: str = ""

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Inbound:
        return cls(**{**payload, "request": Request(**payload["request"])})

    def describe(self) -> str:
        if self.kind == "command":
            return plain_text(f"{self.command} {self.text}".strip(), 120).replace("`", "'")
        return f"{self.act} on release #{self.release_id}"


class Inbox:
    """The Slack side's door: `accept` returns once the request is durable."""

    def __init__(self, door: InboxDoor, on_accept: Callable[[], None] = lambda: None) -> None:
        self._door = door
        self._on_accept = on_accept

    async def accept(self, inbound: Inbound) -> bool:
        """True when it is new, False when Slack sent it before. A dropped connection is
        tried once more (the insert is idempotent); when the database cannot take it this
        raises StorageUnavailable, and Slack must then get no OK."""
        try:
            new = await self._door.accept(inbound.request.key, inbound.to_payload())
        except StorageUnavailable:
            new = await self._door.accept(inbound.request.key, inbound.to_payload())
        if new:
            self._on_accept()
        return new

    async def close(self) -> None:
        await self._door.close()


class InboxProcessor:
    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        clock: Clock,
        router: CommandRouter,
        releases: Releases,
        deadline_s: float = DEFAULT_DEADLINE_S,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._router = router
        self._releases = releases
        self._deadline = timedelta(seconds=deadline_s)

    def expired(self, item: InboxItem) -> bool:
        return self._clock.now() - item.received_at > self._deadline

    async def process(self, item: InboxItem) -> None:
        """Handle one accepted request, once. Raises StorageUnavailable or ConcurrentUpdate
        when it should simply be tried again; anything else is a bug (see `fail`)."""
        if self.expired(item):
            await self.fail(item, "expired")
            return
        await self.process_all([item])

    async def process_all(self, items: Sequence[InboxItem]) -> None:
        """Handle requests that are not expired, together: one transaction, one commit, one
        write of their audit events and messages. All or nothing; raises as `process` does
        (the runner then handles them one at a time, so one cannot hold up the others)."""
        work = []
        for item in items:  # network reads happen before the transaction
            inbound = Inbound.from_payload(item.payload)
            prepared = None
            if inbound.kind == "command":
                prepared = await self._router.prepare(
                    inbound.request, inbound.command, inbound.text
                )
            work.append((item, inbound, prepared))
        async with self._uow() as uow:
            taken = await uow.inbox.take_all([item.id for item in items])
            for item, inbound, prepared in work:
                if item.id not in taken:
                    continue  # handled already, by another replica or before a crash
                if prepared is not None:
                    await self._router.handle(uow, prepared)
                else:
                    await self._act(uow, inbound, item.received_at)
            await uow.commit()

    async def _act(self, uow: UnitOfWork, inbound: Inbound, received_at: datetime) -> None:
        request = inbound.request
        if inbound.kind == "click" and inbound.act == Act.REJECT.value:
            await self._releases.ask_reject_reason(
                uow,
                request,
                inbound.release_id,
                inbound.trigger_id,
                received_at + timedelta(seconds=TRIGGER_LIFETIME_S),
            )
            return
        await self._releases.act(
            uow, request, Act(inbound.act), release_id=inbound.release_id, reason=inbound.reason
        )

    async def fail(self, item: InboxItem, why: Literal["expired", "error"]) -> None:
        """A request that will not be carried out: too late (`expired`: after a long outage
        an old command would surprise everyone) or a bug (`error`). The person is told that
        nothing was changed, and the trail says so."""
        try:
            inbound = Inbound.from_payload(item.payload)
        except (KeyError, TypeError):
            inbound = None
        async with self._uow() as uow:
            if not await uow.inbox.take(item.id):
                return
            if inbound is not None:
                record = Recorder(uow, self._clock.now())
                request = inbound.request
                await record.audit(
                    request,
                    f"{request.via}.{'expired' if why == 'expired' else 'failed'}",
                    outcome=why,
                    reason=inbound.describe(),
                    details={"received_at": item.received_at.isoformat()},
                )
                await record.reply(
                    request,
                    "not_done",
                    {
                        "why": why,
                        "what": inbound.describe(),
                        "received_at": item.received_at.isoformat(),
                    },
                )
            else:
                log.error("inbox %s: unreadable payload, dropped", item.id)
            await uow.commit()
