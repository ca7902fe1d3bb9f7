"""The history pages as an auditor and as a plain engineer use them, in headless Chromium:
sign in, filter the history, open a release's timeline, see the DORA page, download a CSV
export and read its rows; an engineer is refused the export. Screenshots at desktop and
phone widths go to tests/artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.core.audit_manifest import Manifest
from tests.support.audit import export_rows
from tests.support.browser import ARTIFACTS, DESKTOP, PHONE, TIMEOUT_MS
from tests.support.harness import BotHarness

pytestmark = pytest.mark.browser


def read(path) -> str:
    return Path(path).read_text()


async def some_history(scenario_bot: BotHarness) -> None:
    """A staging release that goes live and a production one that is rolled back."""
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.run_until(
        lambda: ": live (" in scenario_bot.status_message().text, limit_s=600
    )
    await scenario_bot.command("U0ALICE", "/deploy search canary 10% to production")
    await scenario_bot.advance(3)
    await scenario_bot.click("U0BOB", scenario_bot.status_message(), "release_approve")
    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text, limit_s=120
    )


async def sign_in(page, scenario_bot: BotHarness, user: str, next_path: str = "/releases") -> None:
    await page.goto(f"{scenario_bot.base_url}{next_path}")
    await page.wait_for_url("**/signin**")
    await page.select_option("#user", user)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{next_path}**")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_auditor_filters_reads_a_timeline_and_downloads_the_export(browser, scenario_bot):
    from playwright.async_api import expect

    await some_history(scenario_bot)
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    await sign_in(page, scenario_bot, "U0ERIN")
    rows = page.locator("table.stack tbody tr")
    await expect(rows).to_have_count(2)
    await page.select_option("select[name=environment]", "production")
    await page.click("form.filters button")
    await page.wait_for_url("**environment=production**")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("rolled back")
    await page.screenshot(path=ARTIFACTS / "history-desktop.png", full_page=True)

    await rows.first.locator("a").click()
    timeline = page.locator("#timeline")
    await expect(timeline).to_contain_text("release.approved")
    await expect(timeline).to_contain_text("analysis.failed")
    await expect(page.locator("h1")).to_contain_text("search → production")
    await page.screenshot(path=ARTIFACTS / "timeline-desktop.png", full_page=True)

    await page.click("text=DORA")
    await expect(page.locator("#change_failure_rate")).to_contain_text("100%")
    await expect(page.locator("#change_failure_rate")).to_contain_text("1 of 1")
    await page.screenshot(path=ARTIFACTS / "dora-desktop.png", full_page=True)

    await page.click("text=Audit export")
    await page.select_option("select[name=environment]", "production")
    await page.click("button[type=submit]")
    async with page.expect_download() as waiting:
        await page.click("#download-export")
    download = await waiting.value
    exported = list(csv.DictReader(io.StringIO(read(await download.path()))))
    assert exported and {r["environment"] for r in exported} == {"production"}
    assert any(r["action"] == "release.approved" and r["actor_id"] == "U0BOB" for r in exported)
    async with page.expect_download() as waiting:
        await page.click("#download-manifest")
    manifest = Manifest.from_json(read(await (await waiting.value).path()))
    assert manifest.count == len(exported) and manifest.filters["environment"] == "production"
    audited = [r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "web.export"]
    assert [(r["actor_id"], r["outcome"]) for r in audited] == [("U0ERIN", "ok")]

    phone = await browser.new_page(viewport=PHONE)
    await phone.context.add_cookies(await context.cookies())
    await phone.goto(f"{scenario_bot.base_url}/releases")
    await expect(phone.locator("table.stack tbody tr")).to_have_count(2)
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the history scrolls sideways on a phone ({width}px)"
    await phone.screenshot(path=ARTIFACTS / "history-phone.png", full_page=True)
    await phone.goto(f"{scenario_bot.base_url}/dora")
    await phone.screenshot(path=ARTIFACTS / "dora-phone.png", full_page=True)
    assert not problems, problems
    await context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_plain_engineer_is_refused_the_export(browser, scenario_bot):
    from playwright.async_api import expect

    page = await browser.new_page(viewport=PHONE)
    page.set_default_timeout(TIMEOUT_MS)
    await sign_in(page, scenario_bot, "U0ALICE")
    await expect(page.locator("header nav")).not_to_contain_text("Audit export")
    response = await page.goto(f"{scenario_bot.base_url}/audit")
    assert response.status == 403
    await expect(page.locator("#refused")).to_contain_text(
        "Only auditors and admins may export the audit trail."
    )
    await page.screenshot(path=ARTIFACTS / "export-refused-phone.png", full_page=True)
    posted = await page.request.post(f"{scenario_bot.base_url}/audit/exports", form={"days": "30"})
    assert posted.status == 403
    refused = [r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "web.export"]
    assert [(r["actor_id"], r["outcome"], r["rule"]) for r in refused] == [
        ("U0ALICE", "refused", "rbac.export")
    ]


async def test_pages_need_a_signed_in_person_and_refuse_a_forged_cookie(scenario_bot):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        releases = f"{scenario_bot.base_url}/releases"
        async with session.get(releases, allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"].startswith("/signin")
        forged = {"releasebot_session": "VTBFUklOfDk5OTk5OTk5OTk5.deadbeef"}
        async with session.get(
            f"{scenario_bot.base_url}/audit", cookies=forged, allow_redirects=False
        ) as answer:
            assert answer.status == 303, "a cookie that is not ours signs nobody in"
