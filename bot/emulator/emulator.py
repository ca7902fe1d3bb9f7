"""The Emulator: one object to configure, inspect and drive the local Slack stand-in."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.emulator.app import build_app
from bot.emulator.driver import DeliveryResult, Driver
from bot.emulator.faults import FaultSchedule
from bot.emulator.records import Banner, Ephemeral, File, Message, RecordedCall, View
from bot.emulator.response_urls import ResponseUrlRegistry
from bot.emulator.spec import load_specs
from bot.emulator.state import SlackState
from bot.emulator.triggers import TriggerRegistry
from bot.emulator.webapi import WebApi, mount_url
from bot.emulator.workspace import Workspace, default_workspace

T = TypeVar("T")


class Emulator:
    def __init__(
        self,
        signing_secret: str,
        bot_token: str,
        bot_events_url: str | None = None,
        workspace: Workspace | None = None,
        clock: Callable[[], float] = time.time,
        spec_dir: Path | None = None,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.bot_events_url = bot_events_url
        self.public_base_url: str | None = None
        self.workspace = copy.deepcopy(workspace) if workspace else default_workspace()
        self.clock = clock
        self.specs = load_specs(spec_dir)
        self.state = SlackState(self.workspace, clock)
        self.triggers = TriggerRegistry(clock, self.workspace.team_id)
        self.response_urls = ResponseUrlRegistry(clock, signing_secret)
        self.faults = FaultSchedule(clock, self.specs)
        self.api = WebApi(
            self.state, self.specs, self.triggers, bot_token, self._request_base, self.faults
        )
        self.driver = Driver(
            self.state,
            self.triggers,
            self.response_urls,
            signing_secret,
            lambda: self.bot_events_url,
            self.base_url,
        )
        self.closing = False
        self._learned_base: str | None = None

    # -- wiring ------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        return build_app(self)

    def base_url(self) -> str:
        """Where the emulator is reachable: public_base_url, else as last seen by a request."""
        return (self.public_base_url or self._learned_base or "http://127.0.0.1").rstrip("/")

    def _request_base(self, request: web.Request, relative_path: str) -> str:
        seen = mount_url(request, relative_path)
        self._learned_base = self._learned_base or seen
        return self.public_base_url.rstrip("/") if self.public_base_url else seen

    @property
    def ack_timeout(self) -> float:
        return self.driver.ack_timeout

    @ack_timeout.setter
    def ack_timeout(self, seconds: float) -> None:
        self.driver.ack_timeout = seconds

    def rate_limit(self, method: str, retry_after_seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        if times > 0:
            retry_after = max(1, round(retry_after_seconds))
            self.faults.add([method], "ratelimit", times=times, retry_after=retry_after)

    # -- inspection --------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        return self.state.calls

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.state.calls if c.method == method]

    def messages(self, channel_id: str) -> list[Message]:
        channel = self.state.channel(channel_id)
        return list(self.state.top_level(channel.id if channel else channel_id))

    def message(self, channel_id: str, ts: str) -> Message | None:
        return self.state.find_message(channel_id, ts)

    def ephemerals(self, user_id: str, channel_id: str | None = None) -> list[Ephemeral]:
        return [
            e
            for e in self.state.ephemerals
            if e.user == user_id and (channel_id is None or e.channel == channel_id)
        ]

    @property
    def views(self) -> dict[str, View]:
        return self.state.views

    def modal(self, user_id: str) -> View | None:
        stack = self.state.modal_stack(user_id)
        return stack[-1] if stack else None

    def modal_stack(self, user_id: str) -> list[View]:
        return self.state.modal_stack(user_id)

    def home(self, user_id: str) -> View | None:
        return self.state.views.get(self.state.homes.get(user_id, ""))

    @property
    def files(self) -> dict[str, File]:
        return self.state.files

    def banners(self, user_id: str) -> list[Banner]:
        return [b for b in self.state.banners if b.user == user_id]

    @property
    def version(self) -> int:
        return self.state.version

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until predicate() is truthy, re-checking on every state change; return it."""
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    await self.state.next_change()
                return result
        except TimeoutError:
            raise TimeoutError(
                f"condition not met within {timeout}s (state version {self.state.version})"
            ) from None

    # -- acting as Slack toward the bot ------------------------------------------------

    async def slash_command(
        self,
        user_id: str,
        channel_id: str,
        command: str,
        text: str = "",
        retry_num: int | None = None,
        headers_override: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        return await self.driver.slash_command(
            user_id, channel_id, command, text, retry_num, headers_override
        )

    async def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        value: Any = None,
        retry_num: int | None = None,
    ) -> DeliveryResult:
        return await self.driver.click(
            user_id, channel_id, message_ts, action_id, value=value, retry_num=retry_num
        )

    async def click_view(
        self, user_id: str, view_id: str, action_id: str, *, value: Any = None
    ) -> DeliveryResult:
        return await self.driver.click_view(user_id, view_id, action_id, value=value)

    async def submit_view(
        self, user_id: str, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> DeliveryResult:
        return await self.driver.submit_view(user_id, view_id, values)

    async def close_view(self, user_id: str, view_id: str) -> DeliveryResult | None:
        return await self.driver.close_view(user_id, view_id)

    async def send_signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> DeliveryResult:
        return await self.driver.send_signed(
            body,
            content_type,
            timestamp=timestamp,
            signature=signature,
            extra_headers=extra_headers,
        )

    async def send_event(
        self, event: dict[str, Any], *, retry_num: int | None = None
    ) -> DeliveryResult:
        return await self.driver.send_event(event, retry_num=retry_num)

    async def open_home(self, user_id: str) -> DeliveryResult:
        return await self.driver.open_home(user_id)

    def post_user_message(
        self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A person's plain message (no event is sent to the bot)."""
        channel = self.state.channel(channel_id)
        if channel is None or self.workspace.user(user_id) is None:
            raise LookupError(f"unknown user {user_id!r} or channel {channel_id!r}")
        return self.state.post_message(channel.id, user_id, text, thread_ts=thread_ts)


def create_emulator(
    signing_secret: str,
    bot_token: str,
    bot_events_url: str | None = None,
    workspace: Workspace | None = None,
    clock: Callable[[], float] = time.time,
    spec_dir: Path | None = None,
) -> Emulator:
    return Emulator(signing_secret, bot_token, bot_events_url, workspace, clock, spec_dir)
