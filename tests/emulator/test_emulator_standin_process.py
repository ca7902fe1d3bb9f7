"""`releasebot slack-standin serve` as a real process, driven over HTTP like a test of a bot."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.emulator.conftest import RecordingBot

REPO = Path(__file__).resolve().parents[2]
SECRET = "standin-process-secret"
TOKEN = "xoxb-standin-process"
LISTENING = re.compile(r"^slack stand-in listening on (http://\S+) \(Web API: (http://\S+)\)$")


@dataclass
class StandIn:
    process: asyncio.subprocess.Process
    base: str
    api: str
    lines: list[str]

    async def call(self, verb: str, path: str, body: object = None) -> tuple[int, dict]:
        async with (
            aiohttp.ClientSession() as session,
            session.request(verb, f"{self.base}{path}", json=body) as resp,
        ):
            return resp.status, await resp.json()

    async def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        return await asyncio.wait_for(self.process.wait(), 10)


async def start_standin(*args: str, env: dict[str, str] | None = None) -> StandIn:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "slack-standin", "serve", "--port", "0", *args,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not (match := LISTENING.match(lines[-1] if lines else "")):
            line = await process.stdout.readline()
            if not line:
                raise AssertionError(f"the stand-in exited first: {lines}")
            lines.append(line.decode().rstrip("\n"))
    return StandIn(process, match[1], match[2], lines)


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "SLACK_BOT_TOKEN": TOKEN}
    running = await start_standin(env=env)
    try:
        yield running
    finally:
        if running.process.returncode is None:
            running.process.kill()
            await running.process.wait()


@pytest.fixture
async def tiny_bot() -> AsyncIterator[tuple[RecordingBot, str]]:
    """A bot's /slack/events that checks signatures with real time and acks with a text."""
    bot = RecordingBot(SignatureVerifier(SECRET))

    async def ack(_received) -> web.Response:
        return web.json_response({"text": "Deploying checkout to staging…"})

    bot.responder = ack
    app = web.Application()
    app.router.add_post("/slack/events", bot.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield bot, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


@pytest.mark.slow
async def test_a_standin_process_plays_faults_drives_a_bot_and_stops_on_sigterm(
    standin: StandIn, tiny_bot: tuple[RecordingBot, str]
):
    bot, events_url = tiny_bot
    assert standin.lines == [standin.lines[-1]], "secrets given: only the listening line"
    assert standin.api == f"{standin.base}/api/"
    assert await standin.call("POST", "/_control/bot", {"events_url": events_url}) == (
        200,
        {"ok": True, "events_url": events_url},
    )

    status, added = await standin.call(
        "POST",
        "/_faults",
        {"methods": ["chat.postMessage"], "mode": "ratelimit", "seconds": 30, "retry_after": 3},
    )
    assert status == 200 and added["fault"]["ends_at"] > added["fault"]["started_at"]
    client = AsyncWebClient(token=TOKEN, base_url=standin.api, retry_handlers=[])
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C0DEPLOYS", text="status")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "3"

    status, delivery = await standin.call(
        "POST",
        "/_control/command",
        {"user": "U0ALICE", "channel": "C0DEPLOYS", "command": "/deploy", "text": "checkout"},
    )
    assert status == 200 and delivery["status"] == 200 and bot.rejected == 0
    assert bot.received[0].form["text"] == "checkout"
    assert delivery["response_url"].startswith(f"{standin.base}/response/")
    _, seen = await standin.call("GET", "/_control/ephemerals?user=U0ALICE")
    assert [e["text"] for e in seen["ephemerals"]] == ["Deploying checkout to staging…"]

    assert await standin.call("DELETE", "/_faults") == (200, {"ok": True, "removed": 1})
    metadata = {"event_type": "releasebot_message", "event_payload": {"key": "r1-status"}}
    await client.chat_postMessage(channel="C0DEPLOYS", text="status", metadata=metadata)
    _, listed = await standin.call("GET", "/_control/messages?channel=C0DEPLOYS")
    assert [(m["text"], m["metadata"]) for m in listed["messages"]] == [("status", metadata)]
    _, calls = await standin.call("GET", "/_control/calls?method=chat.postMessage")
    assert [c["status"] for c in calls["calls"]] == [429, 200]

    # a call held by a hang does not keep the process from stopping
    await standin.call(
        "POST", "/_faults", {"methods": ["chat.update"], "mode": "hang", "seconds": 60}
    )
    held = asyncio.create_task(client.chat_update(channel="C0DEPLOYS", ts="1.0", text="x"))
    _, held_calls = await standin.call(
        "GET", "/_control/calls?method=chat.update&at_least=1&wait=5"
    )
    assert [c["status"] for c in held_calls["calls"]] == [504]  # recorded as it arrived
    assert await standin.stop(signal.SIGTERM) == 0
    with pytest.raises(SlackApiError) as released:  # answered before the process ended
        await asyncio.wait_for(held, 5)
    assert released.value.response.status_code == 504


@pytest.mark.slow
async def test_without_secrets_it_generates_and_prints_them_and_stops_on_sigint():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    standin = await start_standin(env=env)
    try:
        secret_line, token_line, _listening = standin.lines
        assert "generated signing secret" in secret_line
        token = token_line.rsplit(": ", 1)[1]
        assert token.startswith("xoxb-")
        auth = await AsyncWebClient(token=token, base_url=standin.api).auth_test()
        assert auth["user_id"] == "U0RELBOT"
        assert await standin.stop(signal.SIGINT) == 0
    finally:
        if standin.process.returncode is None:
            standin.process.kill()
            await standin.process.wait()
