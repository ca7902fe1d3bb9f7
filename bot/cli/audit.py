"""`releasebot audit export|checkpoint|verify`: the tamper-evident audit trail, from the
command line."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import DatabaseOption, fail, settings
from bot.core.export_formats import CHOICES, DEFAULT, format_problem
from bot.core.wording import plural

audit_app = typer.Typer(help="Export and verify the tamper-evident audit trail.")


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help=CHOICES)] = DEFAULT,
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
    from bot.storage.audit_reader import AuditFilter

    if (problem := format_problem(fmt, "--format")) is not None:
        raise fail(problem)
    where = AuditFilter(
        _when(since, "--since"), _when(until, "--until"), service, env, actor, action
    )
    url = database_url or settings().database_url
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
        raise fail(_NO_AUDIT_KEY, code=1)

    async def main():
        engine = create_engine(database_url or settings().database_url)
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

    url = database_url or settings().database_url
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
        raise fail("\n".join(problems), code=1)
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
        raise fail(f"audit key: {exc}", code=1) from None


def _read_manifest(path: Path):
    from bot.core.audit_manifest import Manifest

    try:
        return Manifest.from_json(path.read_text())
    except OSError as exc:
        raise fail(f"cannot read the manifest {path}: {exc.strerror}", code=1) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise fail(f"{path} is not an audit manifest: {exc}", code=1) from None


def _read_export(loaded, manifest: Path, export: Path | None) -> bytes | None:
    path = export or manifest.parent / loaded.file_name
    try:
        return path.read_bytes()
    except OSError:
        return None


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    from bot.core.durations import parse_moment

    try:
        return parse_moment(text, datetime.now(UTC))
    except ValueError as exc:
        raise fail(f"{option} {exc}") from None
