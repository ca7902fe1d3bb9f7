"""A deployer for any in-house deploy script: one signed JSON POST per stage and per rollback.

Catalog settings:
  url: https://deploy.internal/hook   required; http or https, no credentials in it
  secret_env: DEPLOY_HOOK_SECRET      required (or secret_file: /run/secrets/deploy-hook):
                                      the HMAC key both sides sign with
  mode: sync                          sync (default): the POST's answer is the result;
                                      callback: the POST only needs a 2xx, and the result
                                      comes later to the `callback_url` in the body:
                                      POST {public_url}/integrations/webhook/{name}/callback
  timeout_s: 10                       per HTTP request
  callback_timeout_s: 1800            a running operation with no final word after this long
                                      fails with "no callback within ..." (30m, 2h also work)
  version_url: https://deploy.internal/version   optional, see current_version()
  health_url: https://deploy.internal/healthz    optional, see health()
  headers: {X-Team: payments}         optional extra headers; never secrets (no Authorization)

The request body (JSON, compact, sorted keys):
  {"event": "step" | "rollback", "operation_id", "idempotency_key", "release_id",
   "service", "environment", "repository",
   "stage": {"index", "label", "action", "percent"} (null for a rollback),
   "version"          the release's new version,
   "previous_version" the version that ran before the release (null when unknown),
   "to_version"       where this request takes the service: a step, `version`; a rollback, the
                      version to return to (null: "the previous one, as you know it"),
   "callback_url"     where to report later (null when the bot has no public URL),
   "sent_at"          ISO 8601, UTC}
signed as bot/core/webhook_signature.py describes (X-Releasebot-Signature-256 over
"v1:{X-Releasebot-Timestamp}:{raw body}"). A resend after a crash or timeout carries the same
X-Releasebot-Delivery (the idempotency key) and operation id: the script must dedupe on it.

Sync answers (2xx): {"state": "succeeded" | "failed" | "running", "detail": "..."}; "running"
(or a bare 202) means the result follows as a callback. 408, 429 and 5xx answers, timeouts and
connection errors are retryable; other answers are not.

Everything the bot learns is kept in the OperationStore, so any replica can poll:
  webhook:{name}:{key}          the operation's state (written by this adapter and by callbacks)
  webhook-started:{name}:{key}  when it was first sent, and what it makes run when it succeeds
  webhook-running:{name}:{service}:{environment}  the version last seen to succeed
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from yarl import URL

from bot.core.durations import format_duration, parse_duration
from bot.core.ports import (
    Clock,
    IntegrationError,
    OperationStatus,
    OperationStore,
    RollbackRequest,
    StepRequest,
    Target,
)
from bot.core.webhook_signature import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    belongs_to,
    operation_id,
    operation_prefix,
    sign,
    verify,
)
from integrations.base import (
    BackendContext,
    Http,
    Response,
    SettingsProblem,
    reject_unknown,
    required,
    secret,
)

__all__ = ["WebhookDeployer", "WebhookSettings", "build", "sign", "verify"]

Mode = Literal["sync", "callback"]
FINAL_STATES = ("succeeded", "failed")
ANSWER_STATES = ("running", *FINAL_STATES)
EVERY_STATUS = tuple(range(100, 600))
MANAGED_HEADERS = frozenset(
    name.lower() for name in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, "Content-Type")
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
KNOWN_SETTINGS = frozenset(
    {
        "url",
        "secret_env",
        "secret_file",
        "mode",
        "timeout_s",
        "callback_timeout_s",
        "version_url",
        "health_url",
        "headers",
    }
)
BACKEND_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_POLL_INTERVAL_S = 5
AWAITING_CALLBACK = OperationStatus(
    "running", "accepted by the deploy script; waiting for its callback"
)


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: bytes = field(repr=False)
    mode: Mode = "sync"
    timeout_s: float = 10.0
    callback_timeout_s: float = 1800.0
    version_url: str | None = None
    health_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_catalog(cls, settings: Mapping[str, Any], env: Mapping[str, str]) -> WebhookSettings:
        reject_unknown(settings, KNOWN_SETTINGS, "webhook backend")
        return cls(
            url=_http_url("url", required(settings, "url", "webhook")),
            secret=_signing_secret(settings, env),
            mode=_mode(settings),
            timeout_s=_seconds(settings, "timeout_s", 10.0),
            callback_timeout_s=_seconds(settings, "callback_timeout_s", 1800.0),
            version_url=_optional_url(settings, "version_url"),
            health_url=_optional_url(settings, "health_url"),
            headers=_extra_headers(settings),
        )


def build(
    settings: dict, context: BackendContext, backend_name: str | None = None
) -> WebhookDeployer:
    """`backend_name` (default: the context's, i.e. the catalog's) names the callback URL and
    the operation ids, and must match the key of its secret in the callback endpoint's
    mapping."""
    backend_name = backend_name or context.name or "webhook"
    if not BACKEND_NAME.match(backend_name):
        raise SettingsProblem(f"webhook backend name {backend_name!r}: use letters, digits, _.-")
    config = WebhookSettings.from_catalog(settings, context.env)
    if context.operations is None:
        raise SettingsProblem("a webhook backend needs the bot's operation store (its database)")
    if config.mode == "callback" and not context.public_url:
        raise SettingsProblem(
            "a webhook backend in callback mode needs the bot's public URL "
            "(RELEASEBOT_PUBLIC_URL), where deploy scripts send their callbacks"
        )
    return WebhookDeployer(
        backend_name, config, context.operations, context.clock, context.public_url
    )


@dataclass(frozen=True)
class _Started:
    """What the adapter remembers about an operation beyond its state."""

    at: float  # Unix seconds of the first send
    makes_running: str | None  # what runs once it succeeds; None: no change, "": unknown

    def encode(self) -> str:
        return json.dumps({"at": self.at, "makes_running": self.makes_running})

    @classmethod
    def decode(cls, text: str) -> _Started | None:
        try:
            data = json.loads(text)
            return cls(float(data["at"]), data["makes_running"])
        except (ValueError, KeyError, TypeError):
            return None


class WebhookDeployer:
    """Implements Deployer and Probe (bot/core/ports/integrations.py) over a signed webhook."""

    def __init__(
        self,
        name: str,
        settings: WebhookSettings,
        operations: OperationStore,
        clock: Clock,
        public_url: str = "",
    ) -> None:
        self.name = name
        self.settings = settings
        self._operations = operations
        self._clock = clock
        self._public_url = public_url.rstrip("/")

    @property
    def signing_secret(self) -> bytes:
        """For the callback endpoint's `secrets` mapping (keyed by `name`)."""
        return self.settings.secret

    @property
    def callback_url(self) -> str | None:
        if not self._public_url:
            return None
        return f"{self._public_url}/integrations/webhook/{self.name}/callback"

    def __repr__(self) -> str:
        return f"WebhookDeployer({self.name!r}, {self.settings.mode}, {self.settings.url!r})"

    # Deployer

    async def current_version(self, target: Target) -> str | None:
        """With `version_url`: what the script says runs now (GET ?service=&environment=
        &repository=, answered with {"version": "..." | null}). Without it: the version this bot
        last saw a full step or a rollback through this backend succeed for the target: it
        cannot see deploys made by other means, and before its first success it says None."""
        if self.settings.version_url:
            return await self._ask_version(target)
        remembered = await self._operations.get(self._running_key(target))
        return remembered.detail or None if remembered else None

    async def start_step(self, request: StepRequest) -> str:
        makes_running = request.version if request.percent == 100 else None
        payload = {
            "event": "step",
            "stage": {
                "index": request.stage_index,
                "label": request.label,
                "action": request.action,
                "percent": request.percent,
            },
            "version": request.version,
            "previous_version": request.previous_version,
            "to_version": request.version,
        }
        started = _Started(self._now(), makes_running)
        return await self._start(
            request.target, request.release_id, request.idempotency_key, payload, started
        )

    async def start_rollback(self, request: RollbackRequest) -> str:
        payload = {
            "event": "rollback",
            "stage": None,
            "version": request.from_version,
            "previous_version": request.to_version,
            "to_version": request.to_version,
        }
        started = _Started(self._now(), request.to_version or "")
        return await self._start(
            request.target, request.release_id, request.idempotency_key, payload, started
        )

    async def poll(self, target: Target, operation_id: str) -> OperationStatus:
        if not belongs_to(self.name, operation_id):
            raise IntegrationError(
                f"webhook {self.name}: {operation_id!r} is not one of its operations",
                retryable=False,
            )
        status = await self._operations.get(operation_id)
        if status is None:
            raise IntegrationError(
                f"webhook {self.name}: no record of operation {operation_id!r}", retryable=False
            )
        if status.state == "succeeded":
            await self._remember_running(target, operation_id)
        if status.state != "running":
            return status
        return await self._running_or_timed_out(operation_id, status)

    # Probe

    async def health(self) -> str | None:
        """With `health_url`: None when a signed GET answers 2xx. Without it: None when the
        webhook's host accepts a TCP connection (no request is sent: a HEAD or OPTIONS could
        look like a delivery to a script that only expects POSTs)."""
        if self.settings.health_url:
            return await self._check_health_url(self.settings.health_url)
        return await self._check_connection(URL(self.settings.url))

    # Starting operations

    async def _start(
        self,
        target: Target,
        release_id: int,
        idempotency_key: str,
        payload: dict[str, Any],
        started: _Started,
    ) -> str:
        operation = operation_id(self.name, idempotency_key)
        known = await self._operations.get(operation)
        if known is not None and known.state in FINAL_STATES:
            return operation
        if known is None:
            # Recorded before sending, so a callback that beats the answer finds its operation.
            await self._operations.put(
                self._started_key(operation), OperationStatus("running", started.encode())
            )
            await self._operations.put(
                operation, OperationStatus("running", "sent to the deploy script")
            )
        body = {
            **payload,
            "operation_id": operation,
            "idempotency_key": idempotency_key,
            "release_id": release_id,
            "service": target.service,
            "environment": target.environment,
            "repository": target.repository,
            "callback_url": self.callback_url,
            "sent_at": self._clock.now().isoformat(),
        }
        response = await self._deliver(idempotency_key, body)
        if self.settings.mode == "sync":
            await self._take_answer(target, operation, self._answer(response))
        else:
            await self._note_running(operation, AWAITING_CALLBACK)
        return operation

    async def _deliver(self, idempotency_key: str, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            **self._signed_headers(body),
            DELIVERY_HEADER: idempotency_key,
            "Content-Type": "application/json",
        }
        response = await self._request("POST", self.settings.url, headers=headers, body=body)
        self._raise_unless_ok("POST", self.settings.url, response)
        return response

    async def _take_answer(self, target: Target, operation: str, answer: OperationStatus) -> None:
        if answer.state == "running":
            await self._note_running(operation, answer)
            return
        await self._operations.put(operation, answer)
        if answer.state == "succeeded":
            await self._remember_running(target, operation)

    async def _note_running(self, operation: str, status: OperationStatus) -> None:
        current = await self._operations.get(operation)
        if current is None or current.state not in FINAL_STATES:  # a callback may have won
            await self._operations.put(operation, status)

    def _answer(self, response: Response) -> OperationStatus:
        body = response.body
        if response.status == 202 and body in (None, ""):
            return AWAITING_CALLBACK
        if not isinstance(body, dict) or body.get("state") not in ANSWER_STATES:
            raise IntegrationError(
                f"webhook {self.name}: the deploy script answered {response.status} without "
                f'{{"state": "succeeded" | "failed" | "running"}}',
                retryable=False,
            )
        detail = body.get("detail")
        detail = detail if isinstance(detail, str) else ""
        if body["state"] == "running":
            detail = detail or "the deploy script is working on it"
        return OperationStatus(body["state"], detail)

    # Polling

    async def _running_or_timed_out(
        self, operation: str, status: OperationStatus
    ) -> OperationStatus:
        started = await self._started(operation)
        if started is None:
            return status
        limit = self.settings.callback_timeout_s
        elapsed = self._now() - started.at
        if elapsed >= limit:
            failed = OperationStatus(
                "failed", f"no callback from the deploy script within {format_duration(limit)}"
            )
            await self._operations.put(operation, failed)
            return failed
        wait = max(1, min(MAX_POLL_INTERVAL_S, int(limit - elapsed)))
        return OperationStatus("running", status.detail, poll_in_s=wait)

    async def _remember_running(self, target: Target, operation: str) -> None:
        if self.settings.version_url:
            return
        started = await self._started(operation)
        if started is None or started.makes_running is None:
            return
        await self._operations.put(
            self._running_key(target), OperationStatus("succeeded", started.makes_running)
        )

    async def _started(self, operation: str) -> _Started | None:
        record = await self._operations.get(self._started_key(operation))
        return _Started.decode(record.detail) if record else None

    def _started_key(self, operation: str) -> str:
        return f"webhook-started:{self.name}:{operation.removeprefix(operation_prefix(self.name))}"

    def _running_key(self, target: Target) -> str:
        return f"webhook-running:{self.name}:{target.service}:{target.environment}"

    # Versions and health

    async def _ask_version(self, target: Target) -> str | None:
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

    async def _check_health_url(self, url: str) -> str | None:
        try:
            response = await self._request("GET", url, headers=self._signed_headers(b""))
            self._raise_unless_ok("GET", url, response)
        except IntegrationError as exc:
            return str(exc)
        return None

    async def _check_connection(self, url: URL) -> str | None:
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

    # HTTP

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


