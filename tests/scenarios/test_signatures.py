"""Requests that are not from Slack get 401 and change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.storage.tables import AuditRow, InboxRow, OutboxRow, ReleaseRow
from tests.support.harness import BotHarness

FORM = "application/x-www-form-urlencoded"


def deploy_body() -> bytes:
    return urlencode(
        {
            "token": "x",
            "team_id": "T0RELEASE",
            "channel_id": "C0DEPLOYS",
            "user_id": "U0BOB",
            "user_name": "bob",
            "command": "/deploy",
            "text": "checkout to production",
            "trigger_id": "1.2.abc",
            "response_url": "http://127.0.0.1:9/nowhere",
        }
    ).encode()


async def rows_written(scenario_bot: BotHarness) -> int:
    total = 0
    async with scenario_bot.runtime.db.connect() as connection:
        for table in (ReleaseRow, AuditRow, OutboxRow, InboxRow):
            total += (
                await connection.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return total


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("wrong signature", {"signature": "v0=" + "0" * 64}),
        ("stale timestamp (6 minutes old)", {"timestamp_offset": -360}),
        ("timestamp from the future", {"timestamp_offset": 400}),
        ("no signature", {"signature": ""}),
    ],
)
async def test_unsigned_or_stale_requests_get_401_and_write_nothing(
    scenario_bot: BotHarness, case, kwargs
):
    now = int(scenario_bot.clock.now().timestamp())
    kwargs = dict(kwargs)
    offset = kwargs.pop("timestamp_offset", 0)
    result = await scenario_bot.slack.send_signed(
        deploy_body(), FORM, timestamp=now + offset, **kwargs
    )
    await scenario_bot.settle()
    assert result.status == 401, case
    assert await rows_written(scenario_bot) == 0
    assert scenario_bot.slack.calls_to("chat.postMessage") == []


async def test_a_body_changed_after_signing_is_refused(scenario_bot: BotHarness):
    signed = await scenario_bot.slack.send_signed(deploy_body(), FORM)
    await scenario_bot.settle()
    assert signed.status == 200
    before = await rows_written(scenario_bot)
    tampered = signed.request_body.replace(b"production", b"staging")
    result = await scenario_bot.slack.send_signed(
        tampered,
        FORM,
        signature=signed.request_headers["X-Slack-Signature"],
        timestamp=int(signed.request_headers["X-Slack-Request-Timestamp"]),
    )
    await scenario_bot.settle()
    assert result.status == 401
    assert await rows_written(scenario_bot) == before
