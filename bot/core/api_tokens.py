"""API tokens: a script presents one to fetch audit exports over HTTP, acting as the person
the token was made for (their roles decide what it may do). Only a token's SHA-256 is kept."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

PREFIX = "rbt_"


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def state_at(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
