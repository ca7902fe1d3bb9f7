"""No 500 from any input (DESIGN invariant 11; issue 12): what hostile traffic to a real
`releasebot serve` found, each sent the same way to the bot on a loopback port, on SQLite
and PostgreSQL. A request Slack would never send gets a 4xx and writes nothing; an odd release
number a person typed or a button carried is answered privately and audited as a refusal."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml
from sqlalchemy import func, select

from bot.core.catalog import Catalog
from bot.core.commands import RELEASE_NUMBER_MAX
from bot.storage.tables import AuditRow, InboxRow, OutboxRow, ReleaseRow
from tests.support.audit import export_rows
from tests.support.catalogs import SCENARIO_CATALOG
from tests.support.harness import CHANNEL, BotHarness

FORM = "application/x-www-form-urlencoded"
GITHUB_SECRET = "whsec-hostile"


async def rows_written(scenario_bot: BotHarness) -> dict[str, int]:
    counts = {}
    async with scenario_bot.runtime.db.connect() as connection:
        for table in (ReleaseRow, AuditRow, OutboxRow, InboxRow):
            counts[table.__tablename__] = (
                await connection.execute(select(func.count()).select_from(table))
            ).scalar_one()
    return counts


def command_body(**fields: str) -> bytes:
    return urlencode(
        {
            "token": "x",
            "team_id": "T0RELEASE",
            "channel_id": CHANNEL,
            "user_id": "U0BOB",
            "user_name": "bob",
            "command": "/release",
            "text": "help",
            "trigger_id": "1.2.hostile",
            "response_url": "http://127.0.0.1:9/nowhere",
            **fields,
        }
    ).encode()


def interaction(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def reject_submission(private_metadata: str) -> dict:
    return {
        "type": "view_submission",
        "user": {"id": "U0BOB", "username": "bob"},
        "trigger_id": "1.2.view",
        "view": {
            "type": "modal",
            "callback_id": "release_reject",
            "private_metadata": private_metadata,
            "state": {"values": {"reason": {"reason": {"value": "the canary is not ready"}}}},
        },
    }


async def test_a_timestamp_in_unicode_digits_is_401_not_500(scenario_bot: BotHarness):
    """`²` passes str.isdigit() but not int(): it was a 500 with a traceback."""
    for timestamp in ("²", "١٧٦٧٠٠٠٠٠٠"):
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{scenario_bot.base_url}/slack/events",
                data=command_body(),
                headers={
                    "Content-Type": FORM,
                    "X-Slack-Request-Timestamp": timestamp,
                    "X-Slack-Signature": "v0=" + "0" * 64,
                },
            ) as response,
        ):
            assert response.status == 401, timestamp
            assert (await response.json())["error"] == "invalid signature"
    assert set((await rows_written(scenario_bot)).values()) == {0}


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("payload that is not JSON", b"payload=not-json"),
        ("payload that is a JSON list", b"payload=%5B%5D"),
        ("a JSON body that is a list", b"[1, 2]"),
        ("a body that is not UTF-8", b"command=%2Frelease&text=\xff\xfe"),
        (
            "a click with no actions",
            interaction({"type": "block_actions", "user": {"id": "U0BOB"}, "actions": []}),
        ),
        (
            "a click whose user is text",
            interaction({"type": "block_actions", "user": "U0BOB", "actions": [{}]}),
        ),
        ("a reject box with private_metadata not JSON", interaction(reject_submission("zz"))),
        (
            "a reject box whose private_metadata names release 10**20",
            interaction(reject_submission(json.dumps({"release_id": 10**20, "channel": ""}))),
        ),
        ("an event this bot does not take", interaction({"type": "event_callback", "event": 1})),
    ],
)
async def test_a_signed_body_that_is_no_slack_request_is_4xx_and_writes_nothing(
    scenario_bot: BotHarness, case: str, body: bytes
):
    result = await scenario_bot.slack.send_signed(body, FORM)
    await scenario_bot.settle()
    assert 400 <= result.status < 500, (case, result.status, result.body_text)
    assert isinstance(result.json, dict) and result.json.get("error"), case
    assert set((await rows_written(scenario_bot)).values()) == {0}, case


@pytest.mark.parametrize(
    "line",
    [
        "/release status #99999999999999999999",
        "/release approve #9999999999",
        f"/release status #{RELEASE_NUMBER_MAX + 1}",
        "/release status #-3",
        "/release status ٣",  # an Arabic-Indic three was read as release 3
        "/release pause #0",
    ],
)
async def test_a_release_number_out_of_range_is_answered_and_audited(
    scenario_bot: BotHarness, line: str
):
    result = await scenario_bot.command("U0BOB", line)
    assert result.status == 200
    [answer] = scenario_bot.replies_to("U0BOB")
    assert "is not a release number" in answer and "something went wrong" not in answer.lower()
    assert "/release" in answer  # an example of what works
    [row] = [r for r in await export_rows(scenario_bot.runtime.db) if r["actor_id"] == "U0BOB"]
    assert (row["action"], row["outcome"], row["rule"]) == ("command.release", "invalid", "usage")
    assert "is not a release number" in row["reason"]
    assert (await rows_written(scenario_bot))["releases"] == 0


@pytest.mark.parametrize("value", ["99999999999", "9999999999:1", "٣", "-3"])
async def test_a_button_naming_no_release_number_is_refused_and_audited(
    scenario_bot: BotHarness, value: str
):
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.advance(3)
    message = scenario_bot.status_message()
    result = await scenario_bot.click("U0ALICE", message, "release_pause", value=value)
    assert result.status == 200
    [answer] = [
        a for a in scenario_bot.replies_to("U0ALICE") if "That button names no release" in a
    ]
    assert "something went wrong" not in answer.lower()
    assert "#3" not in answer  # `٣` names no release, not release 3
    refused = [
        r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "click.pause"
    ]
    assert [(r["outcome"], r["rule"]) for r in refused] == [("refused", "release.not_found")]


async def test_a_release_page_past_the_integer_range_is_404(scenario_bot: BotHarness):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        signin = f"{scenario_bot.base_url}/signin"
        async with session.post(signin, data={"user": "U0ALICE"}) as signed:
            assert signed.status == 200
        for path in ("/releases/99999999999", "/releases/99999999999999999999999", "/releases/0",
                     "/releases/٣"):  # fmt: skip
            async with session.get(f"{scenario_bot.base_url}{path}") as response:
                assert response.status == 404, path
                assert "Traceback" not in await response.text()


async def test_a_nul_byte_in_a_command_is_cleaned_answered_and_audited(scenario_bot: BotHarness):
    """PostgreSQL refuses NUL in text: the inbox write failed and nothing was audited."""
    result = await scenario_bot.command("U0BOB", "/release bo\x00gus \x1b[31mred")
    assert result.status == 200
    [answer] = scenario_bot.replies_to("U0BOB")
    assert "is not a release command" in answer and "\x00" not in answer
    [row] = [r for r in await export_rows(scenario_bot.runtime.db) if r["actor_id"] == "U0BOB"]
    assert (row["action"], row["outcome"]) == ("command.release", "invalid")
    assert "\x00" not in row["reason"] and "\x1b" not in row["reason"]


@pytest.mark.parametrize(
    "fields",
    [
        {"user_id": "U" + "A" * 40},
        {"channel_id": "C" + "0" * 40},
        {"user_id": "u0bob"},
        {"user_id": "U0B\x00OB"},
        {"user_id": ""},
        {"channel_id": "#deploys"},
        {"trigger_id": "t" * 500},
        {"response_url": "javascript:alert(1)"},
    ],
)
async def test_an_identifier_that_is_not_slack_shaped_is_400_and_writes_nothing(
    scenario_bot: BotHarness, fields: dict[str, str]
):
    result = await scenario_bot.slack.send_signed(
        command_body(text="status checkout", **fields), FORM
    )
    await scenario_bot.settle()
    assert result.status == 400, (fields, result.body_text)
    assert "error" in result.json
    assert set((await rows_written(scenario_bot)).values()) == {0}


@pytest.fixture
async def github_bot(database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELEASEBOT_TEST_GITHUB_WEBHOOK_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("RELEASEBOT_TEST_GITHUB_TOKEN", "ghp-unused")
    document = yaml.safe_load(SCENARIO_CATALOG.read_text())
    document["backends"]["github"] = {
        "type": "github",
        "settings": {
            "api_url": "http://127.0.0.1:9",
            "token_env": "RELEASEBOT_TEST_GITHUB_TOKEN",
            "webhook_secret_env": "RELEASEBOT_TEST_GITHUB_WEBHOOK_SECRET",
        },
    }
    harness = await BotHarness.start(database_url, Catalog.model_validate(document))
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_signed_github_webhook_without_its_repository_is_400(github_bot: BotHarness):
    for body in (b"{}", b'{"repository": {}}', b'{"repository": "acme/checkout"}', b"[]"):
        signature = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{github_bot.base_url}/integrations/github/events",
                data=body,
                headers={
                    "X-GitHub-Event": "check_suite",
                    "X-Hub-Signature-256": f"sha256={signature}",
                    "Content-Type": "application/json",
                },
            ) as response,
        ):
            assert response.status == 400, body
            assert "repository" in (await response.json())["error"]
    assert set((await rows_written(github_bot)).values()) == {0}
