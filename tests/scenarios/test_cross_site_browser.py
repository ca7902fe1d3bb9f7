"""Cross-site requests, in headless Chromium (issue 12): a page on another loopback port (another
origin, the same site for cookies) that posts to the bot by itself neither signs the person
out, nor makes an audit export, nor drives the local console; the bot's own Sign out button
still works."""

from __future__ import annotations

import json

import pytest

from tests.support.audit import export_rows
from tests.support.browser import TIMEOUT_MS
from tests.support.cross_site import auto_submit, other_site
from tests.support.harness import BotHarness

pytestmark = [
    pytest.mark.browser,
    # Nothing here depends on the database.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

FREEZE = {"user": "U0DAVE", "channel": "C0DEPLOYS", "text": "/release freeze all gotcha"}
CONSOLE_ATTACK = """<script>
fetch("{scenario_bot}/emulator/console/api/command",
      {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}},
        body: JSON.stringify({freeze})}})
  .finally(() => {{ document.title = "sent"; }});
</script>"""


async def sign_in(page, scenario_bot: BotHarness, user: str) -> None:
    await page.goto(f"{scenario_bot.base_url}/releases")
    await page.wait_for_url("**/signin**")
    await page.select_option("#user", user)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/releases")


async def test_another_site_cannot_sign_out_export_or_drive_the_console(browser, scenario_bot):
    from playwright.async_api import expect

    attacks = {
        "signout": auto_submit(f"{scenario_bot.base_url}/signout"),
        "export": auto_submit(
            f"{scenario_bot.base_url}/audit/exports", {"days": "30", "format": "csv"}
        ),
        "console": CONSOLE_ATTACK.format(
            scenario_bot=scenario_bot.base_url, freeze=json.dumps(FREEZE)
        ),
    }
    async with other_site(attacks) as elsewhere:
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await sign_in(page, scenario_bot, "U0ERIN")  # an auditor: may export

        for attack in ("signout", "export"):
            await page.goto(f"{elsewhere}/{attack}")
            await page.wait_for_url(f"{scenario_bot.base_url}/**")
            await expect(page.locator("body")).to_contain_text("sent from another site")
        await page.goto(f"{elsewhere}/console")
        await page.wait_for_function("document.title === 'sent'")

        await page.goto(f"{scenario_bot.base_url}/releases")
        await expect(page).to_have_url(f"{scenario_bot.base_url}/releases")  # still signed in
        await scenario_bot.settle()
        actions = {row["action"] for row in await export_rows(scenario_bot.runtime.db)}
        assert not {"web.export", "command.freeze"} & actions, actions

        await page.click("text=Sign out")  # the bot's own button
        await page.wait_for_url("**/signin")
        await page.goto(f"{scenario_bot.base_url}/releases")
        await page.wait_for_url("**/signin**")
        await context.close()
