"""The deploy script as the webhook adapter reaches it: signed requests over the adapter's one
session, its answers checked, transport failures as retryable IntegrationErrors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from yarl import URL

from bot.core.ports import Clock, IntegrationError, Target
from bot.core.webhook_signature import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from integrations.base import Http, Response, Session
from integrations.webhook.settings import WebhookSettings

EVERY_STATUS = tuple(range(100, 600))


class DeployScript:
    def __init__(self, name: str, settings: WebhookSettings, clock: Clock) -> None:
        self.name = name
        self.settings = settings
        self._clock = clock
        self._session = Session()

    async def close(self) -> None:
        await self._session.close()

    async def deliver(self, idempotency_key: str, body: bytes) -> Response:
        """The signed POST of a step or a rollback; IntegrationError unless it answers 2xx."""
        headers = {
            **self._signed_headers(body),
            DELIVERY_HEADER: idempotency_key,
            "Content-Type": "application/json",
        }
        response = await self._request("POST", self.settings.url, headers=headers, body=body)
        self._raise_unless_ok("POST", self.settings.url, response)
        return response

    async def ask_version(self, target: Target) -> str | None:
        assert self.settings.version_url
        url = URL(self.settings.version_url).update_query(
            service=target.service,
            environment=target.environment,
            repository=target.repository,
        )
        response = await self._request("GET", str(url), headers=self._signed_headers(b""))
        self._raise_unless_ok("GET", self.settings.version_url, response)
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("version", 0), str | None):
            raise IntegrationError(
                f'webhook {self.name}: version_url answered without {{"version": "..." | null}}',
                retryable=False,
            )
        return body["version"] or None

    async def check_health_url(self, url: str) -> str | None:
        try:
            response = await self._request("GET", url, headers=self._signed_headers(b""))
            self._raise_unless_ok("GET", url, response)
        except IntegrationError as exc:
            return str(exc)
        return None

    async def check_connection(self, url: URL) -> str | None:
        host, port = url.host or "", url.port or 443
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                _reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as exc:
            return f"webhook {self.name}: cannot connect to {host}:{port} ({type(exc).__name__})"
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(self._now()))
        return {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.settings.secret, timestamp, body),
        }

    async def _request(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None
    ) -> Response:
        """Any answer comes back as a Response; only a transport failure raises (retryable)."""
        parsed = URL(url)
        http = Http(
            str(parsed.origin()),
            name=f"webhook {self.name}",
            headers=self.settings.headers,
            timeout_s=self.settings.timeout_s,
            session=self._session,
        )
        try:
            return await http.request(
                method, parsed.raw_path_qs, data=body, headers=headers, expect=EVERY_STATUS
            )
        except IntegrationError as exc:
            reason = type(exc.__cause__).__name__ if exc.__cause__ else "error"
            raise IntegrationError(
                f"webhook {self.name}: {method} {_shown(url)} failed: {reason}", retryable=True
            ) from exc

    def _raise_unless_ok(self, method: str, url: str, response: Response) -> None:
        if 200 <= response.status < 300:
            return
        raise IntegrationError(
            f"webhook {self.name}: {method} {_shown(url)} answered {response.status}"
            f"{_reason(response.body)}",
            retryable=response.status in (408, 429) or response.status >= 500,
            status=response.status,
        )

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _shown(url: str) -> str:
    """The URL without its query string or any user info, for messages."""
    parsed = URL(url)
    return str(parsed.with_user(None).with_query(None).with_fragment(None))


def _reason(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return f": {body[key][:200]}"
        return ""
    if isinstance(body, str) and body.strip():
        return f": {body.strip()[:200]}"
    return ""
