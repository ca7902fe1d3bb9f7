"""The bot in HTTP mode (tokens set, as in production) with the stand-in playing Slack at
SLACK_API_URL and sending signed requests to the bot's /slack/events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from bot.app.catalog_file import load_catalog
from bot.app.runtime import Runtime, build_runtime
from bot.app.settings import Settings
from bot.core.clock import ManualClock
from bot.emulator import Emulator, create_emulator
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import free_port


@asynccontextmanager
async def http_mode_bot(
    directory: Path, *, token: str, signing_secret: str, clock: ManualClock | None = None
) -> AsyncIterator[tuple[Runtime, Emulator]]:
    clock = clock or ManualClock()
    slack = create_emulator(
        signing_secret=signing_secret, bot_token=token, clock=lambda: clock.now().timestamp()
    )
    slack_runner = web.AppRunner(slack.web_app())
    await slack_runner.setup()
    slack_port, bot_port = free_port(), free_port()
    await web.TCPSite(slack_runner, "127.0.0.1", slack_port).start()
    slack.public_base_url = f"http://127.0.0.1:{slack_port}"
    settings = Settings(
        database_url=f"sqlite:///{directory}/bot.db",
        port=bot_port,
        bot_token=token,
        signing_secret=signing_secret,
        slack_api_url=f"http://127.0.0.1:{slack_port}/api/",
        update_interval_s=0,
    )
    runtime = await build_runtime(settings, clock=clock, catalog=load_catalog(SCENARIO_CATALOG))
    bot_runner = web.AppRunner(runtime.web_app)
    await bot_runner.setup()
    await web.TCPSite(bot_runner, "127.0.0.1", bot_port).start()
    slack.bot_events_url = f"http://127.0.0.1:{bot_port}/slack/events"
    try:
        yield runtime, slack
    finally:
        await bot_runner.cleanup()
        await runtime.close()
        await slack_runner.cleanup()
