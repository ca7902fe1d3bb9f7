"""Slack retries and double clicks never start two releases or count one approval twice."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.storage.tables import ReleaseRow
from tests.support.harness import CHANNEL, BotHarness


async def release_count(scenario_bot: BotHarness) -> int:
    async with scenario_bot.runtime.db.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(ReleaseRow))).scalar_one()


async def test_a_slack_retry_of_a_deploy_starts_nothing_twice(scenario_bot: BotHarness):
    first = await scenario_bot.command("U0ALICE", "/deploy checkout canary 10%")
    retry = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout canary 10%", retry_num=1
    )
    await scenario_bot.settle()
    assert first.status == retry.status == 200
    assert retry.request_body == first.request_body
    assert retry.request_headers["X-Slack-Retry-Num"] == "1"
    assert await release_count(scenario_bot) == 1
    assert len(scenario_bot.web_api_calls("chat.postMessage")) == 1
    assert scenario_bot.replies_to("U0ALICE") == []


async def test_typing_deploy_twice_is_refused_by_the_lock(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    assert await release_count(scenario_bot) == 1
    assert any("already has an active release #1" in t for t in scenario_bot.replies_to("U0ALICE"))


async def test_two_deploys_at_the_same_moment_start_one_release(scenario_bot: BotHarness):
    results = await asyncio.gather(
        scenario_bot.slack.slash_command("U0ALICE", CHANNEL, "/deploy", "checkout to staging"),
        scenario_bot.slack.slash_command("U0BOB", CHANNEL, "/deploy", "checkout to staging"),
    )
    await scenario_bot.settle()
    assert [r.status for r in results] == [200, 200]
    assert await release_count(scenario_bot) == 1
    refused = scenario_bot.replies_to("U0ALICE") + scenario_bot.replies_to("U0BOB")
    assert len(refused) == 1 and "active release" in refused[0]


async def test_a_double_click_on_approve_counts_once(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout to production")
    await scenario_bot.advance(3)
    status = scenario_bot.status_message()
    await asyncio.gather(
        scenario_bot.slack.click("U0BOB", CHANNEL, status.ts, "release_approve"),
        scenario_bot.slack.click("U0BOB", CHANNEL, status.ts, "release_approve"),
    )
    await scenario_bot.settle()
    approvals = [r.text for r in scenario_bot.status_message().replies if "Approved by" in r.text]
    assert approvals == [":small_blue_diamond: Approved by <@U0BOB> (1 of 1)"]
    refusals = scenario_bot.replies_to("U0BOB")
    assert len(refusals) == 1 and "cannot approve it" in refusals[0]


async def test_a_double_click_on_rollback_rolls_back_once(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await scenario_bot.advance(6)
    status = scenario_bot.status_message()
    started = scenario_bot.runtime.registry.backends["simulated"]
    await asyncio.gather(
        scenario_bot.slack.click("U0CAROL", CHANNEL, status.ts, "release_rollback"),
        scenario_bot.slack.click("U0CAROL", CHANNEL, status.ts, "release_rollback"),
    )
    await scenario_bot.settle()
    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text, limit_s=30
    )
    requested = [r.text for r in scenario_bot.status_message().replies if "Rollback to" in r.text]
    assert len(requested) == 1
    assert any("already rolling back" in t for t in scenario_bot.replies_to("U0CAROL"))
    assert len([k for k in started._operations if "rollback" in k]) == 1


async def test_a_retried_click_is_handled_once(scenario_bot: BotHarness):
    await scenario_bot.command("U0ALICE", "/deploy checkout canary 10% to staging")
    await scenario_bot.advance(6)
    status = scenario_bot.status_message()
    first = await scenario_bot.slack.click("U0ALICE", CHANNEL, status.ts, "release_pause")
    retry = await scenario_bot.slack.send_signed(
        first.request_body,
        "application/x-www-form-urlencoded",
        extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await scenario_bot.settle()
    assert retry.status == 200
    assert "paused" in scenario_bot.status_message().text
    assert scenario_bot.replies_to("U0ALICE") == []
