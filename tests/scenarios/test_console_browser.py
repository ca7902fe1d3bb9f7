"""The release path of issue 2 as a person does it: in the local Slack console, in headless
Chromium, by typing and clicking. deploy -> CI -> approval (self-approval refused) -> canary
10% -> analysis in the thread -> on-call rolls back from the button -> rolled back.

The bot's clock is manual and its engine does not tick by itself: between browser steps the
test lets bot time pass (`bot.advance`, `bot.run_until`); the page must follow live (long-poll).
Assertions read the page, as a person would; the stand-in's Web API log is only cross-checked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.support.browser import ARTIFACTS, DESKTOP, PHONE, TIMEOUT_MS
from tests.support.harness import CHANNEL, BotHarness

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_console_deploy_approve_rollback(browser, scenario_bot: BotHarness) -> None:
    from playwright.async_api import expect

    page = await browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(msg) -> None:
        # the console has no favicon; Chromium's own /favicon.ico 404 is not the page's error
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console error: {msg.text} at {msg.location.get('url')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    async def synced() -> None:
        """The page shows the stand-in's latest state (so nothing re-renders under a click)."""
        await expect(page.locator("body")).to_have_attribute(
            "data-version", str(scenario_bot.slack.state.version), timeout=TIMEOUT_MS
        )

    @asynccontextmanager
    async def sent(endpoint: str) -> AsyncIterator[None]:
        """The browser's request reached the bot and was acked; then let the bot settle."""
        async with page.expect_response(
            lambda r: r.url.endswith(f"/console/api/{endpoint}") and r.request.method == "POST"
        ) as answer:
            yield
        response = await answer.value
        body = await response.json()
        assert body["ok"] and body["delivery"]["ok"], body
        await scenario_bot.settle()

    async def act_as(user: str) -> None:
        """Pick `user` in "Acting as" and wait until the page shows what that user sees."""
        await page.get_by_test_id("user-picker").select_option(user)
        await page.wait_for_function("(u) => ui.state && ui.state.user === u", arg=user)
        await synced()

    await page.goto(f"{scenario_bot.base_url}/emulator/?channel={CHANNEL}")
    await act_as("U0BOB")
    await expect(page.get_by_test_id("channel-header")).to_have_text("#deploys")

    # bob types the deploy
    command = page.get_by_test_id("command-input")
    await command.fill("/deploy checkout canary 10% to production")
    async with sent("command"):
        await command.press("Enter")
    await expect(command).to_have_value("")

    channel = page.get_by_test_id("messages")
    status = channel.get_by_test_id("message").filter(has_text="checkout → production")
    await expect(status).to_have_count(1)
    await expect(status).to_contain_text(re.compile("waiting for CI", re.I))
    buttons = status.get_by_test_id("button")
    approve = status.locator("[data-action-id=release_approve]")

    # CI turns green after 2 s of bot time: the page follows without a reload
    await scenario_bot.advance(3)
    await expect(status).to_contain_text(re.compile("waiting for approval", re.I))
    await expect(approve).to_have_text("Approve")
    await expect(status.locator("[data-action-id=release_reject]")).to_have_text(
        re.compile("Reject")
    )
    await synced()

    # bob requested it, so his Approve is refused, privately
    async with sent("click"):
        await approve.click()
    refusal = channel.get_by_test_id("ephemeral")
    await expect(refusal).to_contain_text("cannot approve it yourself")
    await expect(refusal.get_by_test_id("only-visible")).to_contain_text("Only visible to you")
    await expect(status).to_contain_text(re.compile("waiting for approval", re.I))

    # frank approves: the rollout starts and the Approve button is gone
    await act_as("U0FRANK")
    await expect(refusal).to_have_count(0)  # bob's private reply is not frank's to see
    async with sent("click"):
        await approve.click()
    await expect(status).to_contain_text(re.compile("rolling out", re.I))
    await expect(approve).to_have_count(0)
    await expect(status).to_contain_text("approved by @frank")

    # the 10% step (3 s), the analysis bakes 20 s with checks every 10 s, then the 50% step
    # starts and takes 3 s: stop in the middle of it
    await scenario_bot.advance(3)
    await scenario_bot.advance(21)
    await expect(status).to_contain_text("✅ 10% → ▶️ 50%")
    await synced()

    await status.get_by_test_id("reply-count").click()
    thread = page.get_by_test_id("thread-pane")
    await expect(thread).to_be_visible()
    replies = page.get_by_test_id("thread-messages")
    await expect(replies).to_contain_text("10% of traffic on v1.4.3")
    analysis = replies.get_by_test_id("message").filter(has_text="Analysis passed")
    await expect(analysis).to_contain_text("error_rate")

    # carol (on-call) rolls back: the confirmation names the versions
    await act_as("U0CAROL")
    rollback = status.locator("[data-action-id=release_rollback]")
    await expect(rollback).to_have_text(re.compile("Roll back"))
    await rollback.click()
    dialog = page.get_by_test_id("confirm-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.get_by_test_id("confirm-dialog-text")).to_contain_text(
        "from v1.4.3 to v1.4.2"
    )
    async with sent("click"):
        await page.get_by_test_id("confirm-dialog-confirm").click()
    await expect(dialog).to_be_hidden()
    await expect(status).to_contain_text(re.compile("rolling back", re.I))

    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text.lower(), limit_s=30
    )
    await expect(status).to_contain_text("Rolled back")
    await expect(buttons).to_have_count(0)
    await expect(status).to_contain_text("rolled back by @carol")
    await synced()

    await status.get_by_test_id("reply-count").click()
    await expect(replies).to_contain_text("is on v1.4.2 again")
    await replies.get_by_test_id("message").last.scroll_into_view_if_needed()
    await expect(page.get_by_test_id("error-banner")).to_have_count(0)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-release-desktop.png"))
    await page.get_by_test_id("thread-close").click()
    await page.set_viewport_size(PHONE)
    await expect(status).to_contain_text("Rolled back")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the console scrolls sideways on a phone ({width}px)"
    await page.screenshot(path=str(ARTIFACTS / "console-release-phone.png"))

    assert problems == []
    bad = [
        (c.method, c.response) for c in scenario_bot.slack.calls if not c.response.get("ok", False)
    ]
    assert not bad, f"Web API calls the stand-in (Slack's spec) refused: {bad}"
