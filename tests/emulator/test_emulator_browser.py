"""The console in real Chromium: type a command, see the bot's message, confirm a click."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from aiohttp import web

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"

pytestmark = pytest.mark.browser


def _playwright_or_skip():
    reason = None
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        async_playwright, reason = None, "playwright is not installed"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (Debian package chromium)"
    if reason:
        if os.environ.get("REQUIRE_PEERS") == "1":
            pytest.fail(f"REQUIRE_PEERS=1 but {reason}")
        pytest.skip(reason)
    return async_playwright


def release_blocks(state: str, with_button: bool) -> list[dict]:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "checkout → production"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Canary 10%* for <@U0ALICE> is _{state}_ :rocket:",
            },
        },
    ]
    if with_button:
        confirm = {
            "title": {"type": "plain_text", "text": "Promote checkout?"},
            "text": {"type": "mrkdwn", "text": "Traffic goes to *50%*."},
            "confirm": {"type": "plain_text", "text": "Promote"},
            "deny": {"type": "plain_text", "text": "Not yet"},
        }
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": "Promote"},
            "action_id": "promote",
            "value": "r1",
            "style": "primary",
            "confirm": confirm,
        }
        blocks.append({"type": "actions", "elements": [button]})
    return blocks


async def test_command_message_confirm_click_update(harness):
    async_playwright = _playwright_or_skip()
    client = harness.client

    async def echo_bot(got):
        if got.payload is None:
            await client.chat_postMessage(
                channel=got.form["channel_id"],
                text=f"{got.form['command']} {got.form['text']}",
                blocks=release_blocks("running", with_button=True),
            )
        elif got.payload["type"] == "block_actions":
            await client.chat_update(
                channel=got.payload["channel"]["id"],
                ts=got.payload["container"]["message_ts"],
                text="Promoted",
                blocks=release_blocks(f"promoted by {got.payload['user']['name']}", False),
            )
        return web.Response()

    harness.bot.responder = echo_bot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{harness.base}/?user=U0ALICE&channel=C0DEPLOYS")
            command = page.get_by_test_id("command-input")
            await command.fill("/deploy checkout canary 10%")
            await command.press("Enter")

            message = page.get_by_test_id("message").first
            await message.get_by_text("running").wait_for()
            assert await message.locator("b", has_text="Canary 10%").count() == 1
            assert "@alice" in await message.inner_text()
            assert "🚀" in await message.inner_text()
            [posted] = harness.emu.messages("C0DEPLOYS")
            assert await message.get_attribute("data-ts") == posted.ts
            assert harness.bot.received[0].form["text"] == "checkout canary 10%"

            await page.get_by_test_id("user-picker").select_option("U0BOB")
            await page.wait_for_function(
                "document.querySelector('[data-action-id=promote]') !== null"
            )
            await page.screenshot(path=str(ARTIFACTS / "emulator-console-desktop.png"))

            await page.locator("[data-action-id=promote]").click()
            dialog = page.get_by_test_id("confirm-dialog")
            await dialog.wait_for()
            assert "Promote checkout?" in await dialog.inner_text()
            assert await page.get_by_test_id("confirm-dialog-deny").inner_text() == "Not yet"
            assert harness.emu.calls_to("chat.update") == []
            await page.get_by_test_id("confirm-dialog-confirm").click()

            await message.get_by_text("promoted by bob").wait_for()
            await message.get_by_test_id("edited").wait_for()
            assert await page.locator("[data-action-id=promote]").count() == 0
            [click] = [r.payload for r in harness.bot.received if r.payload]
            assert click["user"]["id"] == "U0BOB" and click["actions"][0]["value"] == "r1"

            await page.set_viewport_size({"width": 390, "height": 844})
            await message.get_by_text("promoted by bob").wait_for()
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"page scrolls sideways at phone width ({width}px)"
            await page.screenshot(path=str(ARTIFACTS / "emulator-console-phone.png"))
        finally:
            await browser.close()
    assert errors == []
    assert harness.bot.rejected == 0


APPROVE_MODAL = {
    "type": "modal",
    "callback_id": "approve",
    "private_metadata": "r1",
    "notify_on_close": True,
    "title": {"type": "plain_text", "text": "Approve r1"},
    "submit": {"type": "plain_text", "text": "Approve"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        },
        {
            "type": "input",
            "block_id": "when",
            "label": {"type": "plain_text", "text": "When"},
            "element": {
                "type": "static_select",
                "action_id": "pick",
                "options": [
                    {"text": {"type": "plain_text", "text": "Now"}, "value": "now"},
                    {"text": {"type": "plain_text", "text": "Tonight"}, "value": "tonight"},
                ],
            },
        },
    ],
}

HOME = {
    "type": "home",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your releases*: none"}}],
}


MRKDWN = [
    ("*bold* _italic_ ~gone~", "<b>bold</b> <i>italic</i> <s>gone</s>"),
    ("run `make` now", "run <code>make</code> now"),
    ("```\nline 1\nline 2```", "<pre>line 1\nline 2</pre>"),
    (
        "<https://ci.example/1|build #1>",
        '<a href="https://ci.example/1" target="_blank" rel="noopener">build #1</a>',
    ),
    (
        "<@U0BOB> <!here> <!subteam^S0ONCALL>",
        '<span class="mention">@bob</span> <span class="mention">@here</span> '
        '<span class="mention">@oncall</span>',
    ),
    (":rocket: :not_an_emoji:", "🚀 :not_an_emoji:"),
    (
        "a &lt;b&gt; &amp; <img src=x onerror=alert(1)>",
        "a &lt;b&gt; &amp; img src=x onerror=alert(1)",
    ),
    ("line\nbreak", "line<br>break"),
]


async def test_modal_thread_ephemeral_banner_and_home(harness):
    async_playwright = _playwright_or_skip()
    client = harness.client

    async def bot(got):
        if got.json is not None:
            await client.views_publish(user_id=got.json["event"]["user"], view=HOME)
            return web.Response()
        if got.payload is None:
            command = got.form["command"]
            if command == "/approve":
                await client.views_open(trigger_id=got.form["trigger_id"], view=APPROVE_MODAL)
                return web.Response()
            if command == "/help":
                return web.json_response({"text": "Usage: `/approve <release>`"})
            return web.Response(status=500)
        if got.payload["type"] == "view_submission":
            values = got.payload["view"]["state"]["values"]
            reason = values["reason"]["text"]["value"]
            when = values["when"]["pick"]["selected_option"]["value"]
            parent = await client.chat_postMessage(
                channel="C0RELEASES", text=f"r1 approved ({when})"
            )
            await client.chat_postMessage(
                channel="C0RELEASES", text=f"reason: {reason}", thread_ts=parent["ts"]
            )
        return web.Response()

    harness.bot.responder = bot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{harness.base}/?user=U0FRANK&channel=C0RELEASES")
            await page.wait_for_function("document.body.dataset.version !== '-1'")
            for source, expected in MRKDWN:
                assert await page.evaluate("(t) => mrkdwn(t)", source) == expected, source
            command = page.get_by_test_id("command-input")

            await command.fill("/help")
            await command.press("Enter")
            ephemeral = page.get_by_test_id("ephemeral")
            await ephemeral.get_by_text("Only visible to you").wait_for()
            assert await ephemeral.locator("code", has_text="/approve <release>").count() == 1

            await command.fill("/broken")
            await command.press("Enter")
            banner = page.get_by_test_id("error-banner")
            await banner.get_by_text('/broken failed with the error "http_service_error').wait_for()

            await command.fill("/approve r1")
            await command.press("Enter")
            modal = page.get_by_test_id("modal")
            await modal.get_by_test_id("modal-title").get_by_text("Approve r1").wait_for()
            await page.get_by_test_id("input-reason").fill("CI is green")
            await page.get_by_test_id("input-when").select_option("tonight")
            await page.screenshot(path=str(ARTIFACTS / "emulator-console-modal-phone.png"))
            await page.get_by_test_id("modal-submit").click()
            await modal.wait_for(state="hidden")

            message = page.get_by_test_id("message").first
            await message.get_by_text("r1 approved (tonight)").wait_for()
            await message.get_by_test_id("reply-count").click()
            thread = page.get_by_test_id("thread-pane")
            await thread.get_by_text("reason: CI is green").wait_for()
            await page.set_viewport_size({"width": 1280, "height": 800})
            await page.screenshot(path=str(ARTIFACTS / "emulator-console-thread-desktop.png"))
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.get_by_test_id("thread-close").click()

            await page.get_by_test_id("menu-toggle").click()
            await page.get_by_test_id("home-tab").click()
            await page.get_by_test_id("home").get_by_text("Your releases").wait_for()
        finally:
            await browser.close()
    assert harness.emu.home("U0FRANK") is not None
    assert harness.bot.rejected == 0
