"""What the emulated workspace holds, one record each: messages, ephemerals, views, files,
recorded calls, banners, each able to say itself as Slack's Web API would."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.workspace import Workspace


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    replies: list[Message] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    edited: bool = False
    edited_ts: str | None = None
    edits: int = 0
    bot_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    reply_broadcast: bool = False
    files: list[str] = field(default_factory=list)

    @property
    def reply_count(self) -> int:
        return len(self.replies)

    def to_slack(self, ws: Workspace, *, include_metadata: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": ws.team_id,
        }
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = ws.app_id
            out["bot_profile"] = {
                "id": self.bot_id,
                "app_id": ws.app_id,
                "name": ws.bot_name,
                "team_id": ws.team_id,
                "deleted": False,
            }
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.files:
            out["files"] = [{"id": file_id} for file_id in self.files]
            out["upload"] = False
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.reply_broadcast:
            out["subtype"] = "thread_broadcast"
        if self.replies:
            users = list(dict.fromkeys(r.user for r in self.replies))
            out.update(
                thread_ts=self.ts,
                reply_count=len(self.replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=self.replies[-1].ts,
            )
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if include_metadata and self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        return out


@dataclass
class Ephemeral:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class View:
    id: str
    type: str
    user: str
    definition: dict[str, Any]
    hash: str
    root_view_id: str | None = None
    previous_view_id: str | None = None
    state_values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return self.definition.get("blocks", [])

    @property
    def callback_id(self) -> str:
        return self.definition.get("callback_id", "")

    @property
    def private_metadata(self) -> str:
        return self.definition.get("private_metadata", "")

    @property
    def external_id(self) -> str:
        return self.definition.get("external_id", "")

    @property
    def title(self) -> dict[str, Any] | None:
        return self.definition.get("title")

    def to_slack(self, ws: Workspace) -> dict[str, Any]:
        d = self.definition
        return {
            "id": self.id,
            "team_id": ws.team_id,
            "type": self.type,
            "blocks": copy.deepcopy(self.blocks),
            "private_metadata": self.private_metadata,
            "callback_id": self.callback_id,
            "state": {"values": copy.deepcopy(self.state_values)},
            "hash": self.hash,
            "title": copy.deepcopy(d.get("title")),
            "clear_on_close": bool(d.get("clear_on_close", False)),
            "notify_on_close": bool(d.get("notify_on_close", False)),
            "close": copy.deepcopy(d.get("close")),
            "submit": copy.deepcopy(d.get("submit")),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id or self.id,
            "app_id": ws.app_id,
            "external_id": self.external_id,
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }


@dataclass
class File:
    id: str
    name: str
    length: int
    title: str = ""
    content: bytes | None = None
    created: int = 0
    user: str = ""
    channels: list[str] = field(default_factory=list)
    completed: bool = False

    def to_slack(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": "application/octet-stream",
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "user": self.user,
            "size": len(self.content or b""),
            "url_private": f"{base_url}/files/{self.id}",
            "permalink": f"{base_url}/files/{self.id}",
            "channels": list(self.channels),
        }


@dataclass
class RecordedCall:
    method: str
    args: dict[str, Any]
    response: dict[str, Any]
    at: float
    status: int = 200
    fault: str | None = None  # the id of the fault that answered it instead of Slack


@dataclass
class Banner:
    id: int
    user: str
    text: str
    at: float


def ts_key(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int((fraction or "0").ljust(6, "0")[:6])
