"""Release policy through signed Slack requests: approvers from a Slack group read from Slack,
clicks at the same moment, a tampered button. The rules themselves (expiry, escalation,
freezes, break-glass, environment order, locks) are tested on the services alone, in
tests/services/test_release_policies.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode

import pytest

from bot.app.catalog_file import load_catalog
from tests.support.audit import export_rows
from tests.support.catalogs import POLICY_CATALOG
from tests.support.harness import CHANNEL, BotHarness


@pytest.fixture
async def policy_bot(database_url: str) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(database_url, load_catalog(POLICY_CATALOG)) as harness:
        yield harness


def releases(policy_bot: BotHarness):
    return [
        m
        for m in policy_bot.slack.messages(CHANNEL)
        if m.bot_id and m.blocks and m.blocks[0].get("block_id") == "status_head"
    ]


def thread(message) -> list[str]:
    return [reply.text for reply in message.replies]


async def ship_to_staging(policy_bot: BotHarness) -> None:
    await policy_bot.command("U0ALICE", "/deploy checkout v2.0.0 to staging")
    await policy_bot.run_until(lambda: "live" in releases(policy_bot)[-1].text.lower(), limit_s=120)


async def ask_production(policy_bot: BotHarness, user: str = "U0ALICE", extra: str = "") -> None:
    await policy_bot.command(user, f"/deploy checkout to production {extra}".strip())
    await policy_bot.advance(3)


async def test_two_approvers_one_from_a_slack_group_and_a_double_click_counts_once(
    policy_bot: BotHarness,
):
    await ship_to_staging(policy_bot)
    await ask_production(policy_bot, user="U0BOB")
    status = releases(policy_bot)[-1]
    await policy_bot.click("U0BOB", status, "release_approve")
    assert any(
        "You requested release #2, so you cannot approve it yourself" in t
        for t in policy_bot.replies_to("U0BOB")
    )
    # carol (on-call) is not eligible until the request is escalated
    await policy_bot.click("U0CAROL", status, "release_approve")
    assert any("You may not approve release #2" in t for t in policy_bot.replies_to("U0CAROL"))

    await asyncio.gather(  # frank is an approver only through the group S0APPROVERS
        policy_bot.slack.click("U0FRANK", CHANNEL, status.ts, "release_approve"),
        policy_bot.slack.click("U0FRANK", CHANNEL, status.ts, "release_approve"),
    )
    await policy_bot.settle()
    assert policy_bot.web_api_calls("usergroups.users.list"), "the group was read from Slack"
    status = releases(policy_bot)[-1]
    assert "waiting for approval" in status.text
    assert "approved by <@U0FRANK> (1 of 2)" in str(status.blocks)
    assert len([t for t in thread(status) if "Approved by <@U0FRANK> (1 of 2)" in t]) == 1
    assert any("You already approved release #2" in t for t in policy_bot.replies_to("U0FRANK"))

    await policy_bot.click("U0DAVE", status, "release_approve")  # an admin is always eligible
    assert "rolling out" in releases(policy_bot)[-1].text


async def test_two_approvals_at_the_same_moment_count_once_each(policy_bot: BotHarness):
    await ship_to_staging(policy_bot)
    await ask_production(policy_bot)
    status = releases(policy_bot)[-1]
    await asyncio.gather(
        policy_bot.slack.click("U0BOB", CHANNEL, status.ts, "release_approve"),
        policy_bot.slack.click("U0FRANK", CHANNEL, status.ts, "release_approve"),
    )
    await policy_bot.settle()
    status = releases(policy_bot)[-1]
    approvals = [t for t in thread(status) if "Approved by" in t]
    assert len(approvals) == 2 and any("(2 of 2)" in t for t in approvals)
    assert "rolling out" in status.text
    rows = await export_rows(policy_bot.runtime.db)
    approved = [r for r in rows if r["action"] == "release.approved"]
    assert sorted(r["actor_id"] for r in approved) == ["U0BOB", "U0FRANK"]
    started = [
        r for r in rows if r["action"] == "stage.started" and r["environment"] == "production"
    ]
    assert started and set(started[0]["approvers"].split()) == {"U0BOB", "U0FRANK"}, (
        "each row after the approvals names the approvers"
    )


async def test_a_tampered_button_is_refused_and_nothing_changes(policy_bot: BotHarness):
    await ship_to_staging(policy_bot)
    await ask_production(policy_bot)
    status = releases(policy_bot)[-1]
    first = await policy_bot.slack.click("U0CAROL", CHANNEL, status.ts, "release_abort", value="1")
    await policy_bot.settle()
    assert any(
        "does not belong to release #1's message" in t for t in policy_bot.replies_to("U0CAROL")
    )
    payload = json.loads(parse_qs(first.request_body.decode())["payload"][0])
    payload["trigger_id"] = "tampered.1"
    payload["actions"][0].update(action_id="release_approve", value="2")
    await policy_bot.slack.send_signed(
        urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    )
    await policy_bot.settle()
    assert any("You may not approve release #2" in t for t in policy_bot.replies_to("U0CAROL"))
    assert "waiting for approval" in releases(policy_bot)[-1].text
    assert "approved by" not in str(releases(policy_bot)[-1].blocks)
