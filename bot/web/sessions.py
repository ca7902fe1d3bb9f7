"""Who is signed in to the web pages: a cookie holding the Slack user ID and an expiry, signed
with HMAC-SHA256 so it cannot be forged or extended. While Sign in with Slack is under way, a
second short-lived cookie holds its state, nonce and PKCE verifier the same way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

COOKIE = "releasebot_session"
PENDING_COOKIE = "releasebot_signin"
LIFETIME_S = 8 * 3600
PENDING_LIFETIME_S = 600


class Sessions:
    def __init__(self, secret: bytes, now: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._now = now

    def sign_in(self, response: web.StreamResponse, user_id: str, *, secure: bool) -> None:
        self._set(response, COOKIE, {"user": user_id}, LIFETIME_S, secure)

    def sign_out(self, response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")

    def user(self, request: web.Request) -> str | None:
        data = self._get(request, COOKIE)
        return data.get("user") if data else None

    def begin_sign_in(
        self, response: web.StreamResponse, pending: dict[str, Any], *, secure: bool
    ) -> None:
        """Keeps what the provider's answer must match until it comes back."""
        self._set(response, PENDING_COOKIE, pending, PENDING_LIFETIME_S, secure)

    def pending_sign_in(self, request: web.Request) -> dict[str, Any] | None:
        return self._get(request, PENDING_COOKIE)

    def end_sign_in(self, response: web.StreamResponse) -> None:
        response.del_cookie(PENDING_COOKIE, path="/")

    def _set(
        self,
        response: web.StreamResponse,
        name: str,
        data: dict[str, Any],
        lifetime_s: int,
        secure: bool,
    ) -> None:
        body = {**data, "expires": int(self._now()) + lifetime_s}
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode()
        response.set_cookie(
            name,
            f"{payload}.{self._mac(name, payload)}",
            max_age=lifetime_s,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/",
        )

    def _get(self, request: web.Request, name: str) -> dict[str, Any] | None:
        payload, _, mac = request.cookies.get(name, "").rpartition(".")
        if not payload or not hmac.compare_digest(self._mac(name, payload).encode(), mac.encode()):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload))
            expires = int(data.pop("expires"))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return data if expires > self._now() else None

    def _mac(self, name: str, payload: str) -> str:
        # The cookie's name is signed too, so one cookie's value cannot pass for the other's.
        message = f"{name}\n{payload}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
