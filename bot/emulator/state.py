"""The emulated workspace's state: the records (bot/emulator/records.py) it holds and the
changes made to them.

Every mutation ends with changed(), which bumps `version` and wakes whoever awaits
next_change() (the console's long-poll and Emulator.wait_for).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Callable
from typing import Any

from bot.emulator.records import (
    Banner,
    Ephemeral,
    File,
    Message,
    RecordedCall,
    View,
    ts_key,
)
from bot.emulator.workspace import Channel, Workspace


class SlackState:
    def __init__(self, workspace: Workspace, clock: Callable[[], float]) -> None:
        self.workspace = workspace
        self.clock = clock
        self.channel_messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.homes: dict[str, str] = {}
        self.files: dict[str, File] = {}
        self.calls: list[RecordedCall] = []
        self.banners: list[Banner] = []
        self.version = 0
        self.waiting = 0
        self._event = asyncio.Event()
        self._last_ts_us = 0
        self._counters: dict[str, int] = {}

    # -- change notification ---------------------------------------------------------------

    def changed(self) -> None:
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def next_change(self) -> None:
        self.waiting += 1
        try:
            await self._event.wait()
        finally:
            self.waiting -= 1

    # -- ids -------------------------------------------------------------------------------

    def next_ts(self) -> str:
        us = max(round(self.clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        n = self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}0EMU{n:05d}"

    def new_hash(self) -> str:
        n = self._counters["hash"] = self._counters.get("hash", 0) + 1
        return f"{int(self.clock())}.{hashlib.sha1(str(n).encode()).hexdigest()[:8]}"

    def with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A copy where every block has a block_id: Slack generates the missing ones."""
        out = copy.deepcopy(blocks)
        for block in out:
            if isinstance(block, dict) and "block_id" not in block:
                n = self._counters["block"] = self._counters.get("block", 0) + 1
                block["block_id"] = hashlib.sha1(f"block{n}".encode()).hexdigest()[:5]
        return out

    # -- messages --------------------------------------------------------------------------

    def channel(self, channel_id_or_name: str) -> Channel | None:
        return self.workspace.channel(channel_id_or_name)

    def top_level(self, channel_id: str) -> list[Message]:
        return self.channel_messages.setdefault(channel_id, [])

    def post_message(
        self,
        channel_id: str,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        reply_broadcast: bool = False,
        files: list[str] | None = None,
    ) -> Message:
        parent = self.find_message(channel_id, thread_ts) if thread_ts else None
        if parent is not None and parent.thread_ts:
            parent = self.find_message(channel_id, parent.thread_ts)
        msg = Message(
            channel=channel_id,
            ts=self.next_ts(),
            user=user,
            text=text,
            blocks=self.with_block_ids(blocks or []),
            thread_ts=parent.ts if parent else None,
            metadata=metadata,
            bot_id=self.workspace.bot_id if user == self.workspace.bot_user_id else None,
            attachments=attachments or [],
            reply_broadcast=bool(parent and reply_broadcast),
            files=files or [],
        )
        if parent is not None:
            parent.replies.append(msg)
        else:
            self.top_level(channel_id).append(msg)
        self.changed()
        return msg

    def find_message(self, channel_id: str, ts: str | None) -> Message | None:
        for msg in self.channel_messages.get(channel_id, []):
            if msg.ts == ts:
                return msg
            for reply in msg.replies:
                if reply.ts == ts:
                    return reply
        return None

    def mark_edited(self, msg: Message) -> None:
        msg.edited = True
        msg.edited_ts = self.next_ts()
        msg.edits += 1
        self.changed()

    def delete_message(self, msg: Message) -> None:
        if msg.thread_ts:
            parent = self.find_message(msg.channel, msg.thread_ts)
            if parent is not None:
                parent.replies.remove(msg)
        else:
            self.top_level(msg.channel).remove(msg)
        self.changed()

    def visible_history(self, channel_id: str) -> list[Message]:
        """Oldest first, as a channel shows them: top-level messages and broadcast replies."""
        shown = list(self.top_level(channel_id))
        for msg in self.top_level(channel_id):
            shown.extend(r for r in msg.replies if r.reply_broadcast)
        return sorted(shown, key=lambda m: ts_key(m.ts))

    # -- ephemerals ------------------------------------------------------------------------

    def post_ephemeral(
        self,
        channel_id: str,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> Ephemeral:
        eph = Ephemeral(
            channel_id,
            self.next_ts(),
            user,
            text,
            self.with_block_ids(blocks or []),
            thread_ts,
            attachments or [],
        )
        self.ephemerals.append(eph)
        self.changed()
        return eph

    def find_ephemeral(self, channel_id: str, ts: str, user: str | None = None) -> Ephemeral | None:
        return next(
            (
                e
                for e in self.ephemerals
                if e.channel == channel_id and e.ts == ts and (user is None or e.user == user)
            ),
            None,
        )

    # -- views -----------------------------------------------------------------------------

    def add_view(self, user: str, definition: dict[str, Any], **links: Any) -> View:
        definition = {**definition, "blocks": self.with_block_ids(definition.get("blocks", []))}
        view = View(
            self.new_id("V"), definition["type"], user, definition, self.new_hash(), **links
        )
        self.views[view.id] = view
        return view

    def replace_view(self, view: View, definition: dict[str, Any]) -> View:
        view.definition = {**definition, "blocks": self.with_block_ids(definition["blocks"])}
        view.hash = self.new_hash()
        view.errors = {}
        view.state_values = {}
        self.changed()
        return view

    def modal_stack(self, user: str) -> list[View]:
        return [self.views[v] for v in self.modal_stacks.get(user, [])]

    def open_modal(self, user: str, definition: dict[str, Any]) -> View:
        for old in self.modal_stacks.get(user, []):
            self.views.pop(old, None)
        view = self.add_view(user, definition)
        self.modal_stacks[user] = [view.id]
        self.changed()
        return view

    def push_modal(self, user: str, definition: dict[str, Any]) -> View:
        stack = self.modal_stacks.setdefault(user, [])
        previous = stack[-1] if stack else None
        root = stack[0] if stack else None
        view = self.add_view(user, definition, root_view_id=root, previous_view_id=previous)
        stack.append(view.id)
        self.changed()
        return view

    def pop_modal(self, user: str, *, clear: bool = False) -> None:
        stack = self.modal_stacks.get(user, [])
        while stack:
            self.views.pop(stack.pop(), None)
            if not clear:
                break
        self.changed()

    def publish_home(self, user: str, definition: dict[str, Any]) -> View:
        existing = self.views.get(self.homes.get(user, ""))
        if existing is not None:
            return self.replace_view(existing, definition)
        view = self.add_view(user, definition)
        self.homes[user] = view.id
        self.changed()
        return view

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> View | None:
        if view_id:
            return self.views.get(view_id)
        return next((v for v in self.views.values() if v.external_id == external_id), None)

    # -- calls and banners -----------------------------------------------------------------

    def record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        self.changed()

    def add_banner(self, user: str, text: str) -> Banner:
        banner = Banner(len(self.banners) + 1, user, text, self.clock())
        self.banners.append(banner)
        self.changed()
        return banner
