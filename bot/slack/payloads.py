"""The shape of what Slack sends us, checked before any listener reads it.

Slack sends this bot three kinds of request (manifests/slack-app.yaml): slash commands,
button clicks (`block_actions`) and the reject box submitted or closed (`view_submission`,
`view_closed`). A signed body that is none of these, or is one with a field of the wrong
type, an identifier that is not Slack-shaped (or longer than the columns that keep it), a
button value or private_metadata naming no release number, gets a 4xx and nothing is
written: real Slack never sends it, so nobody is waiting for an answer.

Free text (a command's words, a user name, a rejection's reason) is kept but cleaned: control
characters (NUL among them, which PostgreSQL refuses) become spaces, lone surrogates go, and
each is cut to a length Slack itself would not exceed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.response import BoltResponse

from bot.core.commands import RELEASE_NUMBER_MAX
from bot.slack.actions import REJECT_CALLBACK

ID_MAX = 32  # the width of the user and channel columns (bot/storage/tables.py)
SLACK_ID = re.compile(rf"^[A-Z][A-Z0-9]{{1,{ID_MAX - 1}}}$")
MESSAGE_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")
TRIGGER_ID = re.compile(r"^[0-9A-Za-z._-]{1,120}$")
ACTION_ID = re.compile(r"^[0-9A-Za-z._:-]{1,255}$")
COMMAND = re.compile(r"^/[0-9a-z_-]{1,32}$")
RESPONSE_URL_MAX = 2_000
COMMAND_TEXT_MAX = 4_000
USER_NAME_MAX = 80
VALUE_MAX = 2_000  # a button's value
METADATA_MAX = 3_000  # a view's private_metadata
INPUT_MAX = 3_000  # a plain-text input's value
INTERACTIONS = ("block_actions", "view_submission", "view_closed")


class Malformed(ValueError):
    """A signed request that is not one Slack sends: refused with a 4xx, nothing written."""

    def __init__(self, problem: str, status: int = 400) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status


def register_checks(app: AsyncApp) -> None:
    """Check and clean every request before bolt's own middleware (which reads `event`,
    `user`, `actions`... as Slack shapes them), its matchers and the listeners read it. bolt
    has no public way to go first (`use` appends after its built-ins), hence the insert."""
    app._async_middleware_list.insert(0, _RefuseMalformed())


class _RefuseMalformed(AsyncMiddleware):
    """A class, not a function: bolt builds a function middleware's arguments (`action`,
    `view`...) from the body before it runs, which is what a malformed body breaks."""

    async def async_process(self, *, req, resp, next):
        try:
            req.body = checked(req.body)
        except Malformed as refused:
            return BoltResponse(
                status=refused.status,
                body=json.dumps({"error": refused.problem}),
                headers={"content-type": ["application/json; charset=utf-8"]},
            )
        return await next()


def checked(body: Any) -> dict[str, Any]:
    """`body` if it is a request this bot handles, with its free text cleaned; else Malformed."""
    if not isinstance(body, dict):
        raise Malformed("a Slack request is a JSON object or form fields")
    if "command" in body:
        return _command(body)
    kind = body.get("type")
    if body.get("ssl_check") == "1" or (
        kind == "url_verification" and isinstance(body.get("challenge"), str)
    ):
        return body  # bolt answers these itself, writing nothing
    if kind not in INTERACTIONS:
        raise Malformed("releasebot handles slash commands, buttons and its own modal", 404)
    cleaned = dict(body)
    cleaned["user"] = _user(body.get("user"))
    _optional(body, "trigger_id", TRIGGER_ID)
    _response_url(body.get("response_url"))
    if kind == "block_actions":
        _block_actions(body)
    else:
        cleaned["view"] = _view(body.get("view"), submitted=kind == "view_submission")
    return cleaned


def clean_text(text: str, limit: int) -> str:
    """Free text as a person could have typed it: control characters (NUL, escapes) become
    spaces, tabs and newlines stay, lone surrogates go; at most `limit` characters."""
    kept = []
    for char in text[: limit * 2]:
        category = unicodedata.category(char)
        if category == "Cs":
            continue
        if category == "Cc" and char not in "\t\n\r":
            char = " "
        kept.append(char)
    return "".join(kept)[:limit]


def _command(body: dict[str, Any]) -> dict[str, Any]:
    command = body.get("command")
    if not isinstance(command, str) or not COMMAND.match(command):
        raise Malformed("`command` is not a slash command")
    for field in ("user_id", "channel_id"):
        _slack_id(body.get(field), field)
    _optional(body, "trigger_id", TRIGGER_ID)
    _response_url(body.get("response_url"))
    cleaned = dict(body)
    cleaned["text"] = clean_text(_text(body.get("text", ""), "text"), COMMAND_TEXT_MAX)
    cleaned["user_name"] = clean_text(_text(body.get("user_name", ""), "user_name"), USER_NAME_MAX)
    return cleaned


def _user(user: Any) -> dict[str, Any]:
    if not isinstance(user, dict):
        raise Malformed("`user` is not an object")
    _slack_id(user.get("id"), "user.id")
    cleaned = dict(user)
    for field in ("username", "name"):
        if field in user:
            cleaned[field] = clean_text(_text(user[field], f"user.{field}"), USER_NAME_MAX)
    return cleaned


def _block_actions(body: dict[str, Any]) -> None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise Malformed("`actions` is not a list of actions")
    for action in actions:
        if not isinstance(action, dict):
            raise Malformed("an action is not an object")
        action_id = action.get("action_id")
        if not isinstance(action_id, str) or not ACTION_ID.match(action_id):
            raise Malformed("an action has no action_id")
        value = action.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > VALUE_MAX):
            raise Malformed("an action's value is not text of at most 2,000 characters")
    container = body.get("container", {})
    if not isinstance(container, dict):
        raise Malformed("`container` is not an object")
    _optional(container, "message_ts", MESSAGE_TS, "container.message_ts")
    _optional(container, "type", re.compile(r"^[a-z_]{1,32}$"), "container.type")
    if container.get("channel_id"):
        _slack_id(container["channel_id"], "container.channel_id")
    channel = body.get("channel")
    if channel is not None:
        if not isinstance(channel, dict):
            raise Malformed("`channel` is not an object")
        if channel.get("id"):
            _slack_id(channel["id"], "channel.id")
    view = body.get("view")
    if view is not None:
        if not isinstance(view, dict):
            raise Malformed("`view` is not an object")
        metadata = view.get("private_metadata", "")
        if not isinstance(metadata, str) or len(metadata) > METADATA_MAX:
            raise Malformed("`view.private_metadata` is not text of at most 3,000 characters")


def _view(view: Any, *, submitted: bool) -> dict[str, Any]:
    if not isinstance(view, dict):
        raise Malformed("`view` is not an object")
    for field in ("callback_id", "type"):  # bolt's matchers read both as text
        if not isinstance(view.get(field), str):
            raise Malformed(f"`view.{field}` is not text")
    cleaned = dict(view)
    metadata = view.get("private_metadata") or "{}"
    if not isinstance(metadata, str) or len(metadata) > METADATA_MAX:
        raise Malformed("`view.private_metadata` is not text of at most 3,000 characters")
    if view.get("callback_id") == REJECT_CALLBACK:
        _reject_metadata(metadata)
    if submitted:
        cleaned["state"] = _state(view.get("state", {}))
    return cleaned


def _reject_metadata(metadata: str) -> None:
    """The reject box's private_metadata is the bot's own: the release, where it was clicked."""
    try:
        meta = json.loads(metadata)
    except ValueError:
        raise Malformed("`view.private_metadata` is not the bot's JSON") from None
    if not isinstance(meta, dict):
        raise Malformed("`view.private_metadata` is not the bot's JSON")
    release_id = meta.get("release_id")
    if (
        not isinstance(release_id, int)
        or isinstance(release_id, bool)
        or not 1 <= release_id <= RELEASE_NUMBER_MAX
    ):
        raise Malformed("`view.private_metadata` names no release")
    if meta.get("channel"):
        _slack_id(meta["channel"], "private_metadata.channel")
    _optional(meta, "message_ts", MESSAGE_TS, "private_metadata.message_ts")


def _state(state: Any) -> dict[str, Any]:
    """`state.values.BLOCK.ACTION.value`: every typed value cleaned, the shape checked."""
    if not isinstance(state, dict):
        raise Malformed("`view.state` is not an object")
    values = state.get("values", {})
    if not isinstance(values, dict):
        raise Malformed("`view.state.values` is not an object")
    cleaned_values: dict[str, Any] = {}
    for block_id, block in values.items():
        if not isinstance(block, dict):
            raise Malformed("a block in `view.state.values` is not an object")
        cleaned_block: dict[str, Any] = {}
        for action_id, element in block.items():
            if not isinstance(element, dict):
                raise Malformed("an input in `view.state.values` is not an object")
            element = dict(element)
            if element.get("value") is not None:
                element["value"] = clean_text(_text(element["value"], "an input"), INPUT_MAX)
            cleaned_block[action_id] = element
        cleaned_values[block_id] = cleaned_block
    return {**state, "values": cleaned_values}


def _slack_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not SLACK_ID.match(value):
        raise Malformed(f"`{field}` is not a Slack ID (A-Z and 0-9, at most {ID_MAX})")
    return value


def _optional(body: dict[str, Any], key: str, shape: re.Pattern[str], field: str = "") -> None:
    value = body.get(key)
    if value not in (None, "") and (not isinstance(value, str) or not shape.match(value)):
        raise Malformed(f"`{field or key}` is malformed")


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"`{field}` is not text")
    return value


def _response_url(value: Any) -> None:
    """An http(s) URL with a host a resolver would take (labels of 1 to 63 characters)."""
    if value is None:
        return
    if (
        not isinstance(value, str)
        or len(value) > RESPONSE_URL_MAX
        or not value.startswith(("https://", "http://"))
        or not value.isascii()
        or any(char.isspace() or not char.isprintable() for char in value)
    ):
        raise Malformed("`response_url` is not a URL")
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        host = ""
    if not host or len(host) > 253 or not all(0 < len(label) <= 63 for label in host.split(".")):
        raise Malformed("`response_url` is not a URL")
