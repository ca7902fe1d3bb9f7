"""The webhook deployer against a fake deploy script on a real loopback port, with the bot's
real callback endpoint and SqlOperations on SQLite, all on one ManualClock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.core.clock import ManualClock
from bot.core.ports import (
    IntegrationError,
    OperationStatus,
    RollbackRequest,
    StepRequest,
    Target,
)
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.operations import SqlOperations
from bot.web.webhook_callbacks import webhook_callback_handler
from integrations.base import BackendContext, SettingsProblem
from integrations.webhook import WebhookDeployer, build, sign, verify
from tests.contracts.worlds.webhook import webhook_world
from tests.support.webhook_script import (
    FakeDeployScript,
    LoopbackServer,
    signature_for,
    signed_headers,
)

BACKEND = "deploy-hook"
SECRET = "hook-secret-do-not-leak"
ENV = {"DEPLOY_HOOK_SECRET": SECRET}
TARGET = Target("checkout", "production", "acme/checkout")


def step(
    key: str = "release-7-stage-0", percent: int | None = 10, label: str = "10%"
) -> StepRequest:
    return StepRequest(
        target=TARGET,
        release_id=7,
        stage_index=0,
        label=label,
        action="weight",
        percent=percent,
        version="v2",
        previous_version="v1",
        idempotency_key=key,
    )


def rollback(to_version: str | None = "v1", key: str = "release-7-rollback-1") -> RollbackRequest:
    return RollbackRequest(
        target=TARGET, release_id=7, to_version=to_version, from_version="v2", idempotency_key=key
    )


@dataclass
class World:
    clock: ManualClock
    operations: SqlOperations
    script: FakeDeployScript
    bot_url: str

    def context(self, **changes: Any) -> BackendContext:
        values: dict[str, Any] = {
            "clock": self.clock,
            "env": ENV,
            "operations": self.operations,
            "public_url": self.bot_url,
        }
        return BackendContext(**{**values, **changes})

    def adapter(self, mode: str = "sync", **settings: Any) -> WebhookDeployer:
        base = {"url": f"{self.script.url}/deploy", "secret_env": "DEPLOY_HOOK_SECRET"}
        return build({**base, "mode": mode, **settings}, self.context(), backend_name=BACKEND)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock()
    engine = create_engine(f"sqlite:///{tmp_path / 'webhook.db'}")
    await migrate.upgrade(engine)
    operations = SqlOperations(session_factory(engine), clock)
    app = web.Application()
    app.router.add_post(
        "/integrations/webhook/{backend}/callback",
        webhook_callback_handler({BACKEND: SECRET.encode()}, operations, clock),
    )
    bot = await LoopbackServer.start(app)
    script = await FakeDeployScript.start(SECRET.encode(), clock)
    try:
        yield World(clock, operations, script, bot.url)
    finally:
        await script.stop()
        await bot.stop()
        await engine.dispose()


async def failure(call: Awaitable[Any]) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        await call
    assert SECRET not in str(caught.value)
    return caught.value


# The request on the wire


async def test_a_step_is_one_signed_post_with_the_documented_body(world: World):
    operation = await world.adapter().start_step(step())

    assert operation == "webhook:deploy-hook:release-7-stage-0"
    [delivery] = world.script.deliveries
    assert delivery.problem is None
    now = int(world.clock.now().timestamp())
    assert delivery.headers["X-Releasebot-Timestamp"] == str(now)
    assert delivery.headers["X-Releasebot-Signature-256"] == signature_for(
        SECRET.encode(), str(now), delivery.raw
    )
    assert delivery.headers["X-Releasebot-Delivery"] == "release-7-stage-0"
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.payload == {
        "event": "step",
        "operation_id": operation,
        "idempotency_key": "release-7-stage-0",
        "release_id": 7,
        "service": "checkout",
        "environment": "production",
        "repository": "acme/checkout",
        "stage": {"index": 0, "label": "10%", "action": "weight", "percent": 10},
        "version": "v2",
        "previous_version": "v1",
        "to_version": "v2",
        "callback_url": f"{world.bot_url}/integrations/webhook/deploy-hook/callback",
        "sent_at": world.clock.now().isoformat(),
    }


async def test_a_rollback_names_where_it_goes(world: World):
    operation = await world.adapter().start_rollback(rollback("v1"))

    assert operation == "webhook:deploy-hook:release-7-rollback-1"
    payload = world.script.deliveries[0].payload
    assert payload["event"] == "rollback"
    assert payload["stage"] is None
    assert (payload["version"], payload["previous_version"], payload["to_version"]) == (
        "v2",
        "v1",
        "v1",
    )


async def test_the_exported_helpers_sign_as_documented(world: World):
    body = b'{"a":1}'
    assert sign(b"k", "1700000000", body) == signature_for(b"k", "1700000000", body)
    assert verify(b"k", "1700000000", body, signature_for(b"k", "1700000000", body), _at(1.7e9))


async def test_extra_headers_are_sent(world: World):
    await world.adapter(headers={"X-Team": "payments"}).start_step(step())
    assert world.script.deliveries[0].headers["X-Team"] == "payments"


# Sync mode


async def test_sync_success_is_stored_for_any_replica(world: World):
    adapter = world.adapter()
    operation = await adapter.start_step(step())

    assert await adapter.poll(TARGET, operation) == OperationStatus("succeeded", "healthy")
    another_replica = world.adapter()
    assert await another_replica.poll(TARGET, operation) == OperationStatus("succeeded", "healthy")


async def test_sync_failure_polls_failed_with_the_scripts_detail(world: World):
    world.script.fail_next_step = True
    adapter = world.adapter()
    operation = await adapter.start_step(step())

    status = await adapter.poll(TARGET, operation)
    assert status.state == "failed"
    assert status.detail == "pods crash-looping (fake deploy script)"


async def test_sync_running_waits_for_the_callback(world: World):
    world.script.answers.append((200, {"state": "running", "detail": "rolling 3 of 10 pods"}))
    adapter = world.adapter()
    operation = await adapter.start_step(step())

    assert await adapter.poll(TARGET, operation) == OperationStatus(
        "running", "rolling 3 of 10 pods"
    )
    callback_url = world.script.deliveries[0].payload["callback_url"]
    answer = await world.script.call_back(
        callback_url, {"operation_id": operation, "state": "succeeded", "detail": "done"}
    )
    assert answer[0] == 200
    assert await adapter.poll(TARGET, operation) == OperationStatus("succeeded", "done")


async def test_a_bare_202_in_sync_mode_means_a_callback_follows(world: World):
    world.script.answers.append((202, None))
    adapter = world.adapter()
    operation = await adapter.start_step(step())
    assert (await adapter.poll(TARGET, operation)).state == "running"


async def test_a_finished_operation_is_not_sent_again(world: World):
    adapter = world.adapter()
    first = await adapter.start_step(step())
    again = await adapter.start_step(step())

    assert first == again
    assert len(world.script.deliveries) == 1


@pytest.mark.parametrize(
    "answer",
    [{"ok": True}, {"state": "done"}, "plain text", None, [1]],
    ids=["no state", "unknown state", "text", "empty", "list"],
)
async def test_an_answer_without_a_state_is_not_retryable(world: World, answer: Any):
    world.script.answers.append((200, answer))
    error = await failure(world.adapter().start_step(step()))
    assert not error.retryable
    assert '"state"' in str(error)


# Callback mode


async def test_callback_mode_polls_running_until_the_script_calls_back(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback")
    operation = await adapter.start_step(step())

    status = await adapter.poll(TARGET, operation)
    assert status.state == "running" and status.detail
    assert 1 <= status.poll_in_s <= 5

    await world.script.finish_operations()
    assert world.script.callbacks == [
        (200, {"operation_id": operation, "state": "succeeded", "recorded": True})
    ]
    assert await adapter.poll(TARGET, operation) == OperationStatus("succeeded", "healthy")


async def test_callback_mode_reports_a_failure(world: World):
    world.script.mode = "callback"
    world.script.fail_next_step = True
    adapter = world.adapter("callback")
    operation = await adapter.start_step(step())
    await world.script.finish_operations()

    status = await adapter.poll(TARGET, operation)
    assert status.state == "failed" and status.detail


async def test_the_same_key_resends_with_the_same_delivery_id(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback")
    first = await adapter.start_step(step())
    world.clock.advance(30)
    again = await adapter.start_step(step())

    assert first == again
    assert [d.delivery_id for d in world.script.deliveries] == ["release-7-stage-0"] * 2
    assert list(world.script.pending) == ["release-7-stage-0"]  # the script deduped


async def test_no_callback_within_the_timeout_fails_the_operation(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback", callback_timeout_s="30m")
    operation = await adapter.start_step(step())
    world.clock.advance(30)
    await adapter.start_step(step())  # a resend does not restart the timer

    world.clock.advance(1800 - 31)
    running = await adapter.poll(TARGET, operation)
    assert running.state == "running" and running.poll_in_s == 1
    world.clock.advance(1)
    timed_out = OperationStatus("failed", "no callback from the deploy script within 30m00s")
    assert await adapter.poll(TARGET, operation) == timed_out
    assert await world.adapter("callback").poll(TARGET, operation) == timed_out

    await world.script.finish_operations()
    assert world.script.callbacks[-1][0] == 409  # too late: the bot has given up
    assert await adapter.poll(TARGET, operation) == timed_out


async def test_a_callback_replayed_outside_the_window_is_refused(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback")
    operation = await adapter.start_step(step())
    callback_url = world.script.deliveries[0].payload["callback_url"]
    raw = json.dumps({"operation_id": operation, "state": "running", "detail": "x"}).encode()
    headers = signed_headers(SECRET.encode(), int(world.clock.now().timestamp()), raw)
    world.clock.advance(301)

    status, body = await world.script.call_back(callback_url, raw, headers=headers)
    assert status == 401 and "300 s" in body["error"]


async def test_a_callback_signed_with_another_secret_is_refused(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback")
    operation = await adapter.start_step(step())
    callback_url = world.script.deliveries[0].payload["callback_url"]

    status, _ = await world.script.call_back(
        callback_url, {"operation_id": operation, "state": "succeeded"}, secret=b"guess"
    )
    assert status == 401
    assert (await adapter.poll(TARGET, operation)).state == "running"


async def test_the_operation_is_recorded_before_it_is_sent(world: World):
    world.script.answers.append((503, {"error": "busy"}))
    adapter = world.adapter("callback")
    await failure(adapter.start_step(step()))

    operation = "webhook:deploy-hook:release-7-stage-0"
    assert (await world.operations.get(operation)).state == "running"  # a callback would land


# Errors


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (409, False),
        (422, False),
        (408, True),
        (429, True),
        (500, True),
        (501, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
async def test_answers_map_to_retryable_or_not(world: World, status: int, retryable: bool):
    world.script.answers.append((status, {"error": "the script says no"}))
    error = await failure(world.adapter().start_step(step()))
    assert (error.retryable, error.status) == (retryable, status)
    assert f"answered {status}: the script says no" in str(error)


async def test_a_retry_after_a_retryable_failure_resends_the_same_delivery(world: World):
    world.script.answers.append((503, {"error": "busy"}))
    adapter = world.adapter()
    await failure(adapter.start_step(step()))
    operation = await adapter.start_step(step())

    assert [d.delivery_id for d in world.script.deliveries] == ["release-7-stage-0"] * 2
    assert (await adapter.poll(TARGET, operation)).state == "succeeded"


async def test_an_unreachable_script_is_retryable(world: World):
    adapter = world.adapter(version_url=f"{world.script.url}/version")
    await world.script.stop()

    assert (await failure(adapter.start_step(step()))).retryable
    assert (await failure(adapter.start_rollback(rollback()))).retryable
    assert (await failure(adapter.current_version(TARGET))).retryable


async def test_a_slow_script_times_out_retryably(world: World):
    never = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    app = web.Application()
    app.router.add_post("/deploy", hang)
    slow = await LoopbackServer.start(app)
    try:
        adapter = build(
            {"url": f"{slow.url}/deploy", "secret_env": "DEPLOY_HOOK_SECRET", "timeout_s": 0.2},
            world.context(),
            backend_name=BACKEND,
        )
        error = await failure(adapter.start_step(step()))
    finally:
        never.set()
        await slow.stop()
    assert error.retryable and "TimeoutError" in str(error)


async def test_a_wrong_secret_is_refused_by_the_script_and_not_retried(world: World):
    adapter = build(
        {"url": f"{world.script.url}/deploy", "secret_env": "OTHER"},
        world.context(env={"OTHER": "not-the-scripts-secret"}),
        backend_name=BACKEND,
    )
    error = await failure(adapter.start_step(step()))
    assert not error.retryable
    assert world.script.deliveries[0].problem == "bad signature"
    assert "not-the-scripts-secret" not in str(error)


async def test_an_unknown_or_foreign_operation_cannot_be_polled(world: World):
    adapter = world.adapter()
    unknown = await failure(adapter.poll(TARGET, "webhook:deploy-hook:never-started"))
    foreign = await failure(adapter.poll(TARGET, "sim:1.0:3:ok:10%"))
    assert not unknown.retryable and not foreign.retryable


async def test_no_error_or_health_text_carries_the_secret(world: World):
    adapter = world.adapter(
        version_url=f"{world.script.url}/version", health_url=f"{world.script.url}/health"
    )
    texts = [repr(adapter), repr(adapter.settings)]
    world.script.health_status = 503
    texts.append(await adapter.health() or "")
    for status in (400, 401, 500):
        world.script.answers.append((status, {"error": "no"}))
        texts.append(str(await failure(adapter.start_step(step(key=f"k{status}")))))
    await world.script.stop()
    texts.append(await adapter.health() or "")
    texts.append(str(await failure(adapter.current_version(TARGET))))
    assert all(texts)
    assert not [text for text in texts if SECRET in text]


# Versions


async def test_version_url_says_what_runs(world: World):
    world.script.running[("checkout", "production")] = "v1.4.2"
    adapter = world.adapter(version_url=f"{world.script.url}/version")

    assert await adapter.current_version(TARGET) == "v1.4.2"
    assert await adapter.current_version(Target("checkout", "staging", "acme/checkout")) is None
    asked = world.script.deliveries[0]
    assert (asked.method, asked.path, asked.raw) == ("GET", "/version", b"")
    assert asked.problem is None  # signed over the empty body


async def test_a_version_url_without_a_version_is_not_retryable(world: World):
    async def no_version(_request: web.Request) -> web.Response:
        return web.json_response({"running": "v1"})

    app = web.Application()
    app.router.add_get("/version", no_version)
    odd = await LoopbackServer.start(app)
    try:
        adapter = world.adapter(version_url=f"{odd.url}/version")
        error = await failure(adapter.current_version(TARGET))
    finally:
        await odd.stop()
    assert not error.retryable


async def test_without_version_url_the_last_success_seen_is_reported(world: World):
    adapter = world.adapter()
    assert await adapter.current_version(TARGET) is None  # nothing seen yet: unknown

    await adapter.start_step(step("s0", percent=10))
    assert await adapter.current_version(TARGET) is None  # a partial step changes nothing
    await adapter.start_step(step("s1", percent=100, label="100%"))
    assert await adapter.current_version(TARGET) == "v2"
    assert await world.adapter().current_version(TARGET) == "v2"  # any replica

    await adapter.start_rollback(rollback("v1"))
    assert await adapter.current_version(TARGET) == "v1"
    await adapter.start_rollback(rollback(None, key="r2"))
    assert await adapter.current_version(TARGET) is None  # "the previous one": unknown now


async def test_without_version_url_a_failed_full_step_changes_nothing(world: World):
    adapter = world.adapter()
    await adapter.start_step(step("s1", percent=100, label="100%"))
    world.script.fail_next_step = True
    failed = await adapter.start_step(
        StepRequest(TARGET, 8, 0, "100%", "weight", 100, "v3", "v2", "release-8-stage-0")
    )
    assert (await adapter.poll(TARGET, failed)).state == "failed"
    assert await adapter.current_version(TARGET) == "v2"


async def test_without_version_url_a_callback_success_counts_once_polled(world: World):
    world.script.mode = "callback"
    adapter = world.adapter("callback")
    operation = await adapter.start_rollback(rollback("v1"))
    await world.script.finish_operations()

    assert await adapter.poll(TARGET, operation) == OperationStatus("succeeded", "healthy")
    assert await adapter.current_version(TARGET) == "v1"


# Health


async def test_health_url_answers(world: World):
    adapter = world.adapter(health_url=f"{world.script.url}/health")
    assert await adapter.health() is None
    assert world.script.deliveries[-1].problem is None

    world.script.health_status = 503
    problem = await adapter.health()
    assert problem is not None and "503" in problem


async def test_without_health_url_a_tcp_connection_is_enough(world: World):
    adapter = world.adapter()
    assert await adapter.health() is None
    assert world.script.deliveries == []  # nothing that could look like a delivery

    await world.script.stop()
    problem = await adapter.health()
    assert problem is not None and "cannot connect" in problem


# Settings (checked before anything is sent or stored)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"url": None}, "needs `url`"),
        ({"url": "ftp://deploy.internal/hook"}, "http:// or https://"),
        ({"url": "deploy.internal/hook"}, "http:// or https://"),
        ({"url": "https://user:pw@deploy.internal/hook"}, "credentials"),
        ({"secret_env": None}, "secret_env` or `secret_file"),
        ({"secret_env": "UNSET_VARIABLE"}, "UNSET_VARIABLE, which is not set"),
        ({"secret_env": None, "secret_file": "/nonexistent/secret"}, "cannot read it"),
        ({"mode": "async"}, "sync or callback"),
        ({"timeout_s": 0}, "positive"),
        ({"timeout_s": "soon"}, "positive"),
        ({"timeout_s": True}, "positive"),
        ({"callback_timeout_s": -5}, "positive"),
        ({"version_url": "file:///etc/passwd"}, "version_url"),
        ({"health_url": "gopher://x"}, "health_url"),
        ({"headers": {"Authorization": "Bearer abc"}}, "no secrets"),
        ({"headers": {"X-Releasebot-Delivery": "x"}}, "the bot sets it"),
        ({"headers": {"X-Count": 3}}, "map header names to strings"),
        ({"secret": "inline"}, "unknown webhook backend setting(s): secret"),
    ],
)
async def test_settings_that_cannot_work_are_refused(settings: dict[str, Any], says: str):
    base = {"url": "https://deploy.internal/hook", "secret_env": "DEPLOY_HOOK_SECRET"}
    merged = {k: v for k, v in {**base, **settings}.items() if v is not None}
    with pytest.raises(SettingsProblem) as caught:
        build(merged, offline_context(), backend_name=BACKEND)
    assert says in str(caught.value)
    assert SECRET not in str(caught.value)


def test_callback_mode_needs_the_bots_public_url():
    settings = {"url": "https://deploy.internal/hook", "secret_env": "DEPLOY_HOOK_SECRET"}
    with pytest.raises(SettingsProblem, match="public URL"):
        build({**settings, "mode": "callback"}, offline_context(public_url=""))
    assert build(settings, offline_context(public_url="")).callback_url is None


def test_a_webhook_backend_needs_the_operation_store():
    settings = {"url": "https://deploy.internal/hook", "secret_env": "DEPLOY_HOOK_SECRET"}
    with pytest.raises(SettingsProblem, match="operation store"):
        build(settings, offline_context(operations=None))


def test_a_backend_name_must_fit_urls_and_operation_ids():
    settings = {"url": "https://deploy.internal/hook", "secret_env": "DEPLOY_HOOK_SECRET"}
    with pytest.raises(SettingsProblem, match="backend name"):
        build(settings, offline_context(), backend_name="a:b/c")


def test_defaults_and_a_secret_file(tmp_path: Path):
    (tmp_path / "secret").write_text(SECRET + "\n")
    adapter = build(
        {"url": "https://deploy.internal/hook", "secret_file": str(tmp_path / "secret")},
        offline_context(),
    )
    assert adapter.name == "webhook"
    assert adapter.signing_secret == SECRET.encode()
    assert (adapter.settings.mode, adapter.settings.timeout_s) == ("sync", 10.0)
    assert adapter.settings.callback_timeout_s == 1800.0
    assert (adapter.settings.version_url, adapter.settings.health_url) == (None, None)
    assert SECRET not in repr(adapter.settings)


class UnusedOperations:
    async def put(self, key: str, status: OperationStatus) -> None:
        raise AssertionError("settings checks store nothing")

    async def get(self, key: str) -> OperationStatus | None:
        raise AssertionError("settings checks read nothing")


def offline_context(**changes: Any) -> BackendContext:
    values: dict[str, Any] = {
        "clock": ManualClock(),
        "env": ENV,
        "operations": UnusedOperations(),
        "public_url": "http://releasebot.internal",
    }
    return BackendContext(**{**values, **changes})


def _at(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, UTC)


# The world the Deployer contract suite runs this adapter in


async def test_the_contract_world_behaves_as_the_suite_expects():
    async with webhook_world() as world:
        adapter, target = world.adapter, world.target
        await world.set_running("v1")
        assert await adapter.current_version(target) == "v1"

        request = StepRequest(target, 1, 0, "100%", "weight", 100, "v2", "v1", "release-1-stage-0")
        operation = await adapter.start_step(request)
        assert await adapter.start_step(request) == operation
        assert (await adapter.poll(target, operation)).state == "running"
        await world.finish_operations()
        assert (await adapter.poll(target, operation)).state == "succeeded"
        assert await adapter.current_version(target) == "v2"

        await world.fail_next_step()
        failing = await adapter.start_step(
            StepRequest(target, 2, 0, "10%", "weight", 10, "v3", "v2", "release-2-stage-0")
        )
        await world.finish_operations()
        failed = await adapter.poll(target, failing)
        assert failed.state == "failed" and failed.detail

        back = await adapter.start_rollback(
            RollbackRequest(target, 1, "v1", "v2", "release-1-rollback-1")
        )
        await world.finish_operations()
        assert (await adapter.poll(target, back)).state == "succeeded"
        assert await adapter.current_version(target) == "v1"

        assert await adapter.health() is None
        await world.make_unreachable()
        late = StepRequest(target, 3, 0, "10%", "weight", 10, "v3", "v1", "release-3-stage-0")
        assert (await failure(adapter.start_step(late))).retryable
        assert (await failure(adapter.current_version(target))).retryable
        assert isinstance(await adapter.health(), str)
