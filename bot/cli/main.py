"""The `releasebot` command: serve, migrate, config check, audit export / verify."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.api_tokens import api_token_app
from bot.cli.bench import bench_app
from bot.cli.chaos import chaos
from bot.cli.common import DatabaseOption, fail, settings
from bot.cli.standin import standin_app
from bot.core.wording import plural

# Heavy modules (the catalog's pydantic models, SQLAlchemy, slack_bolt, aiohttp) are imported
# inside the commands that use them, so `releasebot --help` starts fast;
# tests/cli/test_cold_start.py keeps them out.

app = typer.Typer(
    name="releasebot",
    help="A chat-first release coordinator for Slack.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Check the catalog (services, environments, roles, backends).")
audit_app = typer.Typer(help="Export and verify the tamper-evident audit trail.")
app.add_typer(config_app, name="config")
app.add_typer(audit_app, name="audit")
app.add_typer(api_token_app, name="api-token")
app.add_typer(standin_app, name="slack-standin")
app.add_typer(bench_app, name="bench")
app.command()(chaos)

_fail = fail
_settings = settings


@app.command()
def serve(
    catalog: Annotated[
        Path | None,
        typer.Option(help="Catalog YAML (default: the example).", envvar="RELEASEBOT_CATALOG"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 3000).")] = None,
    database_url: DatabaseOption = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="all (default), web (answers Slack, writes requests down) or engine (works "
            "them); web and engine as separate processes need PostgreSQL.",
            envvar="RELEASEBOT_ROLE",
        ),
    ] = None,
) -> None:
    """Run the bot: Slack endpoint, engine and, without Slack tokens, the local Slack console."""
    from dataclasses import replace

    from bot.app.runtime import build_runtime
    from bot.app.runtime import serve as run_server
    from bot.app.settings import SettingsError, check_role
    from bot.services.audit_watch import AuditUnprotected

    settings = _settings()
    overrides = {
        key: value
        for key, value in {
            "catalog_path": catalog,
            "host": host,
            "port": port,
            "database_url": database_url,
            "role": role.strip().lower() if role else None,
        }.items()
        if value is not None
    }
    settings = replace(settings, **overrides)
    try:
        check_role(settings)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick otherwise
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    loaded = _read_catalog(settings.catalog_path)  # read once: the runtime gets this one
    _refuse_broken_policies(loaded)
    _build_backends(loaded.catalog, settings.catalog_path)  # refuse settings that cannot work

    async def main() -> None:
        runtime = await build_runtime(settings, catalog=loaded.catalog)
        await run_server(runtime)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # before the signal handlers were installed
        pass
    except AuditUnprotected as exc:
        raise _fail(str(exc), code=1) from None
    except OSError as exc:
        raise _fail(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}. "
            "Pick another port with --port or PORT."
        ) from None
    typer.echo("stopped")


@app.command()
def migrate(database_url: DatabaseOption = None) -> None:
    """Bring the database schema up to date (Alembic migrations), and recreate the audit
    trail's append-only triggers if someone dropped, disabled or changed them."""
    from bot.storage import migrate as migrations
    from bot.storage.audit_integrity import restore_triggers
    from bot.storage.database import create_engine

    url = database_url or _settings().database_url

    async def main() -> tuple[list[str], list[str]]:
        engine = create_engine(url)
        try:
            before = await migrations.pending(engine)
            await migrations.upgrade(engine)
            return before, await restore_triggers(engine)
        finally:
            await engine.dispose()

    applied, restored = asyncio.run(main())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")
    if restored:
        typer.echo(
            f"recreated the audit trail's append-only trigger {', '.join(restored)}: it was "
            "missing, disabled or changed. Run `releasebot audit verify` to see whether the trail was "
            "edited meanwhile."
        )


