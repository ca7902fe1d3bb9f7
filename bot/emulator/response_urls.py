"""response_url: issued per command or click, 5 uses within 30 minutes, acts on its origin."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.blockkit import validate_blocks
from bot.emulator.state import SlackState

MAX_USES = 5
LIFETIME_S = 30 * 60


@dataclass
class ResponseTarget:
    user: str
    channel: str
    message_ts: str | None
    is_ephemeral: bool
    issued_at: float
    uses: int = 0


class ResponseUrlError(Exception):
    def __init__(self, status: int, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.messages = messages or []


class ResponseUrlRegistry:
    def __init__(self, clock: Callable[[], float], secret: str) -> None:
        self._clock = clock
        self._secret = secret
        self._targets: dict[str, ResponseTarget] = {}

    def issue(
        self, user: str, channel: str, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        n = len(self._targets) + 1
        token = f"{n}-" + hashlib.sha256(f"{self._secret}:{n}".encode()).hexdigest()[:24]
        self._targets[token] = ResponseTarget(
            user, channel, message_ts, is_ephemeral, self._clock()
        )
        return token

    def check(self, token: str) -> ResponseTarget:
        """The target of a live URL; the caller adds to `uses` once the response is applied."""
        target = self._targets.get(token)
        if target is None:
            raise ResponseUrlError(404, "invalid_url")
        if self._clock() - target.issued_at > LIFETIME_S:
            raise ResponseUrlError(404, "expired_url")
        if target.uses >= MAX_USES:
            raise ResponseUrlError(404, "used_url")
        return target


def apply_response(state: SlackState, target: ResponseTarget, body: dict[str, Any]) -> None:
    """Do what a response_url POST asks: delete, replace, or post anew (ephemeral default)."""
    ws = state.workspace
    if body.get("delete_original"):
        _delete_origin(state, target)
        return
    text = body.get("text") or ""
    blocks = body.get("blocks") or []
    if not text and not blocks:
        raise ResponseUrlError(400, "no_text")
    if not isinstance(blocks, list):
        raise ResponseUrlError(
            400, "invalid_blocks", ["[ERROR] must be an array [json-pointer:/blocks]"]
        )
    errors = validate_blocks(blocks)
    if errors:
        raise ResponseUrlError(400, "invalid_blocks", errors)
    if body.get("replace_original") and target.message_ts:
        _replace_origin(state, target, text, blocks)
        return
    thread_ts = body.get("thread_ts")
    if body.get("response_type") == "in_channel":
        state.post_message(target.channel, ws.bot_user_id, text, blocks, thread_ts=thread_ts)
    else:
        state.post_ephemeral(target.channel, target.user, text, blocks, thread_ts)


def _origin(state: SlackState, target: ResponseTarget) -> Any:
    if target.message_ts is None:
        return None
    if target.is_ephemeral:
        return state.find_ephemeral(target.channel, target.message_ts, target.user)
    return state.find_message(target.channel, target.message_ts)


def _delete_origin(state: SlackState, target: ResponseTarget) -> None:
    origin = _origin(state, target)
    if origin is None:
        raise ResponseUrlError(404, "message_not_found")
    if target.is_ephemeral:
        state.ephemerals.remove(origin)
        state.changed()
    else:
        state.delete_message(origin)


def _replace_origin(
    state: SlackState, target: ResponseTarget, text: str, blocks: list[dict[str, Any]]
) -> None:
    origin = _origin(state, target)
    if origin is None:
        raise ResponseUrlError(404, "message_not_found")
    origin.text = text
    origin.blocks = state.with_block_ids(blocks)
    if target.is_ephemeral:
        state.changed()
    else:
        state.mark_edited(origin)
