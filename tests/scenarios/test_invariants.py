"""DESIGN.md invariants that cut across the whole bot: the ack never waits for the work, no
stack trace reaches a user, and secrets never reach the logs."""

from __future__ import annotations

import logging

from sqlalchemy import text

from bot.core.clock import ManualClock
from tests.support.harness import CHANNEL, BotHarness
from tests.support.http_mode import http_mode_bot


async def test_slack_gets_its_ack_once_the_request_is_written_down_and_before_the_work(
    scenario_bot: BotHarness,
):
    result = await scenario_bot.slack.slash_command(
        "U0ALICE", CHANNEL, "/deploy", "checkout to staging"
    )
    assert result.status == 200 and result.body_text == ""
    async with scenario_bot.runtime.db.connect() as connection:
        waiting = (
            await connection.execute(
                text("SELECT count(*) FROM inbox WHERE done_at IS NULL AND key LIKE 'command:%'")
            )
        ).scalar_one()
        releases = (await connection.execute(text("SELECT count(*) FROM releases"))).scalar_one()
    assert (waiting, releases) == (1, 0), "acked: written down, not yet worked on"
    await scenario_bot.settle()
    assert "checkout → staging" in scenario_bot.status_message().text


async def test_an_unexpected_error_reaches_the_user_as_a_sentence_not_a_traceback(
    scenario_bot: BotHarness, monkeypatch
):
    commands = scenario_bot.runtime.router

    async def broken(*args, **kwargs):
        raise RuntimeError("psycopg.OperationalError: connection to 10.0.0.7 refused (secret)")

    monkeypatch.setattr(commands, "handle", broken)
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    (reply,) = scenario_bot.replies_to("U0ALICE")
    assert "Something went wrong on releasebot's side and nothing was changed" in reply
    assert "Traceback" not in reply and "10.0.0.7" not in reply and "RuntimeError" not in reply


async def test_tokens_and_signing_secrets_never_reach_the_logs(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    token, secret = "xoxb-1111-2222-TOPSECRETTOKEN", "TOPSECRETSIGNING"
    clock = ManualClock()
    async with http_mode_bot(tmp_path, token=token, signing_secret=secret, clock=clock) as (
        runtime,
        slack,
    ):
        await slack.slash_command("U0ALICE", "C0DEPLOYS", "/deploy", "checkout to staging")
        await slack.send_signed(
            b"command=%2Fdeploy", "application/x-www-form-urlencoded", signature="v0=forged"
        )
        await runtime.settle()
        clock.advance(3)
        await runtime.settle()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "'Authorization': '(redacted)'" in logged, "Web API calls were logged at DEBUG"
    assert "TOPSECRET" not in logged
