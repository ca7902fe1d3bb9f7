"""POST /integrations/webhook/{backend}/callback on a real aiohttp app and a real SqlOperations
(SQLite): signatures, the time window, malformed bodies, unknown operations, idempotency."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.ports import OperationStatus
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.operations import SqlOperations
from bot.web.webhook_callbacks import webhook_callback_handler
from tests.support.webhook_script import LoopbackServer, signed_headers

SECRETS = {"deploy-hook": b"hook-secret", "other-hook": b"other-secret"}
OPERATION = "webhook:deploy-hook:release-7-stage-0"


@dataclass
class Endpoint:
    url: str
    clock: ManualClock
    operations: SqlOperations

    async def post(
        self,
        body: Any,
        *,
        backend: str = "deploy-hook",
        secret: bytes | None = None,
        skew_s: int = 0,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        timestamp = int(self.clock.now().timestamp()) + skew_s
        sent = headers or signed_headers(secret or SECRETS[backend], timestamp, raw)
        url = f"{self.url}/integrations/webhook/{backend}/callback"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=raw, headers=sent) as response,
        ):
            return response.status, await response.json()


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[Endpoint]:
    clock = ManualClock()
    engine = create_engine(f"sqlite:///{tmp_path / 'callbacks.db'}")
    await migrate.upgrade(engine)
    operations = SqlOperations(session_factory(engine), clock)
    app = web.Application()
    app.router.add_post(
        "/integrations/webhook/{backend}/callback",
        webhook_callback_handler(SECRETS, operations, clock),
    )
    server = await LoopbackServer.start(app)
    try:
        yield Endpoint(server.url, clock, operations)
    finally:
        await server.stop()
        await engine.dispose()


def callback(state: str = "succeeded", detail: str = "healthy", **extra: Any) -> dict[str, Any]:
    return {"operation_id": OPERATION, "state": state, "detail": detail, **extra}


async def started(endpoint: Endpoint, operation: str = OPERATION) -> None:
    await endpoint.operations.put(operation, OperationStatus("running", "sent"))


async def test_a_signed_callback_finishes_a_running_operation(endpoint: Endpoint):
    await started(endpoint)
    status, body = await endpoint.post(callback())
    assert (status, body) == (
        200,
        {"operation_id": OPERATION, "state": "succeeded", "recorded": True},
    )
    assert await endpoint.operations.get(OPERATION) == OperationStatus("succeeded", "healthy")


async def test_running_callbacks_report_progress(endpoint: Endpoint):
    await started(endpoint)
    assert (await endpoint.post(callback("running", "3 of 10 pods")))[0] == 200
    assert await endpoint.operations.get(OPERATION) == OperationStatus("running", "3 of 10 pods")


async def test_detail_may_be_left_out(endpoint: Endpoint):
    await started(endpoint)
    assert (await endpoint.post({"operation_id": OPERATION, "state": "failed"}))[0] == 200
    assert await endpoint.operations.get(OPERATION) == OperationStatus("failed", "")


async def test_an_unknown_backend_is_404(endpoint: Endpoint):
    await started(endpoint)
    status, body = await endpoint.post(
        callback(), backend="nope", headers=signed_headers(b"x", 0, b"")
    )
    assert status == 404 and "nope" in body["error"]
    assert (await endpoint.operations.get(OPERATION)).state == "running"


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "another backend's secret", "stale", "from the future", "no headers"],
)
async def test_a_bad_or_stale_signature_is_401_and_writes_nothing(endpoint: Endpoint, how: str):
    await started(endpoint)
    options: dict[str, Any] = {
        "wrong secret": {"secret": b"guess"},
        "another backend's secret": {"secret": SECRETS["other-hook"]},
        "stale": {"skew_s": -301},
        "from the future": {"skew_s": 301},
        "no headers": {"headers": {"Content-Type": "application/json"}},
    }[how]
    status, body = await endpoint.post(callback(), **options)
    assert status == 401 and body["error"]
    assert "hook-secret" not in body["error"]
    assert await endpoint.operations.get(OPERATION) == OperationStatus("running", "sent")


async def test_a_replay_outside_the_window_is_refused(endpoint: Endpoint):
    await started(endpoint)
    raw = json.dumps(callback()).encode()
    headers = signed_headers(SECRETS["deploy-hook"], int(endpoint.clock.now().timestamp()), raw)
    assert (await endpoint.post(raw, headers=headers))[0] == 200
    endpoint.clock.advance(300)
    assert (await endpoint.post(raw, headers=headers))[0] == 200  # a resend: harmless
    endpoint.clock.advance(1)
    status, body = await endpoint.post(raw, headers=headers)
    assert status == 401 and "300 s" in body["error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        ({"state": "succeeded"}, "operation_id"),
        ({"operation_id": 7, "state": "succeeded"}, "operation_id"),
        ({"operation_id": OPERATION}, "state must be one of running, succeeded, failed"),
        ({"operation_id": OPERATION, "state": "done"}, "state must be one of"),
        ({"operation_id": OPERATION, "state": "failed", "detail": 3}, "detail must be a string"),
        ({"operation_id": OPERATION, "state": "failed", "detail": "x" * 2001}, "2000"),
    ],
)
async def test_a_malformed_body_is_400_saying_what_is_wrong(
    endpoint: Endpoint, body: Any, says: str
):
    await started(endpoint)
    status, answer = await endpoint.post(body)
    assert status == 400 and says in answer["error"]
    assert await endpoint.operations.get(OPERATION) == OperationStatus("running", "sent")


async def test_an_operation_the_bot_did_not_start_is_409(endpoint: Endpoint):
    status, body = await endpoint.post(callback())
    assert status == 409 and OPERATION in body["error"]
    assert await endpoint.operations.get(OPERATION) is None


async def test_a_backend_cannot_report_another_backends_operation(endpoint: Endpoint):
    foreign = "webhook:other-hook:release-7-stage-0"
    await started(endpoint, foreign)
    status, _ = await endpoint.post(callback(operation_id=foreign))
    assert status == 409
    assert (await endpoint.operations.get(foreign)).state == "running"


async def test_records_that_are_not_operations_cannot_be_touched(endpoint: Endpoint):
    bookkeeping = "webhook-running:deploy-hook:checkout:production"
    await endpoint.operations.put(bookkeeping, OperationStatus("succeeded", "v1"))
    status, _ = await endpoint.post(callback(operation_id=bookkeeping))
    assert status == 409
    assert await endpoint.operations.get(bookkeeping) == OperationStatus("succeeded", "v1")


async def test_the_same_final_state_again_is_200_and_changes_nothing(endpoint: Endpoint):
    await started(endpoint)
    await endpoint.post(callback("succeeded", "healthy"))
    status, body = await endpoint.post(callback("succeeded", "healthy, said twice"))
    assert status == 200 and body["recorded"] is False
    assert await endpoint.operations.get(OPERATION) == OperationStatus("succeeded", "healthy")


@pytest.mark.parametrize("late", ["failed", "running"])
async def test_a_different_state_after_the_end_is_409(endpoint: Endpoint, late: str):
    await started(endpoint)
    await endpoint.post(callback("succeeded"))
    status, body = await endpoint.post(callback(late, "changed my mind"))
    assert status == 409 and "already succeeded" in body["error"]
    assert await endpoint.operations.get(OPERATION) == OperationStatus("succeeded", "healthy")
