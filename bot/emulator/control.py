"""The control API (/_control/*): drive and inspect the stand-in from a test in another process.

JSON in and out, no auth (a local test tool: `releasebot slack-standin serve` binds to
127.0.0.1). Bad input answers 400 with {"ok": false, "error": "..."}, never 500.

POST /_control/bot      {"events_url": "http://127.0.0.1:3000/slack/events"}
                        where signed commands and clicks go -> {"ok": true, "events_url": ...}
POST /_control/command  {"user": "U0ALICE", "channel": "C0DEPLOYS", "command": "/deploy",
                         "text": "checkout to staging", "retry_num": 1?}
POST /_control/click    {"user": "U0BOB", "channel": "C0DEPLOYS", "ts": "1767000000.000100",
                         "action_id": "approve", "value": "..."?, "retry_num": 1?}
    Both send a signed request to the bot exactly as Slack (and the console) do, and answer
    DELIVERY = {"status": <the bot's HTTP status, 0 when it gave none>, "ok": <2xx>,
                "error": <why there was no answer, e.g. "operation_timeout">, "body_text": ...,
                "json": <the body, if JSON>, "elapsed_ms": 12.3, "trigger_id": "...",
                "response_url": "http://127.0.0.1:PORT/response/..."}
    The bot's ack shows up as Slack shows it: an ephemeral, or a banner when it failed.
GET  /_control/messages?channel=C0DEPLOYS   (an ID or a name)
    {"ok": true, "channel": "C0DEPLOYS", "messages": [MESSAGE, ...]}, oldest first, where
    MESSAGE = {"ts", "user", "bot_id", "is_bot", "text", "blocks", "attachments", "metadata",
               "thread_ts", "edited", "edited_ts", "edits" (times updated), "files",
               "reply_count", "replies": [MESSAGE, ...] (in order)}
    `metadata` is what the poster stored, e.g. {"event_type": ..., "event_payload": {...}}.
GET  /_control/calls?method=chat.postMessage&at_least=2&wait=5
    {"ok": true, "calls": [{"method", "args", "response", "status", "at", "fault"}, ...]}
    in arrival order; `fault` is the id of the fault that answered instead of Slack, or null.
    `method` is optional (all calls). With `at_least` and `wait`, it first waits up to `wait`
    seconds (at most 25) until that many such calls are recorded, then answers what there is.
GET  /_control/ephemerals?user=U0ALICE&channel=C0DEPLOYS   (channel optional)
    {"ok": true, "ephemerals": [{"channel", "ts", "text", "blocks", "thread_ts",
     "attachments"}, ...], "banners": [{"id", "text", "at"}, ...]}
    what only that user saw: command acks, chat.postEphemeral, ephemeral response_url
    answers; banners are Slack's own error notices ("/deploy failed with the error ...").

Faults (/_faults) are documented in faults.py.
"""

from __future__ import annotations

import contextlib
import json
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.emulator.jsonapi import (
    bad_input,
    bad_request,
    deliver,
    ephemeral_json,
    json_object,
    message_json,
)
from bot.emulator.records import RecordedCall

if TYPE_CHECKING:
    from bot.emulator.emulator import Emulator

MAX_WAIT_S = 25.0
_dumps = partial(json.dumps, default=str)  # recorded args may hold anything a client sent


def add_routes(app: web.Application, emu: Emulator) -> None:
    api = ControlApi(emu)
    app.router.add_post("/_control/bot", api.bot)
    app.router.add_post("/_control/command", api.command)
    app.router.add_post("/_control/click", api.click)
    app.router.add_get("/_control/messages", api.messages)
    app.router.add_get("/_control/calls", api.calls)
    app.router.add_get("/_control/ephemerals", api.ephemerals)


def events_url(url: Any) -> str:
    """An absolute http(s) URL, or ValueError saying what is wrong."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"must be an http(s) URL such as http://127.0.0.1:3000/slack/events, not {url!r}"
        )
    return url


def _delivery(result: Any) -> dict[str, Any]:
    return result.to_json()


def _retry_num(body: dict[str, Any]) -> int | None:
    value = body.get("retry_num")
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise bad_input("retry_num must be a positive whole number")


class ControlApi:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    async def bot(self, request: web.Request) -> web.Response:
        body = await json_object(request, "events_url")
        try:
            self.emu.bot_events_url = events_url(body["events_url"])
        except ValueError as exc:
            return bad_request(f"events_url {exc}")
        return web.json_response({"ok": True, "events_url": self.emu.bot_events_url})

    async def command(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user", "channel", "command")
        command, text = str(body["command"]), body.get("text", "")
        if not command.startswith("/") or " " in command or not isinstance(text, str):
            return bad_request('command must be like "/deploy" and text a string')
        delivery = self.emu.slash_command(
            body["user"], body["channel"], command, text, _retry_num(body)
        )
        return await deliver(delivery, _delivery)

    async def click(self, request: web.Request) -> web.Response:
        body = await json_object(request, "user", "channel", "ts", "action_id")
        delivery = self.emu.click(
            body["user"],
            body["channel"],
            body["ts"],
            body["action_id"],
            value=body.get("value"),
            retry_num=_retry_num(body),
        )
        return await deliver(delivery, _delivery)

    async def messages(self, request: web.Request) -> web.Response:
        name = request.query.get("channel", "")
        channel = self.emu.state.channel(name)
        if channel is None:
            return bad_request(f"no such channel {name!r} (give ?channel=ID or name)")
        messages = [message_json(m, self.emu.files) for m in self.emu.messages(channel.id)]
        return web.json_response(
            {"ok": True, "channel": channel.id, "messages": messages}, dumps=_dumps
        )

    async def calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        try:
            at_least = int(request.query.get("at_least", "0"))
            wait = min(float(request.query.get("wait", "0")), MAX_WAIT_S)
        except ValueError:
            return bad_request("at_least must be a whole number and wait a number of seconds")

        def matching() -> list[RecordedCall]:
            return [c for c in self.emu.calls if method is None or c.method == method]

        if at_least > 0 and wait > 0:
            with contextlib.suppress(TimeoutError):
                await self.emu.wait_for(
                    lambda: self.emu.closing or len(matching()) >= at_least, wait
                )
        calls = [
            {
                "method": c.method,
                "args": c.args,
                "response": c.response,
                "status": c.status,
                "at": c.at,
                "fault": c.fault,
            }
            for c in matching()
        ]
        return web.json_response({"ok": True, "calls": calls}, dumps=_dumps)

    async def ephemerals(self, request: web.Request) -> web.Response:
        user = request.query.get("user", "")
        if self.emu.workspace.user(user) is None:
            return bad_request(f"no such user {user!r} (give ?user=ID)")
        channel = request.query.get("channel")
        if channel is not None:
            known = self.emu.state.channel(channel)
            if known is None:
                return bad_request(f"no such channel {channel!r}")
            channel = known.id
        return web.json_response(
            {
                "ok": True,
                "ephemerals": [ephemeral_json(e) for e in self.emu.ephemerals(user, channel)],
                "banners": [
                    {"id": b.id, "text": b.text, "at": b.at} for b in self.emu.banners(user)
                ],
            },
            dumps=_dumps,
        )
