"""Work claimed with a lease, one replica at a time: the inbox (requests Slack already has its
OK for), the release timers and the outbox (messages owed). bot/storage implements them; the
engine's workers drain them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.release import Release


@dataclass(frozen=True)
class Claim:
    id: int
    attempts: int
    due_at: datetime | None = None
    release: Release | None = None  # as the claim read it, when it read it


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row."""

    id: int
    key: str
    kind: str
    release_id: int | None
    channel: str | None
    user_id: str | None
    response_url: str | None
    replace_original: bool
    template: str
    context: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class InboxItem:
    """A claimed inbox row: a command, click or submission Slack already has its OK for."""

    id: int
    key: str
    payload: dict[str, Any]
    received_at: datetime
    attempts: int


class InboxDoor(Protocol):
    async def accept(self, key: str, payload: dict[str, Any]) -> bool:
        """Make a request durable, once per `key` (Slack's own identifiers); False when it was
        accepted before. Raises StorageUnavailable when it cannot be written."""

    async def close(self) -> None:
        """Let the writes under way finish, then let go of the door's connection."""


class InboxQueue(Protocol):
    async def claim_due(self, limit: int = 20) -> list[InboxItem]: ...

    async def retry_at(self, item: InboxItem, due_at: datetime, error: str) -> None: ...

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""


class ReleaseTimers(Protocol):
    """Releases whose `due_at` has come, claimed with a lease by one engine at a time."""

    async def claim_due(self, limit: int = 20) -> list[Claim]: ...

    async def next_due(self) -> datetime | None:
        """When the next release not claimed now is due (None: none is waiting)."""

    async def done(self, release_id: int) -> None: ...

    async def retry_at(self, claim: Claim, due_at: datetime, *, attempt: bool = True) -> None:
        """Try again at `due_at`, unless someone rescheduled the release since it was claimed
        (a click): then their time stands and the attempts start over. `attempt=False`: this
        try does not count (the database failed, not the backend)."""

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""


@dataclass(frozen=True)
class Sent:
    """A row that went out: its message's ts, a scope to keep quiet until a moment, and the
    release whose status message it is (see OutboxQueue.sent)."""

    item: OutboxItem
    message_ts: str | None = None
    hold: tuple[str, datetime] | None = None
    status_of: int | None = None


class OutboxQueue(Protocol):
    """Messages owed, claimed with a lease. A release's status rows go one at a time, and its
    thread rows one at a time in the order they were written, whichever replica claims them."""

    async def claim_due(self, limit: int = 20) -> list[OutboxItem]: ...

    async def holds(self) -> dict[str, datetime]:
        """Active holds, by scope: a rate limit's pause (`method:chat.update`) or a message's
        update throttle (`message:C1:1700.1`), shared by every replica."""

    async def sent(
        self,
        item: OutboxItem,
        message_ts: str | None = None,
        *,
        hold: tuple[str, datetime] | None = None,
        status_of: int | None = None,
    ) -> None:
        """Mark sent; with `hold`, also keep that scope quiet until then; with `status_of`,
        store `message_ts` as that release's status message."""

    async def sent_all(self, marks: Sequence[Sent]) -> None:
        """`sent` for several rows, in one transaction."""

    async def take_budget(self, scope: str, interval: timedelta, burst: int) -> datetime | None:
        """Take one call from a budget shared by every replica: on average one per `interval`,
        up to `burst` at once. None when taken; otherwise when one is next free."""

    async def failed_status_posts(self, release_id: int) -> int: ...

    async def retry_at(
        self,
        item: OutboxItem,
        due_at: datetime,
        error: str = "",
        *,
        attempt: bool = True,
        hold: tuple[str, datetime] | None = None,
    ) -> None:
        """Try again at `due_at`. `attempt=False`: this try does not count (a rate-limit wait,
        a throttle, a stop); with `hold`, the scope waits until then for every replica."""

    async def give_up(self, item: OutboxItem, error: str) -> None: ...

    async def release_claims(self) -> int:
        """Hand back everything this replica holds (a graceful stop)."""
