"""Making, listing and revoking API tokens, and knowing who presents one. Making and revoking
are audited; a token is shown once, when it is made, and only its SHA-256 is kept."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from bot.core.api_tokens import PREFIX, ApiToken, digest
from bot.core.durations import parse_duration
from bot.core.policy_config import USER_ID
from bot.core.ports import Clock, UnitOfWork
from bot.services.recorder import Recorder

# Where `last_used_at` is written at most this often per token, so a busy script does not
# turn every request into a write.
USE_NOTED_EVERY = timedelta(minutes=1)


MAX_LIFETIME = timedelta(days=3650)


class ApiTokenError(ValueError):
    pass


class ApiTokens:
    def __init__(self, unit_of_work: Callable[[], UnitOfWork], clock: Clock) -> None:
        self._uow = unit_of_work
        self._clock = clock

    async def create(
        self, name: str, user_id: str, *, by: str, lifetime: timedelta | None = None
    ) -> tuple[ApiToken, str]:
        """The new token and its secret, which is never shown again."""
        name = name.strip()
        if not name or len(name) > 200:
            raise ApiTokenError("give the token a name (up to 200 characters) saying what uses it")
        if not USER_ID.fullmatch(user_id) or len(user_id) > 32:
            raise ApiTokenError(f"{user_id!r} is not a Slack user ID (U…)")
        now = self._clock.now()
        secret = PREFIX + secrets.token_urlsafe(32)
        async with self._uow() as uow:
            token = await uow.api_tokens.add(
                name, user_id, digest(secret), now, None if lifetime is None else now + lifetime
            )
            await Recorder(uow, now).audit(
                None,
                "api_token.created",
                actor=by,
                details={"token": token.id, "name": name, "acts_as": user_id,
                         "expires_at": token.expires_at.isoformat() if token.expires_at else None},
            )  # fmt: skip
            await uow.commit()
        return token, secret

    async def all(self) -> list[ApiToken]:
        async with self._uow() as uow:
            return await uow.api_tokens.all()

    async def revoke(self, token_id: int, *, by: str) -> ApiToken:
        now = self._clock.now()
        async with self._uow() as uow:
            token = await uow.api_tokens.get(token_id)
            if token is None:
                raise ApiTokenError(f"there is no token {token_id}")
            if token.revoked_at is None:
                await uow.api_tokens.revoke(token_id, now)
                token = replace(token, revoked_at=now)
                await Recorder(uow, now).audit(
                    None,
                    "api_token.revoked",
                    actor=by,
                    details={"token": token.id, "name": token.name, "acts_as": token.user_id},
                )
                await uow.commit()
            return token

    async def holder(self, secret: str) -> ApiToken | None:
        """The usable token with this secret, or None (unknown, revoked or expired)."""
        if not secret.startswith(PREFIX):
            return None
        now = self._clock.now()
        async with self._uow() as uow:
            token = await uow.api_tokens.by_sha256(digest(secret))
            if token is None or not token.usable_at(now):
                return None
            if token.last_used_at is None or now - token.last_used_at >= USE_NOTED_EVERY:
                await uow.api_tokens.used(token.id, now)
                await uow.commit()
        return token


def lifetime_from(text: str | None) -> timedelta | None:
    """`--expires-in 90d`; None for "never"."""
    if text is None or text.strip().lower() in ("", "never"):
        return None
    try:
        lifetime = timedelta(seconds=parse_duration(text.strip().lower()))
    except (ValueError, OverflowError) as exc:
        raise ApiTokenError(f"--expires-in {text!r}: use a span like 90d or 12h, or never") from exc
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise ApiTokenError(f"--expires-in {text!r}: up to ten years, or never")
    return lifetime
