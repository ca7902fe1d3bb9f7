"""Fixtures: an emulator served on a loopback port, a real slack_sdk client, a tiny signed bot."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator import Emulator, create_emulator

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"


def button_block(action_id: str = "promote", text: str = "Promote", value: str = "r1") -> dict:
    """An actions block with one button, the shape the bot's status messages carry."""
    button = {"type": "button", "text": {"type": "plain_text", "text": text}}
    return {"type": "actions", "elements": [{**button, "action_id": action_id, "value": value}]}


class FakeClock:
    """Starts at the real time (so signatures verify) and moves only when told."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def __call__(self) -> float:
        return self.t

    def now(self) -> float:  # slack_sdk.signature.Clock protocol
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Received:
    headers: dict[str, str]
    raw: bytes
    form: dict[str, str]
    payload: dict[str, Any] | None
    json: dict[str, Any] | None


Responder = Callable[[Received], Awaitable[web.StreamResponse]]


@dataclass
class RecordingBot:
    """Verifies Slack's signature like a production app and records what it got."""

    verifier: SignatureVerifier
    received: list[Received] = field(default_factory=list)
    rejected: int = 0
    responder: Responder | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not self.verifier.is_valid_request(raw, dict(request.headers)):
            self.rejected += 1
            return web.Response(status=401, text="invalid signature")
        form: dict[str, str] = {}
        payload = body_json = None
        if request.content_type == "application/json":
            body_json = json.loads(raw)
        else:
            form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
            if "payload" in form:
                payload = json.loads(form["payload"])
        got = Received(dict(request.headers), raw, form, payload, body_json)
        self.received.append(got)
        if self.responder is not None:
            return await self.responder(got)
        return web.Response(status=200)


@dataclass
class Harness:
    emu: Emulator
    clock: FakeClock
    base: str
    client: AsyncWebClient
    bot: RecordingBot
    origin: str
    runner: web.AppRunner

    async def request(self, verb: str, path: str, body: Any = None, **kwargs: Any):
        """(status, JSON or text) of a request to the emulator, e.g. ("GET", "/_faults")."""
        async with (
            aiohttp.ClientSession() as session,
            session.request(verb, f"{self.base}{path}", json=body, **kwargs) as resp,
        ):
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def harness(clock: FakeClock) -> AsyncIterator[Harness]:
    emu = create_emulator(SECRET, TOKEN, clock=clock)
    bot = RecordingBot(SignatureVerifier(SECRET, clock=clock))
    app = web.Application()
    app.router.add_post("/slack/events", bot.handle)
    app.add_subapp("/emulator", emu.web_app())
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    origin = f"http://127.0.0.1:{port}"
    emu.bot_events_url = f"{origin}/slack/events"
    emu.public_base_url = f"{origin}/emulator"
    client = AsyncWebClient(token=TOKEN, base_url=f"{origin}/emulator/api/")
    try:
        yield Harness(emu, clock, f"{origin}/emulator", client, bot, origin, runner)
    finally:
        await runner.cleanup()
