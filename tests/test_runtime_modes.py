"""HTTP mode and Socket Mode are wired from settings alone; local mode mounts the stand-in."""

from __future__ import annotations

from aiohttp import web

from bot.catalog_file import load_catalog
from bot.clock import ManualClock
from bot.emulator import create_emulator
from bot.runtime import build_runtime
from bot.settings import Settings
from tests.scenarios.conftest import SCENARIO_CATALOG
from tests.support.harness import free_port


def routes(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


async def test_http_mode_talks_to_the_configured_slack(tmp_path):
    """Production wiring, with the stand-in playing Slack at SLACK_API_URL."""
    clock = ManualClock()
    slack = create_emulator(
        signing_secret="real-secret", bot_token="xoxb-real", clock=lambda: clock.now().timestamp()
    )
    slack_runner = web.AppRunner(slack.web_app())
    await slack_runner.setup()
    slack_port, bot_port = free_port(), free_port()
    await web.TCPSite(slack_runner, "127.0.0.1", slack_port).start()
    slack.public_base_url = f"http://127.0.0.1:{slack_port}"

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/bot.db",
        port=bot_port,
        bot_token="xoxb-real",
        signing_secret="real-secret",
        slack_api_url=f"http://127.0.0.1:{slack_port}/api/",
        update_interval_s=0,
    )
    runtime = await build_runtime(settings, clock=clock, catalog=load_catalog(SCENARIO_CATALOG))
    assert runtime.emulator is None and "/emulator" not in routes(runtime.web_app)
    bot_runner = web.AppRunner(runtime.web_app)
    await bot_runner.setup()
    await web.TCPSite(bot_runner, "127.0.0.1", bot_port).start()
    slack.bot_events_url = f"http://127.0.0.1:{bot_port}/slack/events"
    try:
        result = await slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout to staging")
        await runtime.settle()
        assert result.status == 200
        assert slack.calls_to("chat.postMessage")[0].response["ok"] is True
    finally:
        await bot_runner.cleanup()
        await runtime.close()
        await slack_runner.cleanup()


async def test_socket_mode_serves_no_events_endpoint(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/bot.db", bot_token="xoxb-1", app_token="xapp-1"
    )
    runtime = await build_runtime(settings, catalog=load_catalog(SCENARIO_CATALOG))
    try:
        assert settings.mode == "socket"
        assert "/slack/events" not in routes(runtime.web_app)
        assert {"/healthz", "/readyz", "/metrics"} <= routes(runtime.web_app)
    finally:
        await runtime.close()
