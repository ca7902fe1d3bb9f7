"""Slack retries and double clicks never start two releases or count one approval twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.storage.tables import ReleaseRow
from tests.support.harness import CHANNEL, BotHarness


async def release_count(bot: BotHarness) -> int:
    async with bot.runtime.db.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(ReleaseRow))).scalar_one()


async def test_a_slack_retry_of_a_deploy_starts_nothing_twice(bot: BotHarness):
    first = await bot.command("U0ALICE", "/deploy checkout canary 10%")
    retry = await bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout canary 10%", retry_num=1
    )
    await bot.settle()
    assert first.status == retry.status == 200
    assert retry.request_body == first.request_body
    assert retry.request_headers["X-Slack-Retry-Num"] == "1"
    assert await release_count(bot) == 1
    assert len(bot.web_api_calls("chat.postMessage")) == 1
    assert bot.replies_to("U0ALICE") == []


async def test_typing_deploy_twice_is_refused_by_the_lock(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy checkout to staging")
    await bot.command("U0ALICE", "/deploy checkout to staging")
    assert await release_count(bot) == 1
    assert any("already has an active release #1" in t for t in bot.replies_to("U0ALICE"))


async def test_two_deploys_at_the_same_moment_start_one_release(bot: BotHarness):
    results = await asyncio.gather(
        bot.slack.slash_command("U0ALICE", CHANNEL, "/deploy", "checkout to staging"),
        bot.slack.slash_command("U0BOB", CHANNEL, "/deploy", "checkout to staging"),
    )
    await bot.settle()
    assert [r.status for r in results] == [200, 200]
    assert await release_count(bot) == 1
    refused = bot.replies_to("U0ALICE") + bot.replies_to("U0BOB")
    assert len(refused) == 1 and "active release" in refused[0]


async def test_a_double_click_on_approve_counts_once(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy checkout to production")
    await bot.advance(3)
    status = bot.status_message()
    await asyncio.gather(
        bot.slack.click("U0BOB", CHANNEL, status.ts, "release_approve"),
        bot.slack.click("U0BOB", CHANNEL, status.ts, "release_approve"),
    )
    await bot.settle()
    approvals = [r.text for r in bot.status_message().replies if "Approved by" in r.text]
    assert approvals == [":small_blue_diamond: Approved by <@U0BOB> (1 of 1)"]
    refusals = bot.replies_to("U0BOB")
    assert len(refusals) == 1 and "cannot approve it" in refusals[0]


async def test_a_double_click_on_rollback_rolls_back_once(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await bot.advance(6)
    status = bot.status_message()
    started = bot.runtime.registry.backends["simulated"]
    await asyncio.gather(
        bot.slack.click("U0CAROL", CHANNEL, status.ts, "release_rollback"),
        bot.slack.click("U0CAROL", CHANNEL, status.ts, "release_rollback"),
    )
    await bot.settle()
    await bot.run_until(lambda: "rolled back" in bot.status_message().text, limit_s=30)
    requested = [r.text for r in bot.status_message().replies if "Rollback to" in r.text]
    assert len(requested) == 1
    assert any("already rolling back" in t for t in bot.replies_to("U0CAROL"))
    assert len([k for k in started._operations if "rollback" in k]) == 1


async def test_a_retried_click_is_handled_once(bot: BotHarness):
    await bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await bot.advance(6)
    status = bot.status_message()
    first = await bot.slack.click("U0ALICE", CHANNEL, status.ts, "release_pause")
    retry = await bot.slack.send_signed(
        first.request_body,
        "application/x-www-form-urlencoded",
        extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await bot.settle()
    assert retry.status == 200
    assert "paused" in bot.status_message().text
    assert bot.replies_to("U0ALICE") == []