@app.command("bench-start")
def bench_start(
    runs: Annotated[int, typer.Option(help="Processes started per figure (the median).")] = 5,
    services: Annotated[int, typer.Option(help="Services in the checked catalog.")] = 1000,
    releasebot: Annotated[
        str | None,
        typer.Option(help="Another installation's releasebot script, to compare (e.g. main's)."),
    ] = None,
) -> None:
    """Start-up times: `releasebot --help`, `config check` of a large catalog and `serve`
    until /healthz answers, beside `python -c pass` and a bare Slack app (a benchmark)."""
    from bot.benchmarks.start import run_start_bench

    if runs < 1 or services < 1:
        raise _fail("--runs and --services must be at least 1")
    try:
        result = run_start_bench(runs, services, releasebot)
    except RuntimeError as exc:
        raise _fail(str(exc), code=1) from None
    typer.echo(result.report())


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The catalog YAML to check.")],
    probe: Annotated[
        bool, typer.Option("--probe", help="Also ask every backend whether it answers.")
    ] = False,
) -> None:
    """Validate a catalog: every problem is printed with its field and line, including
    policies that cannot work (more approvals than approvers) and backend settings that
    cannot work (an unknown setting, a secret variable that is not set). With SLACK_BOT_TOKEN
    set, the members of Slack user groups are read and counted too."""
    from bot.core.catalog_lint import policy_problems

    loaded = _read_catalog(file)
    catalog = loaded.catalog
    registry = _build_backends(catalog, file)
    if probe:
        _probe_backends(registry)
    problems = policy_problems(catalog, asyncio.run(_group_members(catalog)))
    for problem in problems:
        where = ".".join(str(part) for part in problem.path)
        typer.secho(
            f"{file}:{loaded.line_of(problem.path) or '?'}: {where}: {problem.severity}: "
            f"{problem.message}",
            fg=typer.colors.RED if problem.severity == "error" else typer.colors.YELLOW,
            err=True,
        )
    if any(problem.severity == "error" for problem in problems):
        raise typer.Exit(1)
    grants = sum(len(u) for u in catalog.roles.values()) + len(catalog.grants)
    typer.echo(
        f"{file}: ok — {plural(len(catalog.services), 'service')}, "
        f"{plural(len(catalog.environments), 'environment')}, "
        f"{plural(grants, 'role grant')}, {plural(len(catalog.freezes), 'freeze window')}, "
        f"{plural(len(catalog.backends), 'backend')}"
    )


def _build_backends(catalog, path: Path):
    """Every backend the catalog names, built as `serve` would (without calling any)."""
    from bot.core.clock import SystemClock
    from integrations.base import BackendContext, MemoryOperations, SettingsProblem
    from integrations.registry import Registry

    context = BackendContext(
        clock=SystemClock(),
        env=os.environ,
        operations=MemoryOperations(),
        public_url=_settings().public_url,
    )
    try:
        return Registry(catalog, context)
    except SettingsProblem as exc:
        raise _fail(f"{path}: {exc}", code=1) from None


def _probe_backends(registry) -> None:
    results = asyncio.run(registry.check_health())
    for health in results:
        if health.ok:
            typer.echo(f"backend {health.name} ({health.type}): answers")
        else:
            typer.secho(
                f"backend {health.name} ({health.type}): {health.problem}",
                fg=typer.colors.RED,
                err=True,
            )
    if not all(health.ok for health in results):
        raise typer.Exit(1)


