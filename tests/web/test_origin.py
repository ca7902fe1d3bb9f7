"""Every state-changing request a browser sends must come from the bot's own pages (issue 12):
the Origin, or without it Sec-Fetch-Site, or without that the Referer, decides; a request
with none of them is not a browser's and passes (Slack, GitHub: they sign theirs)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.web.origin import origin_of
from tests.support.harness import BotHarness

ELSEWHERE = "http://127.0.0.1:1"
# Nothing here depends on the database.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def post(example_bot: BotHarness, path: str, headers: dict[str, str], data=None):
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as session,
        session.post(
            f"{example_bot.base_url}{path}", headers=headers, data=data, allow_redirects=False
        ) as response,
    ):
        return response.status, await response.text(), response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": ELSEWHERE},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of the same host
        {"Referer": f"{ELSEWHERE}/page"},
    ],
)
@SQLITE_ONLY
async def test_a_form_from_another_site_changes_nothing(example_bot: BotHarness, headers):
    for path, form in (("/signout", None), ("/audit/exports", {"days": "30"})):
        status, text, answer = await post(example_bot, path, headers, form)
        assert status == 403 and "sent from another site" in text, path
        assert "Set-Cookie" not in answer
    # The local console's API gets its refusal as JSON.
    command = b'{"user": "U0DAVE", "channel": "C0DEPLOYS", "text": "/release freeze all x"}'
    status, text, _ = await post(
        example_bot,
        "/emulator/console/api/command",
        {**headers, "Content-Type": "text/plain"},
        command,
    )
    assert status in (403, 415) and json.loads(text)["ok"] is False


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser
        {"Origin": "{own}"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Referer": "{own}/releases"},
    ],
)
@SQLITE_ONLY
async def test_a_form_from_the_bots_own_pages_works(example_bot: BotHarness, headers):
    headers = {name: value.format(own=example_bot.base_url) for name, value in headers.items()}
    status, _, answer = await post(example_bot, "/signout", headers)
    assert status == 303 and answer["Location"] == "/signin"
    assert "releasebot_session" in answer["Set-Cookie"]


def test_origins_compare_by_scheme_host_and_port():
    assert origin_of("https://Bot.Example:443/x?y") == "https://bot.example"
    assert origin_of("http://127.0.0.1:3000") == "http://127.0.0.1:3000"
    assert origin_of("http://[::1]:3000/") == "http://[::1]:3000"
    assert origin_of("null") is None and origin_of("javascript:alert(1)") is None
