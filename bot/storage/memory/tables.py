"""The in-memory tables: rows as SQL keeps them, copied per unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.api_tokens import ApiToken
from bot.core.audit import AuditRecord
from bot.core.policy import EnvLock
from bot.core.ports import Outbound


@dataclass(frozen=True)
class OutboxEntry:
    """A message owed, as the outbox table keeps it."""

    message: Outbound
    created_at: datetime
    superseded: bool = False


@dataclass(frozen=True)
class LockRow:
    lock: EnvLock
    holds: bool  # the key is taken (SQL: active_key is set)


@dataclass(frozen=True)
class FreezeRow:
    environment: str
    reason: str
    by: str
    created_at: datetime
    expires_at: datetime | None
    lifted: bool = False

    def in_force(self, now: datetime) -> bool:
        return not self.lifted and (self.expires_at is None or self.expires_at > now)


@dataclass
class Tables:
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    locks: dict[int, LockRow] = field(default_factory=dict)
    freezes: list[FreezeRow] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)
    inbox: dict[int, bool] = field(default_factory=dict)  # id -> handled
    inbox_keys: dict[str, int] = field(default_factory=dict)
    api_tokens: dict[int, tuple[ApiToken, str]] = field(default_factory=dict)  # with its sha256
    last_ids: dict[str, int] = field(default_factory=dict)  # per table, as SQL's sequences

    def copy(self) -> Tables:
        return Tables(
            dict(self.releases),
            dict(self.locks),
            list(self.freezes),
            list(self.audit),
            dict(self.outbox),
            dict(self.inbox),
            dict(self.inbox_keys),
            dict(self.api_tokens),
            dict(self.last_ids),
        )

    def new_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]