async def _group_members(catalog) -> dict[str, frozenset[str]]:
    """Members of the Slack user groups the catalog names, when Slack is configured."""
    from bot.core.access import groups_used
    from bot.core.ports import IntegrationError

    groups = groups_used(catalog)
    settings = _settings()
    if not groups or not settings.bot_token:
        return {}
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.chat import SlackGroups

    client = AsyncWebClient(
        token=settings.bot_token, base_url=settings.slack_api_url or AsyncWebClient.BASE_URL
    )
    directory = SlackGroups(client)
    found = {}
    for group in sorted(groups):
        try:
            found[group] = await directory.members(group)
        except IntegrationError as exc:
            typer.secho(
                f"could not read user group {group}: {exc}", fg=typer.colors.YELLOW, err=True
            )
    return found


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    since: Annotated[
        str | None, typer.Option(help="From this time (UTC ISO date/time, or 30d/12h ago).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to (not including) this time.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    env: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only this Slack user ID.")] = None,
    action: Annotated[
        str | None, typer.Option(help='Only this action, or a prefix: "release.*".')
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Where to write the manifest (default: OUTPUT.manifest.json)."),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Stream the audit trail as CSV or JSON Lines, with the documented columns, and write a
    manifest beside it (range, sequence numbers, chain head, the file's SHA-256), signed
    with the audit key when one is configured; the head is also kept as a signed
    checkpoint."""
    from bot.services.audit_trail import FORMATS
    from bot.storage.audit_reader import AuditFilter

    if fmt not in FORMATS:
        raise _fail(f"--format must be csv or jsonl, not {fmt!r}")
    where = AuditFilter(
        _when(since, "--since"), _when(until, "--until"), service, env, actor, action
    )
    url = database_url or _settings().database_url
    manifest_path = manifest or (Path(f"{output}.manifest.json") if output else None)
    signer = _audit_signer()

    filters = {
        "since": since,
        "until": until,
        "service": service,
        "env": env,
        "actor": actor,
        "action": action,
    }

    async def main():
        from bot.storage.audit_files import export_with_manifest
        from bot.storage.database import create_engine

        engine = create_engine(url)
        try:
            with (
                output.open("w", newline="", encoding="utf-8")
                if output
                else nullcontext(sys.stdout) as out
            ):
                made, summary = await export_with_manifest(
                    engine,
                    where,
                    fmt,
                    out,
                    file_name=output.name if output else "-",
                    filters=filters,
                    now=datetime.now(UTC),
                    signer=signer,
                )
            if manifest_path is not None:
                manifest_path.write_text(made.to_json())
            return summary
        finally:
            await engine.dispose()

    summary = asyncio.run(main())
    typer.echo(
        f"exported {plural(summary.count, 'event')}" + (f" to {output}" if output else ""),
        err=True,
    )
    if manifest_path is not None:
        signed = "signed" if signer else "UNSIGNED (no audit key configured)"
        typer.echo(f"manifest ({signed}): {manifest_path}", err=True)


@audit_app.command("checkpoint")
def audit_checkpoint(database_url: DatabaseOption = None) -> None:
    """Sign the chain's head now and keep it as a checkpoint (the engine also does this at
    intervals): a later rewrite of anything up to it is then detectable."""
    from bot.services.audit_manifests import make_checkpoint
    from bot.storage import audit_checkpoints
    from bot.storage.database import create_engine

    signer = _audit_signer()
    if signer is None:
        raise _fail(_NO_AUDIT_KEY, code=1)

    async def main():
        engine = create_engine(database_url or _settings().database_url)
        try:
            head = await audit_checkpoints.head(engine)
            await audit_checkpoints.add(engine, make_checkpoint(head, datetime.now(UTC), signer))
            return head
        finally:
            await engine.dispose()

    head = asyncio.run(main())
    typer.echo(f"checkpoint signed: sequence {head.seq}, head {head.hash[:16]}…")


@audit_app.command("verify")
def audit_verify(
    manifest: Annotated[
        Path | None,
        typer.Option(help="Also check an export's manifest: its signature, its file, its head."),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(help="The exported file (default: the manifest's file, beside it)."),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute the hash chain and report the first edited, missing or reordered record;
    check the signed checkpoints and, with --manifest, an export's manifest, so a chain
    rebuilt by someone with database rights is found too. Exits 0 when all holds, 1 when
    something is wrong, 3 when nothing is wrong but something was not checked (an unsigned
    manifest, or no key to check its signature)."""
    from bot.services.audit_manifests import check_checkpoints, check_manifest
    from bot.services.audit_trail import verify_rows
    from bot.storage import audit_checkpoints
    from bot.storage.audit_reader import iter_rows
    from bot.storage.database import create_engine

    url = database_url or _settings().database_url
    signer = _audit_signer()
    loaded = _read_manifest(manifest) if manifest else None
    exported = _read_export(loaded, manifest, export) if loaded and manifest else None

    async def main():
        engine = create_engine(url)
        try:
            report = await verify_rows(iter_rows(engine))
            head = await audit_checkpoints.head(engine)

            async def hash_at(seq: int) -> str | None:
                return await audit_checkpoints.hash_at(engine, seq)

            checkpoints = await audit_checkpoints.all_checkpoints(engine)
            findings = await check_checkpoints(checkpoints, signer, hash_at)
            if loaded is not None:
                findings += await check_manifest(loaded, exported, signer, hash_at)
            return report, head, findings, len(checkpoints)
        finally:
            await engine.dispose()

    report, head, findings, checkpoints = asyncio.run(main())
    warnings = [finding for finding in findings if finding.warning]
    findings = [finding for finding in findings if not finding.warning]
    problems = []
    if report.broken:
        problems.append(
            f"audit chain BROKEN at sequence {report.broken.seq}: {report.broken.why} "
            f"({plural(report.count, 'record')} verified before it)"
        )
    elif (report.head_seq, report.head_hash) != (head.seq, head.hash):
        problems.append(
            f"audit chain BROKEN at sequence {report.head_seq + 1}: the chain ends at "
            f"{report.head_seq} but the head says {head.seq}: records were removed from the end"
        )
    problems += [
        f"audit chain BROKEN at {finding}" if finding.seq is not None else f"FAILED: {finding}"
        for finding in findings
    ]
    if problems:
        raise _fail("\n".join(problems), code=1)
    held = [
        "no signed checkpoints yet"
        if not checkpoints
        else "the signed checkpoint holds"
        if checkpoints == 1
        else f"the {checkpoints} signed checkpoints hold"
    ]
    if loaded is not None:
        held.append(
            "the manifest's content and SHA-256 match"
            + ("" if warnings else ", and its signature holds")
        )
    typer.echo(
        f"audit chain ok: {plural(report.count, 'record')}, "
        f"head {report.head_seq} {report.head_hash[:16]}…; {'; '.join(held)}"
    )
    if warnings:
        for warning in warnings:
            typer.echo(f"warning: {warning}", err=True)
        raise typer.Exit(VERIFY_WARNING_EXIT)


# `audit verify` exits 0 when everything holds, 1 when something was found wrong, and this when
# nothing was found wrong but something could not be checked (an unsigned manifest).
VERIFY_WARNING_EXIT = 3


_NO_AUDIT_KEY = (
    "no audit key: set RELEASEBOT_AUDIT_HMAC_KEY (or _FILE), or "
    "RELEASEBOT_AUDIT_ED25519_KEY_FILE (RELEASEBOT_AUDIT_ED25519_PUBLIC_KEY_FILE to verify only)"
)


def _audit_signer():
    from bot.services.audit_signing import SigningKeyProblem, signer_from_environment

    try:
        return signer_from_environment(os.environ)
    except (SigningKeyProblem, ValueError) as exc:
        raise _fail(f"audit key: {exc}", code=1) from None


def _read_manifest(path: Path):
    from bot.core.audit_manifest import Manifest

    try:
        return Manifest.from_json(path.read_text())
    except OSError as exc:
        raise _fail(f"cannot read the manifest {path}: {exc.strerror}", code=1) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise _fail(f"{path} is not an audit manifest: {exc}", code=1) from None


def _read_export(loaded, manifest: Path, export: Path | None) -> bytes | None:
    path = export or manifest.parent / loaded.file_name
    try:
        return path.read_bytes()
    except OSError:
        return None


@app.command("bench-export")
def bench_export(
    rows: Annotated[int, typer.Option(help="How many audit events to generate.")] = 1_000_000,
    database_url: Annotated[
        str, typer.Option(help="A PostgreSQL URL; a scratch schema is made and dropped.")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
) -> None:
    """Export a large generated audit trail and compare with psql's \\copy of the same rows:
    rows/s and peak memory (a benchmark, not a test)."""
    import tempfile

    from bot.benchmarks.export import run_export_bench

    if rows < 1:
        raise _fail("--rows must be at least 1")
    with tempfile.TemporaryDirectory() as directory:
        try:
            result = asyncio.run(run_export_bench(database_url, rows, Path(directory)))
        except ValueError as exc:
            raise _fail(str(exc)) from None
    typer.echo(result.report())


@app.command("bench-verify")
def bench_verify(
    events: Annotated[int, typer.Option(help="How many audit events to seal.")] = 1_000_000,
    database_url: Annotated[
        str,
        typer.Option(
            help="A PostgreSQL URL (a scratch schema is made and dropped), or sqlite: for a "
            "scratch SQLite file."
        ),
    ] = "sqlite:",
    baseline: Annotated[
        bool, typer.Option(help="Also time the record-by-record check it replaced.")
    ] = False,
) -> None:
    """Seal a large valid audit chain and time `audit verify` over it: events/s, and the
    ratio to the record-by-record check with --baseline (a benchmark, not a test)."""
    from bot.benchmarks.verify import run_verify_bench

    if events < 1:
        raise _fail("--events must be at least 1")
    result = asyncio.run(run_verify_bench(database_url, events, baseline))
    typer.echo(result.report())


@app.command("bench-dora")
def bench_dora(
    releases: Annotated[int, typer.Option(help="How many finished releases.")] = 100_000,
    database_url: Annotated[
        str,
        typer.Option(
            help="A PostgreSQL URL (a scratch schema is made and dropped), or sqlite:///FILE "
            "(a new file)."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    baseline: Annotated[
        bool,
        typer.Option(help="Also time loading every release and computing in Python, as before."),
    ] = False,
) -> None:
    """Time the DORA report over a 365-day window of generated releases (SQL aggregates),
    and with --baseline the load-everything way it replaced (a benchmark, not a test)."""
    from bot.benchmarks.dora import run_dora_bench

    if releases < 1:
        raise _fail("--releases must be at least 1")
    result = asyncio.run(run_dora_bench(database_url, releases, baseline=baseline))
    typer.echo(result.report())


def _read_catalog(path: Path):
    """The catalog file, parsed and validated once; its problems end the command."""
    from bot.app.catalog_file import CatalogError, read_catalog

    try:
        return read_catalog(path)
    except CatalogError as exc:
        raise _fail(exc.report(), code=1) from None


def _refuse_broken_policies(loaded) -> None:
    """`serve` will not start with a policy that cannot work (checked without Slack)."""
    from bot.core.catalog_lint import policy_problems

    errors = [p for p in policy_problems(loaded.catalog) if p.severity == "error"]
    if errors:
        path = loaded.source
        lines = [
            f"{path}:{loaded.line_of(p.path) or '?'}: {'.'.join(map(str, p.path))}: {p.message}"
            for p in errors
        ]
        raise _fail("\n".join(["the catalog's policies cannot work:", *lines]), code=1)


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    from bot.core.durations import parse_moment

    try:
        return parse_moment(text, datetime.now(UTC))
    except ValueError as exc:
        raise _fail(f"{option} {exc}") from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
