"""The unit of work and its repositories: releases, locks, freezes, API tokens, the audit log,
the outbox and the inbox marks, all committed together. bot/storage implements them and
translates database errors into the exceptions here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.core.api_tokens import ApiToken
from bot.core.audit import AuditEvent
from bot.core.dora import DoraTotals
from bot.core.freezes import Freeze
from bot.core.policy import EnvLock
from bot.core.release import Release


class LockHeld(Exception):
    """Another active release holds the (service, environment) lock."""


class ConcurrentUpdate(Exception):
    """The release changed under us since it was read."""


class StorageUnavailable(Exception):
    """The database could not be reached or dropped the connection: nothing was committed, and
    the same work may simply be tried again."""


@dataclass(frozen=True)
class Outbound:
    """A message the bot owes someone, written in the same transaction as the change behind it.
    `template` and `context` are rendered by the chat layer when it is sent."""

    kind: Literal["status", "thread", "ephemeral", "respond", "post", "mirror", "upload", "modal"]
    key: str
    template: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    release_id: int | None = None
    channel: str | None = None
    user: str | None = None
    response_url: str | None = None
    replace_original: bool = False


class ReleaseRepository(Protocol):
    async def add(self, release: Release) -> Release: ...

    async def get(self, release_id: int, *, for_update: bool = False) -> Release | None: ...

    async def get_many(self, release_ids: Sequence[int]) -> dict[int, Release]: ...

    async def save(self, release: Release) -> None: ...

    async def active_for(self, service: str, environment: str) -> Release | None: ...

    async def latest_for(self, service: str, environment: str) -> Release | None: ...

    async def has_succeeded(self, service: str, environment: str, version: str) -> bool: ...

    async def deployed_for(self, service: str, environment: str) -> Release | None:
        """The newest release that moved traffic: what a rollback would undo."""

    async def active(self) -> Sequence[Release]: ...

    async def history(
        self, service: str | None, environment: str | None, limit: int
    ) -> Sequence[Release]: ...

    async def last_good_version(self, service: str, environment: str) -> str | None: ...

    async def finished_in(
        self, environments: Sequence[str], since: datetime, service: str | None
    ) -> Sequence[Release]:
        """Releases to these environments that ended at `since` or later (for DORA)."""

    async def dora_totals(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> DoraTotals:
        """bot.core.dora.totals over `finished_in(environments, since, service)`, computed
        without loading the releases."""

    async def dora_weeks(
        self, environments: Sequence[str], since: datetime, until: datetime, service: str | None
    ) -> list[dict]:
        """bot.core.dora.weeks over the same releases, without loading them."""


class AuditLog(Protocol):
    async def append(self, event: AuditEvent) -> None:
        """Chained and written when the unit of work commits."""


class OutboxWriter(Protocol):
    async def enqueue(self, message: Outbound) -> None:
        """Written when the unit of work commits."""


class InboxLog(Protocol):
    async def take(self, item_id: int) -> bool:
        """Marks an accepted request handled, in the transaction that handles it; False when
        it was handled already (by another replica, or before a crash)."""

    async def take_all(self, item_ids: Sequence[int]) -> set[int]:
        """`take` for several at once: the ids this transaction marked handled."""


class LockRepository(Protocol):
    async def active(self, service: str, environment: str, now: datetime) -> EnvLock | None: ...

    async def add(
        self,
        service: str,
        environment: str,
        owner: str,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> EnvLock:
        """Raises LockHeld when (service, environment) is locked already."""

    async def extend(self, lock: EnvLock, reason: str, until: datetime) -> EnvLock: ...

    async def lift(self, lock: EnvLock, by: str, now: datetime) -> None: ...


class FreezeRepository(Protocol):
    async def active(self, environment: str | None, now: datetime) -> list[Freeze]: ...

    async def add(
        self, environment: str | None, reason: str, by: str, now: datetime, until: datetime | None
    ) -> Freeze: ...

    async def lift(self, environment: str | None, by: str, now: datetime) -> int: ...


class ApiTokenRepository(Protocol):
    async def add(
        self, name: str, user_id: str, sha256: str, now: datetime, expires_at: datetime | None
    ) -> ApiToken: ...

    async def all(self) -> list[ApiToken]: ...

    async def get(self, token_id: int) -> ApiToken | None: ...

    async def by_sha256(self, sha256: str) -> ApiToken | None: ...

    async def revoke(self, token_id: int, now: datetime) -> None: ...

    async def used(self, token_id: int, now: datetime) -> None: ...


class UnitOfWork(Protocol):
    releases: ReleaseRepository
    locks: LockRepository
    freezes: FreezeRepository
    audit: AuditLog
    outbox: OutboxWriter
    inbox: InboxLog
    api_tokens: ApiTokenRepository

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...
