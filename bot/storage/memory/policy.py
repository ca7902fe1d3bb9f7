"""Environment locks, declared freezes and API tokens in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.core.api_tokens import ApiToken
from bot.core.freezes import Freeze
from bot.core.policy import EnvLock
from bot.core.ports import LockHeld
from bot.storage.memory.tables import FreezeRow, LockRow, Tables
from bot.storage.policy_repositories import ALL_ENVIRONMENTS


class MemoryLocks:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def active(self, service: str, environment: str, now: datetime) -> EnvLock | None:
        for row in self._tables.locks.values():
            lock = row.lock
            held = row.holds and lock.expires_at > now
            if held and (lock.service, lock.environment) == (service, environment):
                return lock
        return None

    async def add(
        self,
        service: str,
        environment: str,
        owner: str,
        reason: str,
        now: datetime,
        until: datetime,
    ) -> EnvLock:
        for lock_id, row in list(self._tables.locks.items()):
            if row.holds and (row.lock.service, row.lock.environment) == (service, environment):
                if row.lock.expires_at > now:
                    raise LockHeld(f"{service}/{environment}")
                self._tables.locks[lock_id] = replace(row, holds=False)
        lock = EnvLock(
            self._tables.new_id("locks"), service, environment, owner, reason, now, until
        )
        self._tables.locks[lock.id] = LockRow(lock, holds=True)
        return lock

    async def extend(self, lock: EnvLock, reason: str, until: datetime) -> EnvLock:
        row = self._tables.locks[lock.id]
        self._tables.locks[lock.id] = replace(
            row, lock=replace(row.lock, reason=reason, expires_at=until)
        )
        return replace(lock, reason=reason, expires_at=until)

    async def lift(self, lock: EnvLock, by: str, now: datetime) -> None:
        self._tables.locks[lock.id] = replace(self._tables.locks[lock.id], holds=False)


class MemoryFreezes:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def active(self, environment: str | None, now: datetime) -> list[Freeze]:
        scopes = None if environment is None else {environment, ALL_ENVIRONMENTS}
        return [
            _freeze(row)
            for row in self._tables.freezes
            if row.in_force(now) and (scopes is None or row.environment in scopes)
        ]

    async def add(
        self, environment: str | None, reason: str, by: str, now: datetime, until: datetime | None
    ) -> Freeze:
        row = FreezeRow(environment or ALL_ENVIRONMENTS, reason, by, now, until)
        self._tables.freezes.append(row)
        return _freeze(row)

    async def lift(self, environment: str | None, by: str, now: datetime) -> int:
        scope = environment or ALL_ENVIRONMENTS
        lifted = 0
        for index, row in enumerate(self._tables.freezes):
            if row.environment == scope and row.in_force(now):
                self._tables.freezes[index] = replace(row, lifted=True)
                lifted += 1
        return lifted


def _freeze(row: FreezeRow) -> Freeze:
    scope = "every environment" if row.environment == ALL_ENVIRONMENTS else row.environment
    return Freeze(f"stop-the-line ({scope})", row.expires_at, row.reason, row.by)


class MemoryApiTokens:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def add(
        self, name: str, user_id: str, sha256: str, now: datetime, expires_at: datetime | None
    ) -> ApiToken:
        token = ApiToken(
            id=self._tables.new_id("api_tokens"),
            name=name,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
        )
        self._tables.api_tokens[token.id] = (token, sha256)
        return token

    async def all(self) -> list[ApiToken]:
        return [
            token for token, _ in sorted(self._tables.api_tokens.values(), key=lambda t: t[0].id)
        ]

    async def get(self, token_id: int) -> ApiToken | None:
        found = self._tables.api_tokens.get(token_id)
        return found[0] if found else None

    async def by_sha256(self, sha256: str) -> ApiToken | None:
        return next((t for t, digest in self._tables.api_tokens.values() if digest == sha256), None)

    async def revoke(self, token_id: int, now: datetime) -> None:
        self._change(token_id, lambda t: t if t.revoked_at else replace(t, revoked_at=now))

    async def used(self, token_id: int, now: datetime) -> None:
        self._change(token_id, lambda t: replace(t, last_used_at=now))

    def _change(self, token_id: int, change: Callable[[ApiToken], ApiToken]) -> None:
        if (found := self._tables.api_tokens.get(token_id)) is not None:
            self._tables.api_tokens[token_id] = (change(found[0]), found[1])
