"""The requester's time zone from users.info, as the stand-in serves it: known, or none when
Slack does not answer or names a zone this machine cannot read (the caller then uses UTC and
says so)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.chat import SlackPeople
from tests.support.network import free_port


@pytest.fixture
async def slack() -> AsyncIterator[str]:
    zones = {"U0ALICE": "Europe/Berlin", "U0MARS": "Mars/Olympus_Mons"}

    async def users_info(request: web.Request) -> web.Response:
        user = (await request.post()).get("user") or request.query.get("user")
        if user not in zones:
            return web.json_response({"ok": False, "error": "user_not_found"})
        return web.json_response({"ok": True, "user": {"id": user, "tz": zones[user]}})

    app = web.Application()
    app.router.add_route("*", "/api/users.info", users_info)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/api/"
    finally:
        await runner.cleanup()


async def test_a_known_zone_an_unknown_one_and_no_answer(slack: str):
    people = SlackPeople(AsyncWebClient(token="xoxb-test", base_url=slack, retry_handlers=[]))
    assert await people.time_zone("U0ALICE") == "Europe/Berlin"
    assert await people.time_zone("U0MARS") is None
    assert await people.time_zone("U0NOBODY") is None
    gone = SlackPeople(
        AsyncWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/")
    )
    assert await gone.time_zone("U0ALICE") is None
