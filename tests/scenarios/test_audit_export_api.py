"""The audit export over HTTP, as a script uses it: a token made with `releasebot api-token
create`, `GET /api/v1/audit/export` with it, a zip holding the export and its signed manifest,
which `releasebot audit verify` accepts. Tokens that are missing, wrong, revoked or expired
get 401; a token acting as someone who is not an auditor gets 403, audited; bad filters get 400
in words."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.services.api_tokens import ApiTokens
from bot.storage.database import session_factory
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import export_rows
from tests.support.harness import BotHarness

KEY = "api-audit-key-0123456789abcdef"
ROUTE = "/api/v1/audit/export"


async def cli(database_url: str, *args: str):
    """The command as a person runs it (in a thread: it runs its own event loop)."""
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        list(args),
        env={"DATABASE_URL": database_url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result


async def new_token(database_url: str, user: str, name: str = "nightly export") -> str:
    made = await cli(database_url, "api-token", "create", "--user", user, "--name", name)
    return made.stdout.strip().splitlines()[0]


async def fetch(
    scenario_bot: BotHarness, token: str | None, query: str = ""
) -> tuple[int, bytes, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{scenario_bot.base_url}{ROUTE}{query}", headers=headers) as answer,
    ):
        return answer.status, await answer.read(), dict(answer.headers)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_a_script_fetches_a_signed_export_that_verifies(
    scenario_bot: BotHarness, database_url, monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("RELEASEBOT_AUDIT_HMAC_KEY", KEY)
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.advance(3)
    token = await new_token(database_url, "U0ERIN")

    status, body, headers = await fetch(scenario_bot, token, "?since=30d&environment=staging")
    assert status == 200, body
    assert headers["Content-Type"] == "application/zip" and headers["X-Releasebot-Signed"] == "yes"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        [export_name] = [n for n in archive.namelist() if n.endswith(".csv")]
        assert sorted(archive.namelist()) == [export_name, f"{export_name}.manifest.json"]
        archive.extractall(tmp_path)
    rows = list(csv.DictReader(io.StringIO((tmp_path / export_name).read_text())))
    assert rows and {r["environment"] for r in rows} == {"staging"}
    assert any(r["action"] == "command.deploy" and r["actor_id"] == "U0ALICE" for r in rows)
    assert headers["X-Releasebot-Events"] == str(len(rows))

    verified = await cli(database_url, "audit", "verify", "--manifest",
                   str(tmp_path / f"{export_name}.manifest.json"))  # fmt: skip
    assert "manifest" in verified.output.lower() and "ok" in verified.output.lower()

    audited = [r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "api.export"]
    assert [(r["action"], r["actor_id"], r["outcome"]) for r in audited] == [
        ("api.export", "U0ERIN", "ok")
    ]
    made = [
        r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "api_token.created"
    ]
    assert made and made[0]["actor_id"].startswith("cli")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_tokens_that_are_missing_wrong_revoked_or_expired_get_401(scenario_bot, database_url):
    token = await new_token(database_url, "U0ERIN")
    for presented in (None, "rbt_not-a-token", token[:-2] + "xx", "Basic abc"):
        status, body, headers = await fetch(scenario_bot, presented)
        assert status == 401, presented
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert "api-token create" in json.loads(body)["message"]

    assert (await fetch(scenario_bot, token))[0] == 200
    await cli(database_url, "api-token", "revoke", "1")
    assert (await fetch(scenario_bot, token))[0] == 401
    listed = (await cli(database_url, "api-token", "list")).stdout
    assert "revoked" in listed and "nightly export" in listed
    assert "2026-11-23 09:00 UTC" in listed, "the last use is noted (on the bot's clock)"

    clock = scenario_bot.clock
    tokens = ApiTokens(
        lambda: SqlUnitOfWork(session_factory(scenario_bot.runtime.db), clock), clock
    )
    _, short_lived = await tokens.create(
        "one hour", "U0ERIN", by="test", lifetime=timedelta(hours=1)
    )
    assert (await fetch(scenario_bot, short_lived))[0] == 200
    clock.advance(3601)
    assert (await fetch(scenario_bot, short_lived))[0] == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_token_acting_as_an_engineer_is_refused_and_the_refusal_audited(
    scenario_bot, database_url
):
    token = await new_token(database_url, "U0ALICE", "alice's laptop")
    status, body, _ = await fetch(scenario_bot, token)
    assert status == 403
    assert json.loads(body) == {
        "error": "forbidden",
        "message": "Only auditors and admins may export the audit trail. (U0ALICE)",
    }
    refused = [r for r in await export_rows(scenario_bot.runtime.db) if r["action"] == "api.export"]
    assert [(r["actor_id"], r["outcome"], r["rule"]) for r in refused] == [
        ("U0ALICE", "refused", "rbac.export")
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?format=xml", "format must be csv or jsonl, not 'xml'"),
        ("?servce=checkout", "Unknown parameter servce"),
        ("?since=last+tuesday", "use a date like 2026-11-01"),
        ("?since=2026-11-20&until=2026-11-01", "since must be before until"),
        ("?since=99999999d", "further than the calendar goes"),
        ("?since=0001-01-01T00:00:00%2B14:00", "since/until"),
    ],
)
async def test_bad_filters_are_explained(scenario_bot, database_url, query, words):
    token = await new_token(database_url, "U0ERIN")
    status, body, _ = await fetch(scenario_bot, token, query)
    assert status == 400
    assert words in json.loads(body)["message"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_jsonl_with_actor_and_action_filters(scenario_bot, database_url, tmp_path):
    await scenario_bot.command("U0ALICE", "/deploy checkout to staging")
    await scenario_bot.command("U0BOB", "/release list")
    token = await new_token(database_url, "U0DAVE")  # an admin in the example catalog
    status, body, _ = await fetch(
        scenario_bot, token, "?format=jsonl&actor=U0ALICE&action=command.*"
    )
    assert status == 200, body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".jsonl")]
        rows = [json.loads(line) for line in archive.read(name).decode().splitlines()]
    assert rows and {(r["actor_id"], r["action"]) for r in rows} == {("U0ALICE", "command.deploy")}
