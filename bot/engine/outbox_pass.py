"""What one pass of the outbox dispatcher knows and its senders share: the holds in force
(rate-limit pauses, throttles), the releases it read, the budgets it found spent, whether chat
stopped answering; and the lookup that keeps a row tried before from being posted twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.ports import Chat, ChatError, Clock, OutboxItem, OutboxQueue, Sent
from bot.core.release import Release
from bot.services.progress import Progress

log = logging.getLogger(__name__)

UNREACHABLE_PAUSE_S = 2


class Deferred(Exception):
    """The row waits (a hold, a missing status message): handled, not failed."""


@dataclass
class Pass:
    """One dispatch pass: the rows it marked sent, the holds, releases and budgets it read."""

    claims: OutboxQueue
    progress: Progress
    clock: Clock
    holds: dict[str, datetime]
    unreachable: bool = False
    marks: list[Sent] = field(default_factory=list)
    releases: dict[int, Release] = field(default_factory=dict)  # read once for the pass
    spent: dict[str, datetime] = field(default_factory=dict)  # budgets found spent, until
    over_budget: dict[str, int] = field(default_factory=dict)  # rows deferred, by budget

    def sent(self, mark: Sent) -> None:
        """Marked sent with the others of its wave, in one transaction (`flush`)."""
        self.marks.append(mark)

    async def wait_for(self, item: OutboxItem, scope: str) -> None:
        """While `scope` is on hold, the row waits for the hold to end, untried."""
        until = self.holds.get(scope)
        if until is not None and until > self.clock.now():
            await self.claims.retry_at(item, until, f"waiting: {scope}", attempt=False)
            raise Deferred

    async def release(self, item: OutboxItem, *, now: bool = False) -> Release:
        """The release as the pass read it, or as it is now (`now`, or when the pass read it
        before its status message was posted: a thread row needs the message's ts)."""
        release = None if now or not item.release_id else self.releases.get(item.release_id)
        if release is None or (release.message_ts is None and item.kind != "status"):
            release = await self.progress.load(item.release_id) if item.release_id else None
        if release is None:
            await self.claims.give_up(item, "release not found")
            raise Deferred
        return release


async def find_earlier(
    chat: Chat,
    item: OutboxItem,
    channel: str,
    key: str,
    thread_ts: str | None,
    since: datetime | None = None,
) -> str | None:
    """A row tried before (attempts > 1) may have reached chat without us hearing back.
    Only a lookup that cannot work at all (no history access) lets it post regardless;
    one that fails for now fails the row for now."""
    if item.attempts <= 1:
        return None
    try:
        return await chat.find_posted(
            channel, key, thread_ts=thread_ts, since=since or item.created_at
        )
    except ChatError as exc:
        if not exc.permanent:
            raise
        log.warning("could not look for an earlier post in %s: %s", channel, exc)
        return None
