"""Health, readiness, metrics and the local console's address."""

from __future__ import annotations

import aiohttp

from bot.web.app import create_web_app
from bot.web.metrics import Metrics
from tests.support.harness import BotHarness


async def get(url: str, **kwargs):
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:
        return response.status, await response.text(), response.headers


async def test_health_and_readiness(bot: BotHarness):
    assert (await get(f"{bot.base_url}/healthz"))[0] == 200
    status, body, _ = await get(f"{bot.base_url}/readyz")
    assert status == 200 and '"database": "ok"' in body and '"migrations": "ok"' in body


async def test_metrics_count_slack_requests(bot: BotHarness):
    await bot.command("U0ALICE", "/release help")
    await bot.slack.send_signed(
        b"command=%2Fdeploy", "application/x-www-form-urlencoded", signature="v0=bad"
    )
    status, body, headers = await get(f"{bot.base_url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'releasebot_slack_requests_total{result="accepted"} 1.0' in body
    assert 'releasebot_slack_requests_total{result="bad_signature"} 1.0' in body


async def test_the_console_is_one_redirect_away(bot: BotHarness):
    for path in ("/", "/emulator"):
        status, _, headers = await get(f"{bot.base_url}{path}", allow_redirects=False)
        assert status == 302 and headers["Location"] == "/emulator/"
    status, body, _ = await get(f"{bot.base_url}/emulator/")
    assert status == 200 and "<html" in body.lower()


async def test_readiness_fails_when_the_database_is_unreachable():
    async def broken() -> dict[str, str]:
        return {"database": "unreachable: OperationalError"}

    app = create_web_app(metrics=Metrics(), readiness=broken)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        status, body, _ = await get(f"http://127.0.0.1:{port}/readyz")
        assert status == 503 and "unreachable" in body
    finally:
        await runner.cleanup()
