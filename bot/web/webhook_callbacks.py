"""POST /integrations/webhook/{backend}/callback: a deploy script reports how an operation ended.

The script signs its callback like the bot signs its requests (bot/core/webhook_signature.py,
with the same backend secret) and sends JSON:

    {"operation_id": "webhook:deploy-hook:release-7-stage-0",
     "state": "running" | "succeeded" | "failed",
     "detail": "optional, up to 2000 characters"}

Answers: 200 recorded (or already recorded: a resend is harmless), 400 malformed body,
401 bad or stale signature (nothing written), 404 unknown backend, 409 an operation this bot
did not start through this backend, or one that already ended differently.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.core.ports import Clock, OperationStatus, OperationStore
from bot.core.webhook_signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    belongs_to,
    signature_problem,
)

log = logging.getLogger(__name__)

STATES = ("running", "succeeded", "failed")
FINAL_STATES = ("succeeded", "failed")
MAX_DETAIL_CHARS = 2000

Handler = Callable[[web.Request], Awaitable[web.Response]]


class MalformedCallback(ValueError):
    pass


@dataclass(frozen=True)
class Callback:
    operation_id: str
    status: OperationStatus


def webhook_callback_handler(
    secrets: Mapping[str, bytes], operations: OperationStore, clock: Clock
) -> Handler:
    """`secrets` maps each webhook backend's catalog name to its signing secret."""

    async def handle(request: web.Request) -> web.Response:
        backend = request.match_info["backend"]
        secret = secrets.get(backend)
        if secret is None:
            return _error(404, f"no webhook backend named {backend!r}")
        body = await request.read()
        problem = signature_problem(
            secret,
            request.headers.get(TIMESTAMP_HEADER, ""),
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            clock.now(),
        )
        if problem is not None:
            log.warning("webhook %s: rejected a callback: %s", backend, problem)
            return _error(401, problem)
        try:
            callback = parse_callback(body)
        except MalformedCallback as exc:
            return _error(400, str(exc))
        return await _record(backend, callback, operations)

    return handle


def parse_callback(body: bytes) -> Callback:
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise MalformedCallback("the body is not JSON") from exc
    if not isinstance(data, dict):
        raise MalformedCallback("the body must be a JSON object")
    operation = data.get("operation_id")
    if not isinstance(operation, str) or not operation:
        raise MalformedCallback("operation_id must be a non-empty string")
    state = data.get("state")
    if state not in STATES:
        raise MalformedCallback(f"state must be one of {', '.join(STATES)}")
    detail = data.get("detail", "")
    if detail is None:
        detail = ""
    if not isinstance(detail, str):
        raise MalformedCallback("detail must be a string")
    if len(detail) > MAX_DETAIL_CHARS:
        raise MalformedCallback(f"detail is longer than {MAX_DETAIL_CHARS} characters")
    return Callback(operation, OperationStatus(state, detail))


async def _record(backend: str, callback: Callback, operations: OperationStore) -> web.Response:
    operation = callback.operation_id
    known = await operations.get(operation) if belongs_to(backend, operation) else None
    if known is None:
        return _error(409, f"operation {operation!r} was not started by backend {backend!r}")
    if known.state in FINAL_STATES:
        if known.state != callback.status.state:
            return _error(409, f"operation {operation!r} already {known.state}")
        return _accepted(operation, known, changed=False)
    await operations.put(operation, callback.status)
    log.info("webhook %s: operation %s is %s", backend, operation, callback.status.state)
    return _accepted(operation, callback.status, changed=True)


def _accepted(operation: str, status: OperationStatus, *, changed: bool) -> web.Response:
    return web.json_response(
        {"operation_id": operation, "state": status.state, "recorded": changed}
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
