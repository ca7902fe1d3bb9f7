"""HTTP mode and Socket Mode are wired from settings alone; local mode mounts the stand-in."""

from __future__ import annotations

import pytest
from aiohttp import web

from bot.app.catalog_file import load_catalog
from bot.app.runtime import build_runtime
from bot.app.settings import Settings
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.http_mode import http_mode_bot


def routes(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


async def test_http_mode_talks_to_the_configured_slack(tmp_path):
    """Production wiring, with the stand-in playing Slack at SLACK_API_URL."""
    async with http_mode_bot(tmp_path, token="xoxb-real", signing_secret="real") as (
        runtime,
        slack,
    ):
        assert runtime.emulator is None and "/emulator" not in routes(runtime.web_app)
        result = await slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout to staging")
        await runtime.settle()
        assert result.status == 200
        assert slack.calls_to("chat.postMessage")[0].response["ok"] is True


@pytest.mark.slow
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
