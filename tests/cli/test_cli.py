"""The `releasebot` command as an operator or auditor uses it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import tamper

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env or {}, catch_exceptions=False)


def test_config_check_accepts_the_example_catalog():
    result = run("config", "check", str(REPO / "bot" / "app" / "releasebot.example.yaml"))
    assert result.exit_code == 0
    assert "ok — 4 services, 2 environments" in result.output


def test_config_check_names_the_line_and_field_of_each_problem(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "environments:\n"
        "  production: {approvals: 1}\n"
        "services:\n"
        "  checkout:\n"
        "    repository: acme/checkout\n"
        "    environments: [production]\n"
        "    canary: {steps: [50, 10]}\n"
        "    colour: blue\n"
    )
    result = run("config", "check", str(catalog))
    assert result.exit_code == 1
    assert (
        f"{catalog}:7: services.checkout.canary.steps: steps must be strictly ascending"
        in result.output
    )
    assert f"{catalog}:8: services.checkout.colour: unknown field" in result.output


def test_config_check_refuses_secrets_in_the_catalog(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "environments: {staging: {}}\n"
        "services: {web: {repository: a/web, environments: [staging]}}\n"
        "backends:\n"
        "  gh:\n"
        "    type: simulated\n"
        "    settings: {token: ghp_abc}\n"
    )
    result = run("config", "check", str(catalog))
    assert result.exit_code == 1
    assert ":6: backends.gh.settings: 'token' looks like a secret" in result.output
    assert "ghp_abc" not in result.output


def test_config_check_on_a_missing_file():
    result = run("config", "check", "/nonexistent/catalog.yaml")
    assert result.exit_code == 1 and "file not found" in result.output


def test_migrate_reports_what_it_applied(database_url):
    first = run("migrate", "--database-url", database_url)
    assert first.exit_code == 0 and "applied: 0001, 0002, 0003, 0004, 0005, 0006" in first.output
    again = run("migrate", "--database-url", database_url)
    assert "schema is up to date" in again.output


def test_audit_export_csv_with_filters(audited_database):
    result = run(
        "audit",
        "export",
        "--format",
        "csv",
        "--service",
        "checkout",
        "--database-url",
        audited_database,
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["action"] for r in rows] == ["test.0", "test.2"]
    assert rows[0]["reason"] == 'a, "quoted" reason'
    assert json.loads(rows[0]["details"]) == {"n": 0}
    assert list(rows[0]) == [
        "seq",
        "event_id",
        "at",
        "actor_id",
        "actor_name",
        "action",
        "outcome",
        "service",
        "environment",
        "release_id",
        "version_from",
        "version_to",
        "rule",
        "reason",
        "approvers",
        "details",
        "prev_hash",
        "hash",
    ]


def test_audit_export_jsonl_to_a_file_with_a_time_range(audited_database, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = run(
        "audit",
        "export",
        "--format",
        "jsonl",
        "--since",
        "2026-11-23T09:30:00",
        "--until",
        "2026-11-23T11:30:00Z",
        "-o",
        str(out),
        "--database-url",
        audited_database,
    )
    assert result.exit_code == 0 and "exported 2 events" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["test.1", "test.2"]


def test_audit_export_refuses_a_bad_format_and_a_bad_date(audited_database):
    assert (
        run("audit", "export", "--format", "xml", "--database-url", audited_database).exit_code == 2
    )
    bad = run("audit", "export", "--since", "last tuesday", "--database-url", audited_database)
    assert bad.exit_code == 2 and "use a date like 2026-11-01" in bad.output


def test_audit_verify_passes_then_names_the_first_broken_record(audited_database):
    ok = run("audit", "verify", "--database-url", audited_database)
    assert ok.exit_code == 0 and "audit chain ok: 3 records" in ok.output

    async def edit():
        engine = create_engine(audited_database)
        await tamper(engine, "UPDATE audit_events SET actor_id = 'U0MALLORY' WHERE seq = 2")
        await engine.dispose()

    asyncio.run(edit())
    broken = run("audit", "verify", "--database-url", audited_database)
    assert broken.exit_code == 1
    assert "BROKEN at sequence 2: content does not match its hash: edited" in broken.output


@pytest.mark.parametrize(
    ("statement", "seq", "why"),
    [
        ("DELETE FROM audit_events WHERE seq = 2", 2, "missing record(s) 2..2"),
        ("DELETE FROM audit_events WHERE seq = 3", 3, "records were removed from the end"),
        (
            "UPDATE audit_events SET seq = 100 WHERE seq = 1;"
            "UPDATE audit_events SET seq = 1 WHERE seq = 2;"
            "UPDATE audit_events SET seq = 2 WHERE seq = 100",
            1,
            "prev_hash does not match",
        ),
    ],
)
def test_audit_verify_detects_removed_and_reordered_records(audited_database, statement, seq, why):
    async def edit():
        engine = create_engine(audited_database)
        await tamper(engine, statement)
        await engine.dispose()

    asyncio.run(edit())
    broken = run("audit", "verify", "--database-url", audited_database)
    assert broken.exit_code == 1
    assert f"BROKEN at sequence {seq}" in broken.output and why in broken.output


def test_serve_refuses_a_bad_catalog(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("environments: {}\n")
    result = run(
        "serve", "--catalog", str(catalog), env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    )
    assert result.exit_code == 1 and "services: Field required" in result.output


def test_half_configured_slack_settings_are_explained():
    result = run("serve", env={"SLACK_BOT_TOKEN": "xoxb-secret-value"})
    assert result.exit_code == 2
    assert "neither SLACK_SIGNING_SECRET" in result.output
    assert "xoxb-secret-value" not in result.output


def test_csv_cells_that_look_like_formulas_are_defused(database_url):
    async def seed():
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        async with SqlUnitOfWork(session_factory(engine), ManualClock()) as work:
            await work.audit.append(
                AuditEvent(
                    at=ManualClock().now(),
                    actor_id="U0BOB",
                    action="command.rollback",
                    reason='=HYPERLINK("http://evil","click")',
                    details={"v": float("nan")},
                )
            )
            await work.commit()
        await engine.dispose()

    asyncio.run(seed())
    csv_out = run("audit", "export", "--database-url", database_url).stdout
    assert list(csv.DictReader(io.StringIO(csv_out)))[0]["reason"].startswith("'=HYPERLINK")
    jsonl = run("audit", "export", "--format", "jsonl", "--database-url", database_url).stdout
    row = json.loads(jsonl.splitlines()[0])
    assert row["reason"].startswith("=HYPERLINK") and row["details"] == {"v": "NaN"}
    assert run("audit", "verify", "--database-url", database_url).exit_code == 0


GITHUB_CATALOG = (
    "environments: {staging: {}}\n"
    "services: {web: {repository: a/web, environments: [staging], backends: {ci: gh}}}\n"
    "backends:\n"
    "  simulated: {type: simulated}\n"
    "  gh: {type: github, settings: {token_env: RB_TEST_GH_TOKEN, api_url: 'http://127.0.0.1:%d'}}\n"
)


def test_config_check_builds_every_backend_and_names_what_cannot_work(tmp_path, monkeypatch):
    from tests.support.network import free_port

    monkeypatch.delenv("RB_TEST_GH_TOKEN", raising=False)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(GITHUB_CATALOG % free_port())
    result = run("config", "check", str(catalog))
    assert result.exit_code == 1
    assert "backends.gh: token_env names RB_TEST_GH_TOKEN, which is not set" in result.output

    catalog.write_text(GITHUB_CATALOG.replace("api_url", "api_ur") % free_port())
    monkeypatch.setenv("RB_TEST_GH_TOKEN", "ghp_secret_value")
    result = run("config", "check", str(catalog))
    assert result.exit_code == 1
    assert "backends.gh: unknown github setting(s): api_ur; known: api_url" in result.output


@pytest.mark.slow
def test_config_check_probe_says_which_backend_does_not_answer(tmp_path, monkeypatch):
    from tests.support.network import free_port

    port = free_port()
    monkeypatch.setenv("RB_TEST_GH_TOKEN", "ghp_secret_value")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(GITHUB_CATALOG % port)
    result = run("config", "check", str(catalog), "--probe")
    assert result.exit_code == 1
    assert "backend simulated (simulated): answers" in result.output
    assert (
        f"backend gh (github): github: GET /rate_limit failed: cannot connect to 127.0.0.1:{port}"
        in result.output
    )
    assert "ghp_secret_value" not in result.output


def test_audit_export_filters_by_actor_and_action(audited_database):
    def actions(*args: str) -> list[str]:
        result = run("audit", "export", *args, "--database-url", audited_database)
        assert result.exit_code == 0, result.output
        return [r["action"] for r in csv.DictReader(io.StringIO(result.stdout))]

    assert actions("--actor", "U0BOB") == ["test.0", "test.1", "test.2"]
    assert actions("--actor", "U0NOBODY") == []
    assert actions("--action", "test.1") == ["test.1"]
    assert actions("--action", "test.*") == ["test.0", "test.1", "test.2"]
    assert actions("--action", "test") == [], "without * or . an action matches exactly"
