"""What the stand-in's JSON APIs (console, control, faults) share: reading a request's JSON
object, answering 400s, delivering to the bot, and describing messages and ephemerals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.emulator.driver import DeliveryResult
from bot.emulator.records import Ephemeral, File, Message


def bad_request(error: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


async def json_object(request: web.Request, *required: str) -> dict[str, Any]:
    """The request's JSON object; a 400 naming the problem when it is not one or lacks a field."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise bad_input("expected a JSON object")
    return require(body, *required)


def require(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """The body, if it has every named field (a 400 naming the missing ones otherwise)."""
    missing = [name for name in names if not body.get(name)]
    if missing:
        raise bad_input(f"missing {', '.join(f'`{name}`' for name in missing)}")
    return body


def bad_input(error: str) -> web.HTTPBadRequest:
    """A 400 with a JSON body, to raise."""
    return web.HTTPBadRequest(
        text=web.json_response({"ok": False, "error": error}).text,
        content_type="application/json",
    )


async def deliver(
    delivery: Awaitable[DeliveryResult | None],
    answer: Callable[[DeliveryResult | None], dict[str, Any]],
) -> web.Response:
    """Run a delivery to the bot; what cannot be delivered (unknown user, ...) is a 400."""
    try:
        result = await delivery
    except (LookupError, ValueError, RuntimeError) as exc:
        return bad_request(str(exc))
    return web.json_response(answer(result))


def message_json(msg: Message, files: Mapping[str, File]) -> dict[str, Any]:
    return {
        "ts": msg.ts,
        "user": msg.user,
        "is_bot": msg.bot_id is not None,
        "bot_id": msg.bot_id,
        "text": msg.text,
        "blocks": msg.blocks,
        "attachments": msg.attachments,
        "metadata": msg.metadata,
        "thread_ts": msg.thread_ts,
        "reply_broadcast": msg.reply_broadcast,
        "edited": msg.edited,
        "edited_ts": msg.edited_ts,
        "edits": msg.edits,
        "files": [{"id": f, "name": files[f].name if f in files else f} for f in msg.files],
        "reply_count": msg.reply_count,
        "replies": [message_json(r, files) for r in msg.replies],
    }


def ephemeral_json(eph: Ephemeral) -> dict[str, Any]:
    return {
        "channel": eph.channel,
        "ts": eph.ts,
        "text": eph.text,
        "blocks": eph.blocks,
        "thread_ts": eph.thread_ts,
        "attachments": eph.attachments,
    }
