"""Health, readiness, metrics and the local console's address."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from bot.web.app import create_web_app
from bot.web.metrics import Metrics
from tests.support.harness import BotHarness


async def get(url: str, **kwargs):
    async with aiohttp.ClientSession() as session, session.get(url, **kwargs) as response:
        return response.status, await response.text(), response.headers


async def signed_in_session(
    example_bot: BotHarness, user: str = "U0ALICE"
) -> aiohttp.ClientSession:
    """A client signed in to the web pages (local mode: picking a person)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(f"{example_bot.base_url}/signin", data={"user": user}) as response:
        assert response.status == 200 and response.url.path == "/releases"
    return session


async def test_health_and_readiness(example_bot: BotHarness):
    assert (await get(f"{example_bot.base_url}/healthz"))[0] == 200
    status, body, _ = await get(f"{example_bot.base_url}/readyz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    async with (
        await signed_in_session(example_bot) as session,
        session.get(f"{example_bot.base_url}/readyz") as response,
    ):
        details = await response.json()
    assert details["status"] == "ok" and details["checks"]["database"] == "ok"
    assert details["checks"]["migrations"] == "ok" and "integrations" in details


async def test_readiness_names_no_backend_or_address_to_a_stranger(example_bot: BotHarness, caplog):
    caplog.set_level(logging.INFO, logger="bot.web.app")

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("readiness")]

    for _ in range(200):  # the backends are asked in the background
        status, body, _ = await get(f"{example_bot.base_url}/readyz")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        if "not checked yet" not in logged()[-1]:
            break
        await asyncio.sleep(0.05)
    seen = len(logged())
    forged = {"Cookie": "releasebot_session=eyJ1c2VyIjogIlUwQUxJQ0UifQ==.00"}
    for _ in range(3):
        status, body, _ = await get(f"{example_bot.base_url}/readyz", headers=forged)
        assert status == 200 and json.loads(body) == {"status": "ok"}
    # The details go to the log, once per change, not on every probe.
    assert len(logged()) == seen and '"database": "ok"' in logged()[-1]
    assert '"simulated": {"ok": true' in logged()[-1]


async def test_metrics_count_slack_requests(example_bot: BotHarness):
    await example_bot.command("U0ALICE", "/release help")
    await example_bot.slack.send_signed(
        b"command=%2Fdeploy", "application/x-www-form-urlencoded", signature="v0=bad"
    )
    status, body, headers = await get(f"{example_bot.base_url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'releasebot_slack_requests_total{result="accepted"} 1.0' in body
    assert 'releasebot_slack_requests_total{result="bad_signature"} 1.0' in body


async def test_the_console_is_one_redirect_away(example_bot: BotHarness):
    for path in ("/", "/emulator"):
        status, _, headers = await get(f"{example_bot.base_url}{path}", allow_redirects=False)
        assert status == 302 and headers["Location"] == "/emulator/"
    status, body, _ = await get(f"{example_bot.base_url}/emulator/")
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
        assert status == 503 and json.loads(body) == {"status": "not ready"}
    finally:
        await runner.cleanup()
