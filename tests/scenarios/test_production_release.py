"""The release path of issue 2, driven only through signed Slack requests to the running app:
deploy to production -> approval request -> self-approval refused -> approved -> canary stages
-> Rollback by on-call -> rolled back; audit export shows every step; tampering is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support.audit import export_rows, tamper, verify
from tests.support.harness import BotHarness


def button_ids(message) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def assert_every_web_api_call_ok(scenario_bot: BotHarness) -> None:
    bad = [
        (c.method, c.response) for c in scenario_bot.slack.calls if not c.response.get("ok", False)
    ]
    assert not bad, f"Web API calls the stand-in (Slack's spec) refused: {bad}"


async def test_deploy_approve_canary_rollback(scenario_bot: BotHarness) -> None:
    ack = await scenario_bot.command("U0BOB", "/deploy checkout canary 10% to production")
    assert ack.status == 200

    status = scenario_bot.status_message()
    assert "checkout → production" in status.text
    assert "waiting for ci" in status.text.lower()
    assert button_ids(status) == ["release_abort"]

    await scenario_bot.advance(3)  # the simulated CI turns green after 2 s
    status = scenario_bot.status_message()
    assert "waiting for approval" in status.text
    assert button_ids(status)[:2] == ["release_approve", "release_reject"]
    assert any("Waiting for 1 approval" in reply.text for reply in status.replies)

    await scenario_bot.click("U0BOB", status, "release_approve")
    assert any(
        "You requested release #1, so you cannot approve it yourself" in text
        for text in scenario_bot.replies_to("U0BOB")
    )
    await scenario_bot.click("U0ALICE", status, "release_approve")
    assert any(
        "You may not approve release #1: the approver role may" in text
        for text in scenario_bot.replies_to("U0ALICE")
    )
    assert "waiting for approval" in scenario_bot.status_message().text

    await scenario_bot.click("U0FRANK", status, "release_approve")
    status = scenario_bot.status_message()
    assert "rolling out" in status.text
    assert "release_approve" not in button_ids(status)
    people = status.blocks[-1]
    assert people["type"] == "context", status.blocks
    assert "approved by <@U0FRANK>" in people["elements"][0]["text"]

    await scenario_bot.advance(3)  # 10% step done; analysis bakes 20 s with checks every 10 s
    await scenario_bot.advance(21)
    await scenario_bot.advance(3)  # 50% step
    status = scenario_bot.status_message()
    progress = next(b for b in status.blocks if b.get("block_id") == "status_progress")
    assert ":white_check_mark: 10%" in progress["elements"][0]["text"]
    replies = [reply.text for reply in status.replies]
    assert any("10% of traffic on v1.4.3" in r for r in replies)
    assert any("Analysis passed" in r and "error_rate" in r for r in replies)

    rollback = next(
        e
        for b in status.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "release_rollback"
    )
    assert "from v1.4.3 to v1.4.2" in rollback["confirm"]["text"]["text"]
    await scenario_bot.click("U0CAROL", status, "release_rollback")
    assert "rolling back" in scenario_bot.status_message().text
    await scenario_bot.run_until(
        lambda: "rolled back" in scenario_bot.status_message().text, limit_s=30
    )
    status = scenario_bot.status_message()
    assert "rolled back" in status.text
    assert button_ids(status) == []
    assert "rolled back by <@U0CAROL>" in str(status.blocks)
    assert any("is on v1.4.2 again" in reply.text for reply in status.replies)

    assert_every_web_api_call_ok(scenario_bot)
    assert len(scenario_bot.web_api_calls("chat.postMessage")) == 1 + len(status.replies)
    assert all(call.args["ts"] == status.ts for call in scenario_bot.web_api_calls("chat.update"))

    rows = await export_rows(scenario_bot.runtime.db)
    actions = [(row["actor_id"], row["action"], row["outcome"]) for row in rows]
    for expected in [
        ("U0BOB", "command.deploy", "ok"),
        ("releasebot", "release.ci_passed", "ok"),
        ("releasebot", "release.approval_requested", "ok"),
        ("U0BOB", "click.approve", "refused"),
        ("U0ALICE", "click.approve", "refused"),
        ("U0FRANK", "click.approve", "ok"),
        ("U0FRANK", "release.approved", "ok"),
        ("releasebot", "stage.succeeded", "ok"),
        ("releasebot", "analysis.passed", "ok"),
        ("U0CAROL", "click.rollback", "ok"),
        ("U0CAROL", "release.rollback_requested", "ok"),
        ("releasebot", "release.rolled_back", "ok"),
    ]:
        assert expected in actions, f"{expected} missing from the audit export"
    self_approval = next(
        r for r in rows if r["actor_id"] == "U0BOB" and r["action"] == "click.approve"
    )
    assert self_approval["rule"] == "approval.not_requester"
    assert all(row["service"] == "checkout" for row in rows if row["release_id"])

    report = await verify(scenario_bot.runtime.db)
    assert report.ok and report.count == len(rows)

    edited = int(rows[len(rows) // 2]["seq"])
    await tamper(
        scenario_bot.runtime.db,
        "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = :seq",
        seq=edited,
    )
    report = await verify(scenario_bot.runtime.db)
    assert not report.ok
    assert report.broken.seq == edited and "edited" in report.broken.why


async def test_the_database_refuses_to_edit_or_delete_audit_rows(scenario_bot: BotHarness) -> None:
    await scenario_bot.command("U0ALICE", "/release help")
    for statement in ("UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with scenario_bot.runtime.db.begin() as connection:
                await connection.execute(text(statement))
    assert (await verify(scenario_bot.runtime.db)).ok