# Settings


def _signing_secret(settings: Mapping[str, Any], env: Mapping[str, str]) -> bytes:
    value = secret(settings, "secret", env)
    if not value:
        raise SettingsProblem(
            "a webhook backend needs `secret_env` or `secret_file`: the key it signs requests "
            "with and checks callbacks against"
        )
    return value.encode()


def _mode(settings: Mapping[str, Any]) -> Mode:
    mode = settings.get("mode", "sync")
    if mode not in ("sync", "callback"):
        raise SettingsProblem(f"webhook `mode` is {mode!r}; use sync or callback")
    return mode


def _http_url(name: str, value: Any) -> str:
    parsed = URL(str(value)) if isinstance(value, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise SettingsProblem(f"webhook `{name}` must be an http:// or https:// URL")
    if parsed.user or parsed.password:
        raise SettingsProblem(
            f"webhook `{name}` must not carry credentials; the request is signed with the "
            "secret from `secret_env` / `secret_file`"
        )
    return value


def _optional_url(settings: Mapping[str, Any], name: str) -> str | None:
    value = settings.get(name)
    return None if value in (None, "") else _http_url(name, value)


def _seconds(settings: Mapping[str, Any], name: str, default: float) -> float:
    value = settings.get(name, default)
    try:
        seconds = parse_duration(value) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        seconds = 0
    if isinstance(value, bool) or seconds <= 0:
        raise SettingsProblem(f"webhook `{name}` must be a positive number of seconds")
    return seconds


def _extra_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    headers = settings.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise SettingsProblem("webhook `headers` must map header names to strings")
    for header in headers:
        if header.lower() in SECRET_HEADERS:
            raise SettingsProblem(
                f"webhook `headers` must not set {header}: the catalog holds no secrets; the "
                "signature made with `secret_env` / `secret_file` authenticates the bot"
            )
        if header.lower() in MANAGED_HEADERS:
            raise SettingsProblem(f"webhook `headers` must not set {header}: the bot sets it")
    return dict(headers)
