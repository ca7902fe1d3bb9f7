"""The webhook deployer: operations started by a signed POST, their state kept in the
OperationStore (so any replica can poll), finished by the script's answer or its callback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from yarl import URL

from bot.core.durations import format_duration
from bot.core.ports import (
    Clock,
    IntegrationError,
    OperationStatus,
    OperationStore,
    RollbackRequest,
    StepRequest,
    Target,
)
from bot.core.webhook_signature import belongs_to, operation_id, operation_prefix
from integrations.base import Response
from integrations.webhook.client import DeployScript
from integrations.webhook.settings import WebhookSettings

FINAL_STATES = ("succeeded", "failed")
ANSWER_STATES = ("running", *FINAL_STATES)
MAX_POLL_INTERVAL_S = 5
AWAITING_CALLBACK = OperationStatus(
    "running", "accepted by the deploy script; waiting for its callback"
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
        self._script = DeployScript(name, settings, clock)

    async def close(self) -> None:
        await self._script.close()

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
            return await self._script.ask_version(target)
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
            return await self._script.check_health_url(self.settings.health_url)
        return await self._script.check_connection(URL(self.settings.url))

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
        return await self._script.deliver(idempotency_key, body)

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

    def _now(self) -> float:
        return self._clock.now().timestamp()
