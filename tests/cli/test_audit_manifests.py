"""Signed manifests and checkpoints: a chain rebuilt by someone with database rights, an
export edited after the fact, or a manifest re-signed with another key is found, with the
first sequence number concerned."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli.main import app
from bot.core.audit import GENESIS_HASH, chain_hash
from bot.core.audit_manifest import Manifest
from bot.services.audit_signing import HmacSigner
from bot.storage.audit_reader import iter_records
from bot.storage.database import create_engine
from tests.support.audit import tamper

runner = CliRunner()
KEY = "audit-key-for-tests-0123456789"


def run(*args: str, **env: str):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def export(database_url: str, tmp_path: Path, fmt: str = "csv", **env: str) -> Path:
    output = tmp_path / f"audit.{fmt}"
    result = run(
        "audit", "export", "--format", fmt, "-o", str(output), "--database-url", database_url,
        **({"RELEASEBOT_AUDIT_HMAC_KEY": KEY} | env),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return output


def verify(database_url: str, manifest: Path | None = None, **env: str):
    args = ["audit", "verify", "--database-url", database_url]
    if manifest:
        args += ["--manifest", str(manifest)]
    return run(*args, **({"RELEASEBOT_AUDIT_HMAC_KEY": KEY} | env))


def rewrite_chain(database_url: str, seq: int, actor: str) -> None:
    """What an owner of the database could do: change a record and rebuild every hash after
    it, and the head, so the chain verifies on its own."""

    async def go():
        engine = create_engine(database_url)
        records = [r async for r in iter_records(engine)]
        prev = GENESIS_HASH
        statements = []
        for record in records:
            event = record.event
            if record.seq == seq:
                event = type(event)(**{**event.__dict__, "actor_id": actor})
                statements.append(f"UPDATE audit_events SET actor_id = '{actor}' WHERE seq = {seq}")
            new_hash = chain_hash(prev, record.seq, record.event_id, event)
            statements.append(
                f"UPDATE audit_events SET prev_hash = '{prev}', hash = '{new_hash}' "
                f"WHERE seq = {record.seq}"
            )
            prev = new_hash
        await tamper(engine, ";".join(statements))
        async with engine.begin() as connection:
            await connection.execute(text(f"UPDATE audit_head SET hash = '{prev}'"))
        await engine.dispose()

    asyncio.run(go())


def drop_checkpoints(database_url: str) -> None:
    async def go():
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM audit_checkpoints"))
        await engine.dispose()

    asyncio.run(go())


def test_an_export_writes_a_signed_manifest_that_verifies(audited_database, tmp_path):
    output = export(audited_database, tmp_path)
    manifest = Manifest.from_json(Path(f"{output}.manifest.json").read_text())
    assert (manifest.first_seq, manifest.last_seq, manifest.count) == (1, 3, 3)
    assert manifest.head.seq == 3 and manifest.file_name == "audit.csv"
    assert manifest.signature.algorithm == "hmac-sha256"
    assert manifest.signature.key_id == HmacSigner(KEY.encode()).key_id
    assert KEY not in Path(f"{output}.manifest.json").read_text()
    ok = verify(audited_database, Path(f"{output}.manifest.json"))
    assert ok.exit_code == 0, ok.output
    assert "the signed checkpoint holds" in ok.output
    assert "the manifest's content and SHA-256 match, and its signature holds" in ok.output


def test_a_rebuilt_chain_passes_alone_but_not_against_the_manifest(audited_database, tmp_path):
    output = export(audited_database, tmp_path)
    rewrite_chain(audited_database, 2, "U0MALLORY")
    drop_checkpoints(audited_database)  # the owner removes the checkpoints too
    alone = run("audit", "verify", "--database-url", audited_database)
    assert alone.exit_code == 0, "inside the database the rebuilt chain holds together"
    found = verify(audited_database, Path(f"{output}.manifest.json"))
    assert found.exit_code == 1
    assert "BROKEN at sequence 2: changed in the database since the export" in found.output


def test_a_rebuilt_chain_is_found_by_the_signed_checkpoint_without_any_manifest(
    audited_database, tmp_path
):
    assert run("audit", "checkpoint", "--database-url", audited_database,
               RELEASEBOT_AUDIT_HMAC_KEY=KEY).exit_code == 0  # fmt: skip
    rewrite_chain(audited_database, 1, "U0MALLORY")
    found = verify(audited_database)
    assert found.exit_code == 1
    assert "BROKEN at sequence 3: the chain differs from the checkpoint" in found.output


def test_an_export_edited_after_the_fact_is_found(audited_database, tmp_path):
    output = export(audited_database, tmp_path, fmt="jsonl")
    lines = output.read_text().splitlines()
    row = json.loads(lines[1])
    row["actor_id"] = "U0MALLORY"
    lines[1] = json.dumps(row)
    output.write_text("\n".join(lines) + "\n")
    found = verify(audited_database, Path(f"{output}.manifest.json"))
    assert found.exit_code == 1
    assert "the export file's SHA-256 is not the manifest's" in found.output


def test_a_manifest_re_signed_with_another_key_is_found(audited_database, tmp_path):
    output = export(audited_database, tmp_path)
    path = Path(f"{output}.manifest.json")
    manifest = Manifest.from_json(path.read_text())
    forged = Manifest(**{**manifest.__dict__, "count": 2, "signature": None})
    other = HmacSigner(b"someone-elses-key-0123456789")
    forged = Manifest(**{**forged.__dict__, "signature": other.sign(forged.signed_content())})
    path.write_text(forged.to_json())
    found = verify(audited_database, path)
    assert found.exit_code == 1
    signed_by = f"signed with hmac-sha256 key {other.key_id}"
    assert f"BROKEN at sequence 3: manifest signature mismatch: {signed_by}" in found.output


def test_an_edited_manifest_under_the_right_key_is_found(audited_database, tmp_path):
    output = export(audited_database, tmp_path)
    path = Path(f"{output}.manifest.json")
    data = json.loads(path.read_text())
    data["count"] = 2
    path.write_text(json.dumps(data))
    found = verify(audited_database, path)
    assert found.exit_code == 1
    assert "manifest signature mismatch: the signed content was changed" in found.output


def test_ed25519_signs_and_auditors_verify_with_the_public_key_alone(audited_database, tmp_path):
    private = Ed25519PrivateKey.generate()
    private_file, public_file = tmp_path / "audit.key", tmp_path / "audit.pub"
    private_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_file.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    output = export(
        audited_database,
        tmp_path,
        RELEASEBOT_AUDIT_HMAC_KEY="",
        RELEASEBOT_AUDIT_ED25519_KEY_FILE=str(private_file),
    )
    ok = verify(
        audited_database,
        Path(f"{output}.manifest.json"),
        RELEASEBOT_AUDIT_HMAC_KEY="",
        RELEASEBOT_AUDIT_ED25519_PUBLIC_KEY_FILE=str(public_file),
    )
    assert ok.exit_code == 0, ok.output


def test_without_a_key_the_manifest_says_it_is_unsigned(audited_database, tmp_path):
    output = tmp_path / "audit.csv"
    result = run("audit", "export", "-o", str(output), "--database-url", audited_database)
    assert "manifest (UNSIGNED (no audit key configured))" in result.output
    found = verify(audited_database, Path(f"{output}.manifest.json"))
    assert found.exit_code == 3, found.output  # a warning: nothing wrong, something unchecked
    assert "BROKEN" not in found.output and "FAILED" not in found.output
    assert "no signed checkpoints yet" in found.output
    assert "the manifest's content and SHA-256 match" in found.output
    assert "warning: unsigned manifest: signature not checked" in found.output


def test_an_unsigned_manifest_of_an_edited_export_is_broken_not_a_warning(
    audited_database, tmp_path
):
    output = tmp_path / "audit.csv"
    run("audit", "export", "-o", str(output), "--database-url", audited_database)
    output.write_text(output.read_text().replace("U0BOB", "U0EVE", 1))
    found = verify(audited_database, Path(f"{output}.manifest.json"))
    assert found.exit_code == 1, found.output
    assert "BROKEN at sequence 1" in found.output and "the file was changed" in found.output


def test_a_chain_with_no_checkpoints_says_so(audited_database):
    result = verify(audited_database, RELEASEBOT_AUDIT_HMAC_KEY="")
    assert result.exit_code == 0, result.output
    assert "audit chain ok: 3 records" in result.output
    assert "no signed checkpoints yet" in result.output and "hold" not in result.output


@pytest.mark.parametrize("statement", ["DELETE FROM audit_events WHERE seq = 3"])
def test_a_truncated_tail_is_found_against_the_manifest(audited_database, tmp_path, statement):
    output = export(audited_database, tmp_path)

    async def cut():
        engine = create_engine(audited_database)
        await tamper(engine, statement)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE audit_head SET seq = 2, "
                    "hash = (SELECT hash FROM audit_events WHERE seq = 2)"
                )
            )
        await engine.dispose()

    asyncio.run(cut())
    found = verify(audited_database, Path(f"{output}.manifest.json"))
    assert found.exit_code == 1
    assert "BROKEN at sequence 3: exported, but no longer in the database" in found.output
