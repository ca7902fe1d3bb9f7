"""Sign in with Slack against a real OpenID Connect provider (oidc-provider, issuing Slack's
claims), in headless Chromium: an auditor reaches the export, an engineer is refused it,
someone of another workspace is turned away, and answers that do not belong to the browser's
own sign-in (another tab, a forged state, a cancelled sign-in, an unreachable provider) let
nobody in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.web.signin import CALLBACK_PATH
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE, TIMEOUT_MS
from tests.support.harness import BotHarness
from tests.support.network import free_port

pytestmark = pytest.mark.browser


async def register_client(issuer: str, redirect_uri: str) -> tuple[str, str]:
    """Dynamic client registration: the app's client ID and secret, as Slack's app page
    would show them."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{issuer}/reg",
            json={
                "redirect_uris": [redirect_uri],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        ) as answer,
    ):
        assert answer.status == 201, await answer.text()
        client = await answer.json()
    return client["client_id"], client["client_secret"]


@pytest.fixture
async def slack_bot(oidc_issuer: str, example_catalog) -> AsyncIterator[BotHarness]:
    port = free_port()
    client_id, client_secret = await register_client(
        oidc_issuer, f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    )
    harness = await BotHarness.start(
        "sqlite+aiosqlite:///:memory:",
        example_catalog,
        port=port,
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        oidc_issuer=oidc_issuer,
    )
    try:
        yield harness
    finally:
        await harness.stop()


async def at_slack(page, login: str) -> None:
    """The provider's own login and consent pages, as a person fills them in."""
    await page.wait_for_selector("input[name=login]")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    await page.wait_for_selector("button:has-text('Continue')")
    await page.click("button:has-text('Continue')")


async def test_an_auditor_signs_in_with_slack_and_reaches_the_export(browser, slack_bot):
    from playwright.async_api import expect

    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{slack_bot.base_url}/audit")
    await page.wait_for_url(lambda url: url.endswith("/signin?next=/audit"))
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "signin-phone.png", full_page=True)
    await page.click("#slack-signin")
    await at_slack(page, "U0ERIN")
    await page.wait_for_url(f"{slack_bot.base_url}/audit")
    await expect(page.locator("header .who")).to_contain_text("signed in as U0ERIN")
    await expect(page.locator("h1")).to_contain_text("Audit")
    cookies = {c["name"] for c in await context.cookies()}
    assert "releasebot_session" in cookies and "releasebot_signin" not in cookies
    await context.close()


async def test_an_engineer_signed_in_with_slack_is_refused_the_export(browser, slack_bot):
    page = await browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{slack_bot.base_url}/signin")
    await page.click("#slack-signin")
    await at_slack(page, "U0ALICE")
    await page.wait_for_url(f"{slack_bot.base_url}/releases")
    response = await page.goto(f"{slack_bot.base_url}/audit")
    assert response.status == 403


async def test_someone_of_another_workspace_is_turned_away(browser, slack_bot):
    from playwright.async_api import expect

    page = await browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(f"{slack_bot.base_url}/signin")
    await page.click("#slack-signin")
    await at_slack(page, "U0MALLORY@T0ELSEWHERE")
    await expect(page.locator(".error")).to_contain_text("workspace T0ELSEWHERE")
    assert not any(c["name"] == "releasebot_session" for c in await page.context.cookies())
    response = await page.goto(f"{slack_bot.base_url}/releases")
    assert "/signin" in response.url


async def test_the_answer_to_an_older_sign_in_lets_nobody_in(browser, slack_bot):
    """Sign-in begun in two tabs of one browser: the later one replaces the first, so the
    first tab's answer no longer matches, even though the provider signed it."""
    from playwright.async_api import expect

    context = await browser.new_context(viewport=DESKTOP)
    first, second = await context.new_page(), await context.new_page()
    for tab in (first, second):
        tab.set_default_timeout(TIMEOUT_MS)
        await tab.goto(f"{slack_bot.base_url}/signin/slack")
        await tab.wait_for_selector("input[name=login]")
    await at_slack(first, "U0ERIN")
    await expect(first.locator(".error")).to_contain_text("does not belong to this browser")
    assert not any(c["name"] == "releasebot_session" for c in await context.cookies())
    await context.close()


async def test_a_cancelled_or_forged_answer_is_explained_and_lets_nobody_in(slack_bot):
    base = slack_bot.base_url
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/signin/slack?next=/dora", allow_redirects=False) as start:
            assert start.status == 303
            state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        cases = {
            "error=access_denied&state={state}": "cancelled",
            "code=stolen&state=not-ours": "does not belong to this browser",
            "code=made-up&state={state}": "refused the sign-in code",
        }
        for query, words in cases.items():
            callback = f"{base}{CALLBACK_PATH}?{query.format(state=state)}"
            async with session.get(callback) as answer:
                assert answer.status == 400, query
                text = await answer.text()
                assert words in text, text[text.find('class="error"') :][:300]
            async with session.get(f"{base}/signin/slack", allow_redirects=False) as again:
                state = parse_qs(urlsplit(again.headers["Location"]).query)["state"][0]
        async with session.get(f"{base}/releases", allow_redirects=False) as page:
            assert page.status == 303, "nobody is signed in"


async def test_an_unreachable_provider_is_named_on_the_sign_in_page(example_catalog):
    harness = await BotHarness.start(
        "sqlite+aiosqlite:///:memory:",
        example_catalog,
        slack_client_id="releasebot",
        slack_client_secret="secret",
        oidc_issuer=f"http://127.0.0.1:{free_port()}",
    )
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{harness.base_url}/signin/slack") as answer,
        ):
            assert answer.status == 502
            assert "Could not reach http://127.0.0.1:" in await answer.text()
    finally:
        await harness.stop()
