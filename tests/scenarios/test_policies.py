"""Release policy enforced in chat (issue 3), through signed Slack requests only: approvals
from people and Slack groups, expiry with reminders and escalation, freezes and break-glass,
environment order, locks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import pytest

from bot.app.catalog_file import load_catalog
from tests.support.audit import export_rows
from tests.support.catalogs import POLICY_CATALOG
from tests.support.harness import CHANNEL, BotHarness


@pytest.fixture
async def policy_bot(database_url: str) -> AsyncIterator[BotHarness]:
    harness = await BotHarness.start(database_url, load_catalog(POLICY_CATALOG))
    try:
        yield harness
    finally:
        await harness.stop()


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


async def test_staging_is_approved_by_green_ci_and_production_ships_what_staging_proved(
    policy_bot: BotHarness,
):
    await policy_bot.command("U0ALICE", "/deploy checkout to production")
    assert any(
        "Nothing has succeeded in staging yet, and production comes after it" in t
        and "/deploy checkout to staging" in t
        for t in policy_bot.replies_to("U0ALICE")
    )
    await policy_bot.command("U0ALICE", "/deploy checkout v2.0.0 to production")
    assert any(
        "v2.0.0 has not succeeded in staging yet" in t for t in policy_bot.replies_to("U0ALICE")
    )
    await ship_to_staging(policy_bot)
    assert any("Approved automatically: CI is green" in t for t in thread(releases(policy_bot)[0]))
    await ask_production(policy_bot)
    production = releases(policy_bot)[-1]
    assert "`v1.9.0` → `v2.0.0`" in str(production.blocks), "staging's proven version"
    assert "waiting for approval" in production.text


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


async def test_an_unanswered_request_escalates_reminds_and_lapses(policy_bot: BotHarness):
    await ship_to_staging(policy_bot)
    await ask_production(policy_bot)
    await policy_bot.advance(21 * 60, step=60)
    status = releases(policy_bot)[-1]
    assert any("<!subteam^S0ONCALL>, can one of you approve" in t for t in thread(status))
    assert "escalated to <!subteam^S0ONCALL>" in str(status.blocks)
    await policy_bot.click("U0CAROL", status, "release_approve")  # on-call may approve now
    assert "approved by <@U0CAROL> (1 of 2)" in str(releases(policy_bot)[-1].blocks)

    await policy_bot.advance(40 * 60, step=60)
    status = releases(policy_bot)[-1]
    texts = thread(status)
    reminders = [
        i for i, t in enumerate(texts) if "Reminder: release #2 still needs 1 approval" in t
    ]
    lapsed = [i for i, t in enumerate(texts) if "the request lapsed" in t]
    assert len(reminders) == 2 and lapsed and max(reminders) < lapsed[0]
    assert "rejected" in status.text.lower() and "approval expired" in str(status.blocks)
    await policy_bot.command("U0ALICE", "/deploy checkout to production")  # the lock is free again
    assert len(releases(policy_bot)) == 3


async def test_a_freeze_refuses_deploys_allows_rollbacks_and_records_break_glass(
    policy_bot: BotHarness,
):
    await ship_to_staging(policy_bot)
    await ask_production(policy_bot)
    status = releases(policy_bot)[-1]
    await policy_bot.click("U0BOB", status, "release_approve")
    await policy_bot.click("U0FRANK", status, "release_approve")
    await policy_bot.run_until(lambda: "live" in releases(policy_bot)[-1].text.lower(), limit_s=120)

    policy_bot.clock.set(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))  # the holidays freeze
    await policy_bot.command("U0ALICE", "/deploy checkout v2.0.0 to production")
    refusal = policy_bot.replies_to("U0ALICE")[-1]
    assert "is frozen: the holidays freeze until" in refusal
    assert "the shop's busiest days" in refusal and "Rollbacks are still allowed" in refusal
    assert "break-glass INC-123" in refusal

    await policy_bot.command("U0CAROL", "/rollback checkout production checkout errors")
    await policy_bot.run_until(lambda: "rolled back" in releases(policy_bot)[-1].text, limit_s=60)

    await policy_bot.command(
        "U0ALICE",
        "/deploy checkout v2.0.0 to production break-glass INC-42 payments fail without the fix",
    )
    assert any("locked by <@U0CAROL>" in t for t in policy_bot.replies_to("U0ALICE")), (
        "production locks on rollback: the break-glass waits for the lock"
    )
    await policy_bot.command("U0CAROL", "/release unlock checkout production")
    await policy_bot.command(
        "U0ALICE",
        "/deploy checkout v2.0.0 to production break-glass INC-42 payments fail without the fix",
    )
    await policy_bot.advance(3)
    glass = releases(policy_bot)[-1]
    assert ":rotating_light: *break-glass* INC-42" in str(glass.blocks)
    assert "payments fail without the fix" in str(glass.blocks)
    assert "approvals 0/3" in str(glass.blocks), "two approvals plus one for breaking glass"
    rows = await export_rows(policy_bot.runtime.db)
    deploys = [r for r in rows if r["action"] == "command.deploy"]
    assert [r["rule"] for r in deploys[-3:]] == [
        "freeze.window",
        "lock.environment",
        "freeze.break_glass",
    ]
    assert json.loads(deploys[-1]["details"])["break_glass"]["incident"] == "INC-42"


async def test_locks_and_stop_the_line_freezes_from_chat(policy_bot: BotHarness):
    await policy_bot.command("U0BOB", "/release lock checkout staging schema migration for 1h")
    notice = policy_bot.slack.messages(CHANNEL)[-1].text
    assert ":lock: <@U0BOB> locked *checkout* in *staging*" in notice
    await policy_bot.command("U0ALICE", "/deploy checkout to staging")
    assert any(
        "locked by <@U0BOB>" in t and "schema migration" in t
        for t in policy_bot.replies_to("U0ALICE")
    )
    await policy_bot.command("U0ALICE", "/release unlock checkout staging")
    assert any(
        "only <@U0BOB> or an admin may lift it" in t for t in policy_bot.replies_to("U0ALICE")
    )
    await policy_bot.command("U0DAVE", "/release unlock checkout staging")
    assert "(admin) broke <@U0BOB>'s lock" in policy_bot.slack.messages(CHANNEL)[-1].text

    await policy_bot.command("U0CAROL", "/release freeze all payments incident for 30m")
    assert (
        ":snowflake: *Freeze* on every environment" in policy_bot.slack.messages(CHANNEL)[-1].text
    )
    await policy_bot.command("U0ALICE", "/deploy checkout to staging")
    assert any("stop-the-line (every environment)" in t for t in policy_bot.replies_to("U0ALICE"))
    await policy_bot.command("U0ALICE", "/release unfreeze all")
    assert any("You may not unfreeze" in t for t in policy_bot.replies_to("U0ALICE"))
    await policy_bot.advance(31 * 60, step=60)  # it expires by itself
    await policy_bot.command("U0ALICE", "/deploy checkout to staging")
    assert "checkout → staging" in releases(policy_bot)[-1].text

    rows = await export_rows(policy_bot.runtime.db)
    rules = {(r["action"], r["outcome"], r["rule"]) for r in rows}
    assert ("command.unlock", "ok", "lock.break") in rules
    assert ("command.unlock", "refused", "lock.owner") in rules
    assert ("command.freeze", "ok", "rbac.freeze") in rules


async def test_whoami_who_can_and_where(policy_bot: BotHarness):
    await policy_bot.advance(1)  # one engine tick reads the Slack groups
    await policy_bot.command("U0FRANK", "/release whoami")
    await policy_bot.command("U0FRANK", "/release who-can approve checkout production")
    await policy_bot.command("U0FRANK", "/release where checkout")
    whoami, who_can, where = policy_bot.replies_to("U0FRANK")
    assert "*deployer* for every service in staging (directly)" in whoami
    assert "<@U0BOB>" in who_can and "<@U0FRANK>" in who_can and "<@U0DAVE>" in who_can
    assert "*staging*: you may deploy" in where
    assert "*production*: You may not deploy checkout in production" in where


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


async def test_an_author_of_the_change_may_not_approve_it(database_url):
    text = POLICY_CATALOG.read_text()
    text = text.replace(
        "      eligible: {roles: [approver], groups: [S0APPROVERS]}",
        "      eligible: {roles: [approver], groups: [S0APPROVERS]}\n"
        "      not_commit_authors: true",
    )
    text = text.replace(
        "      head_versions: {checkout: v2.0.0}",
        "      head_versions: {checkout: v2.0.0}\n      authors: {checkout: [bob-gh]}",
    )
    text += "identities:\n  U0BOB: [bob-gh, bob@acme.test]\n"
    from bot.app.catalog_file import parse_catalog

    policy_bot = await BotHarness.start(database_url, parse_catalog(text))
    try:
        await ship_to_staging(policy_bot)
        await ask_production(policy_bot)
        status = releases(policy_bot)[-1]
        await policy_bot.click("U0BOB", status, "release_approve")
        assert any(
            "You wrote commits in v2.0.0" in t and "did not" in t
            for t in policy_bot.replies_to("U0BOB")
        )
        await policy_bot.click("U0FRANK", status, "release_approve")
        await policy_bot.click("U0DAVE", status, "release_approve")
        assert "rolling out" in releases(policy_bot)[-1].text
        rows = await export_rows(policy_bot.runtime.db)
        assert any(r["rule"] == "approval.not_author" and r["actor_id"] == "U0BOB" for r in rows)
    finally:
        await policy_bot.stop()


async def test_a_freeze_or_lock_that_arrives_while_a_release_waits_stops_its_start(
    policy_bot: BotHarness,
):
    await policy_bot.command("U0ALICE", "/deploy checkout v2.0.0 to staging")  # CI pending 2 s
    await policy_bot.command("U0CAROL", "/release freeze staging incident INC-9 for 1h")
    await policy_bot.advance(3)  # CI green: staging is auto-approved, but it is frozen now
    staging = releases(policy_bot)[-1]
    assert "rejected" in staging.text.lower()
    assert any("did not start" in t and "frozen" in t for t in thread(staging))
    await policy_bot.command("U0CAROL", "/release unfreeze staging")
    await ship_to_staging(policy_bot)

    await ask_production(policy_bot)
    production = releases(policy_bot)[-1]
    await policy_bot.click("U0BOB", production, "release_approve")
    await policy_bot.command("U0CAROL", "/release lock checkout production investigating for 2h")
    await policy_bot.click("U0FRANK", production, "release_approve")
    production = releases(policy_bot)[-1]
    assert "rejected" in production.text.lower()
    assert any("did not start" in t and "locked by <@U0CAROL>" in t for t in thread(production))
    rows = await export_rows(policy_bot.runtime.db)
    refused = [r for r in rows if r["action"] == "release.start_refused"]
    assert [r["rule"] for r in refused] == ["freeze.window", "lock.environment"]


async def test_break_glass_needs_a_freeze_and_locks_can_be_extended_by_their_owner(
    policy_bot: BotHarness,
):
    await policy_bot.command(
        "U0ALICE", "/deploy checkout to staging break-glass INC-1 just because"
    )
    assert any("no glass to break" in t for t in policy_bot.replies_to("U0ALICE"))
    await policy_bot.command("U0BOB", "/release lock checkout staging migration for 1h")
    await policy_bot.command("U0BOB", "/release lock checkout staging migration, part two for 3h")
    notices = [m.text for m in policy_bot.slack.messages(CHANNEL) if ":lock:" in m.text]
    assert len(notices) == 2 and "part two" in notices[-1]
    await policy_bot.command("U0BOB", "/release lock checkout staging forever for 1 day")
    assert any("`for 1` needs a unit" in t for t in policy_bot.replies_to("U0BOB"))
