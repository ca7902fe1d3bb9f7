"""Who is signed in to the web pages: a cookie holding the Slack user ID and an expiry,
signed with HMAC-SHA256 so it cannot be forged or extended."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from aiohttp import web

COOKIE = "releasebot_session"
LIFETIME_S = 8 * 3600


class Sessions:
    def __init__(self, secret: bytes, now: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._now = now

    def sign_in(self, response: web.StreamResponse, user_id: str, *, secure: bool) -> None:
        expires = int(self._now()) + LIFETIME_S
        payload = base64.urlsafe_b64encode(f"{user_id}|{expires}".encode()).decode()
        response.set_cookie(
            COOKIE,
            f"{payload}.{self._mac(payload)}",
            max_age=LIFETIME_S,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/",
        )

    def sign_out(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")

    def user(self, request: web.Request) -> str | None:
        value = request.cookies.get(COOKIE, "")
        payload, _, mac = value.rpartition(".")
        if not payload or not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            return None
        try:
            user_id, expires = base64.urlsafe_b64decode(payload).decode().split("|")
        except (ValueError, UnicodeDecodeError):
            return None
        return user_id if int(expires) > self._now() else None

    def _mac(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
