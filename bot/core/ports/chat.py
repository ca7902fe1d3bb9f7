"""The chat side's ports: posting and updating messages, rendering them, and reading user
groups. bot/slack implements them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.core.release import Release


class ChatError(Exception):
    """A chat call failed. `retry_after_s`: the chat service asked us to wait that long (a rate
    limit: not a failed attempt). `permanent`: it named an error that trying again cannot fix
    (channel_not_found, ...). Anything else (no answer, a 5xx page) may pass: try again.
    `method` names the call, so a rate limit pauses that method only."""

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        permanent: bool = False,
        method: str = "",
    ):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.permanent = permanent
        self.method = method


@dataclass(frozen=True)
class ChatMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class Chat(Protocol):
    async def post(
        self, channel: str, message: ChatMessage, *, thread_ts: str | None, key: str
    ) -> str:
        """Post; returns the message ts. `key` is attached as message metadata."""

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime | None = None
    ) -> str | None:
        """The ts of a message posted earlier (after `since`) with `key`, for recovery after a
        crash or a call whose answer never came."""

    async def update(self, channel: str, ts: str, message: ChatMessage) -> None: ...

    async def post_ephemeral(self, channel: str, user: str, message: ChatMessage) -> None: ...

    async def respond(
        self, response_url: str, message: ChatMessage, *, replace_original: bool
    ) -> None: ...

    async def send_files(self, user: str, files: Sequence[Path], comment: str) -> None:
        """Upload files into a direct message with `user`."""

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal for the person whose click gave `trigger_id` (valid for 3 s)."""


class Renderer(Protocol):
    """Turns a release, or a stored reply's template and context, into a chat message."""

    def status(self, release: Release) -> ChatMessage: ...

    def render(self, template: str, context: dict[str, Any]) -> ChatMessage: ...

    def view(self, template: str, context: dict[str, Any]) -> dict[str, Any]:
        """A modal's view."""


class PeopleDirectory(Protocol):
    async def time_zone(self, user_id: str) -> str | None:
        """The person's time zone as Slack has it (users.info `tz`), None when unknown."""


class GroupDirectory(Protocol):
    async def members(self, group_id: str) -> frozenset[str]:
        """The members of a Slack user group (usergroups.users.list)."""
