"""The whole bot on a loopback port with the Slack stand-in, a manual clock and manual ticks.

Tests act as Slack does (signed requests through /slack/events via the stand-in) and read
what Slack would show (the stand-in's messages and recorded Web API calls).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.app.runtime import EMULATOR_PATH, Runtime, build_runtime
from bot.app.settings import Settings
from bot.core.catalog import Catalog
from bot.core.clock import ManualClock
from bot.emulator import DeliveryResult, Emulator, Message
from tests.support.network import free_port

CHANNEL = "C0DEPLOYS"


@dataclass
class BotHarness:
    runtime: Runtime
    runner: web.AppRunner
    clock: ManualClock
    base_url: str

    @classmethod
    async def start(cls, database_url: str, catalog: Catalog, **settings: Any) -> BotHarness:
        port = settings.pop("port", None) or free_port()
        clock = ManualClock()
        settings.setdefault("update_interval_s", 0)
        settings.setdefault("public_url", f"http://127.0.0.1:{port}")
        config = Settings(database_url=database_url, host="127.0.0.1", port=port, **settings)
        runtime = await build_runtime(config, clock=clock, catalog=catalog)
        runner = web.AppRunner(runtime.web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        base = f"http://127.0.0.1:{port}"
        if runtime.emulator is not None:
            runtime.emulator.bot_events_url = f"{base}/slack/events"
            runtime.emulator.public_base_url = f"{base}{EMULATOR_PATH}"
        return cls(runtime, runner, clock, base)

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, database_url: str, catalog: Catalog, **settings: Any
    ) -> AsyncIterator[BotHarness]:
        """The bot for the length of a `with`: what the tests' bot fixtures yield."""
        harness = await cls.start(database_url, catalog, **settings)
        try:
            yield harness
        finally:
            await harness.stop()

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.runtime.close()

    @property
    def slack(self) -> Emulator:
        assert self.runtime.emulator is not None
        return self.runtime.emulator

    async def command(
        self, user: str, line: str, channel: str = CHANNEL, **kwargs: Any
    ) -> DeliveryResult:
        """`line` as typed in Slack, e.g. "/deploy checkout canary 10%"; then let the bot settle."""
        command, _, text = line.partition(" ")
        result = await self.slack.slash_command(user, channel, command, text, **kwargs)
        await self.settle()
        return result

    async def click(
        self,
        user: str,
        message: Message | str,
        action_id: str,
        channel: str = CHANNEL,
        **kwargs: Any,
    ) -> DeliveryResult:
        ts = message if isinstance(message, str) else message.ts
        result = await self.slack.click(user, channel, ts, action_id, **kwargs)
        await self.settle()
        return result

    async def settle(self) -> None:
        await self.runtime.settle()

    async def advance(self, seconds: float, step: float = 1.0) -> None:
        """Let `seconds` pass on the bot's clock, ticking the engine as a scheduler would."""
        remaining = seconds
        while remaining > 0:
            delta = min(step, remaining)
            self.clock.advance(delta)
            remaining -= delta
            await self.settle()

    async def run_until(self, predicate, limit_s: float = 600, step: float = 1.0) -> None:
        waited = 0.0
        while not predicate():
            if waited >= limit_s:
                raise AssertionError(f"condition not met after {limit_s}s of bot time")
            await self.advance(step, step)
            waited += step

    def status_message(self, channel: str = CHANNEL) -> Message:
        """The newest top-level message the bot posted in `channel`."""
        posted = [m for m in self.slack.messages(channel) if m.bot_id]
        assert posted, f"the bot posted nothing in {channel}"
        return posted[-1]

    def replies_to(self, user: str) -> list[str]:
        """What the user saw privately (ephemerals and response_url answers), as text."""
        return [visible_text(e.blocks) or e.text for e in self.slack.ephemerals(user)]

    def web_api_calls(self, method: str) -> list:
        return self.slack.calls_to(method)


def visible_text(blocks: list[dict[str, Any]]) -> str:
    """The words a person reads in a list of blocks, one line per text."""
    lines: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                lines.append(node["text"])
                return
            for key, value in node.items():
                if key != "confirm":
                    collect(value)
        elif isinstance(node, list):
            for item in node:
                collect(item)

    collect(blocks)
    return "\n".join(lines)
