"""Slack payloads -> services.Request. The dedupe key is the interaction's trigger_id, which a
Slack retry repeats and a second click does not."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from bot.core.commands import release_number
from bot.services.requests import Request


def from_command(command: dict[str, Any]) -> Request:
    return Request(
        user_id=command["user_id"],
        user_name=command.get("user_name", ""),
        channel=command["channel_id"],
        key=_key("command", command.get("trigger_id"), command),
        response_url=command.get("response_url"),
        via="command",
    )


def from_action(body: dict[str, Any], shown_stage: int | None = None) -> Request:
    user = body.get("user", {})
    container = body.get("container", {})
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    return Request(
        user_id=user["id"],
        user_name=user.get("username") or user.get("name", ""),
        channel=channel,
        key=_key("click", body.get("trigger_id"), body),
        response_url=body.get("response_url"),
        message_ts=_clicked_message(body, container),
        shown_stage=shown_stage,
        via="click",
    )


def _clicked_message(body: dict[str, Any], container: dict[str, Any]) -> str | None:
    """The status message a click is checked against. A button in a message: that message. A
    button in a view (a modal, App Home) has no message: only a view of ours that names the
    button's release in its private_metadata (set by the bot, returned by Slack under its
    signature) vouches for one. Anything else is None, and a click without a message is
    refused (bot/services/releases.py)."""
    if container.get("type") == "message":
        return container.get("message_ts") or None
    if container.get("type") != "view":
        return None
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None
    actions = body.get("actions") or [{}]
    release_id, _ = button_target((actions[0] or {}).get("value"))
    if not isinstance(meta, dict) or not release_id or meta.get("release_id") != release_id:
        return None
    ts = meta.get("message_ts")
    return ts if isinstance(ts, str) and ts else None


def from_view(body: dict[str, Any], channel: str, message_ts: str | None) -> Request:
    user = body.get("user", {})
    return Request(
        user_id=user["id"],
        user_name=user.get("username") or user.get("name", ""),
        channel=channel,
        key=_key("view", body.get("trigger_id"), body),
        message_ts=message_ts,
        via="click",
    )


BUTTON_VALUE = re.compile(r"^([0-9]{1,12})(?::([0-9]{1,3}))?$")


def button_target(value: str | None) -> tuple[int, int | None]:
    """A button's value names a release (and, for Promote, the stage it was shown at) and
    nothing more; anything else names no release (0), which is refused as unknown."""
    match = BUTTON_VALUE.match(value or "")
    if match is None:
        return 0, None
    stage = match.group(2)
    return release_number(match.group(1)) or 0, int(stage) if stage is not None else None


def _key(kind: str, trigger_id: str | None, payload: dict[str, Any]) -> str:
    if trigger_id:
        return f"{kind}:{trigger_id}"
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{kind}:sha256:{digest[:40]}"
