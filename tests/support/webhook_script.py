"""A fake in-house deploy script for the webhook deployer, on a real loopback port.

It checks every request's signature exactly as integrations/webhook.py documents it, written
out here independently (HMAC-SHA256 over b"v1:" + timestamp + b":" + raw body, within 300 s
of its clock), records what it receives, dedupes deliveries on X-Releasebot-Delivery, keeps a
running version per (service, environment), and reports back by signed callbacks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.core.clock import ManualClock

SKEW_S = 300


def signature_for(secret: bytes, timestamp: str, body: bytes) -> str:
    material = b"v1:" + timestamp.encode() + b":" + body
    return "sha256=" + hmac.new(secret, material, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "X-Releasebot-Timestamp": str(timestamp),
        "X-Releasebot-Signature-256": signature_for(secret, str(timestamp), body),
        "Content-Type": "application/json",
    }


@dataclass
class LoopbackServer:
    runner: web.AppRunner
    url: str

    @classmethod
    async def start(cls, app: web.Application) -> LoopbackServer:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return cls(runner, f"http://127.0.0.1:{port}")

    async def stop(self) -> None:
        await self.runner.cleanup()


@dataclass
class Delivery:
    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    problem: str | None  # why the signature was refused, None when it was right

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Releasebot-Delivery", "")


@dataclass
class FakeDeployScript:
    secret: bytes
    clock: ManualClock
    mode: str = "sync"  # sync: answer with the result; callback: 202, then call back
    server: LoopbackServer | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    running: dict[tuple[str, str], str] = field(default_factory=dict)
    answers: list[tuple[int, Any]] = field(default_factory=list)  # canned next answers
    fail_next_step: bool = False
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # delivery id -> payload
    outcomes: dict[str, str] = field(default_factory=dict)  # delivery id -> succeeded/failed
    callbacks: list[tuple[int, Any]] = field(default_factory=list)  # the bot's answers
    health_status: int = 200

    @classmethod
    async def start(cls, secret: bytes, clock: ManualClock, mode: str = "sync") -> FakeDeployScript:
        script = cls(secret, clock, mode)
        app = web.Application()
        app.router.add_post("/deploy", script._deploy)
        app.router.add_get("/version", script._version)
        app.router.add_get("/health", script._health)
        script.server = await LoopbackServer.start(app)
        return script

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    @property
    def accepted(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.problem is None]

    def unique_deliveries(self) -> dict[str, dict[str, Any]]:
        return {d.delivery_id: d.payload for d in self.accepted if d.method == "POST"}

    async def finish_operations(self) -> None:
        """Complete every started operation: update what runs, then call the bot back."""
        for delivery_id, payload in list(self.pending.items()):
            outcome = self.outcomes[delivery_id]
            self._apply(payload, outcome)
            await self.call_back(
                payload["callback_url"],
                {
                    "operation_id": payload["operation_id"],
                    "state": outcome,
                    "detail": _detail(outcome),
                },
            )
            del self.pending[delivery_id]

    async def call_back(
        self,
        url: str,
        body: Any,
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        moment = int(self.clock.now().timestamp()) if timestamp is None else timestamp
        sent = signed_headers(secret or self.secret, moment, raw) if headers is None else headers
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=raw, headers=sent) as response,
        ):
            answer = (response.status, await response.json(content_type=None))
        self.callbacks.append(answer)
        return answer

    # Handlers

    async def _deploy(self, request: web.Request) -> web.Response:
        delivery = await self._record(request)
        if delivery.problem is not None:
            return web.json_response({"error": delivery.problem}, status=401)
        if self.answers:
            status, body = self.answers.pop(0)
            return web.json_response(body, status=status)
        payload = delivery.payload
        outcome = self.outcomes.setdefault(delivery.delivery_id, self._decide(payload))
        if self.mode == "callback":
            self.pending.setdefault(delivery.delivery_id, payload)
            return web.Response(status=202)
        self._apply(payload, outcome)
        return web.json_response({"state": outcome, "detail": _detail(outcome)})

    async def _version(self, request: web.Request) -> web.Response:
        delivery = await self._record(request)
        if delivery.problem is not None:
            return web.json_response({"error": delivery.problem}, status=401)
        key = (request.query["service"], request.query["environment"])
        return web.json_response({"version": self.running.get(key)})

    async def _health(self, request: web.Request) -> web.Response:
        delivery = await self._record(request)
        if delivery.problem is not None:
            return web.json_response({"error": delivery.problem}, status=401)
        return web.json_response({"ok": self.health_status < 300}, status=self.health_status)

    async def _record(self, request: web.Request) -> Delivery:
        raw = await request.read()
        headers = dict(request.headers)
        delivery = Delivery(request.method, request.path, headers, raw, self._check(headers, raw))
        self.deliveries.append(delivery)
        return delivery

    def _check(self, headers: dict[str, str], raw: bytes) -> str | None:
        timestamp = headers.get("X-Releasebot-Timestamp", "")
        if not timestamp.isdigit():
            return "no timestamp"
        if abs(self.clock.now().timestamp() - int(timestamp)) > SKEW_S:
            return "stale timestamp"
        expected = signature_for(self.secret, timestamp, raw)
        if not hmac.compare_digest(expected, headers.get("X-Releasebot-Signature-256", "")):
            return "bad signature"
        return None

    def _decide(self, payload: dict[str, Any]) -> str:
        if payload["event"] == "step" and self.fail_next_step:
            self.fail_next_step = False
            return "failed"
        return "succeeded"

    def _apply(self, payload: dict[str, Any], outcome: str) -> None:
        """What runs once the operation is done."""
        if outcome != "succeeded":
            return
        key = (payload["service"], payload["environment"])
        if payload["event"] == "rollback" and payload["to_version"]:
            self.running[key] = payload["to_version"]
        elif payload["event"] == "step" and payload["stage"]["percent"] == 100:
            self.running[key] = payload["version"]


def _detail(outcome: str) -> str:
    return "healthy" if outcome == "succeeded" else "pods crash-looping (fake deploy script)"
