"""Manifests for audit exports and signed checkpoints of the chain head, and checking both
against the database: what `audit export` writes beside a file and `audit verify --manifest`
reads back."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.audit import format_time
from bot.core.audit_manifest import ChainPoint, Checkpoint, Manifest
from bot.services.audit_signing import Signer
from bot.services.audit_trail import ExportSummary

HashAt = Callable[[int], Awaitable[str | None]]


def make_manifest(
    *,
    fmt: str,
    filters: dict[str, Any],
    summary: ExportSummary,
    head: ChainPoint,
    file_name: str,
    file_sha256: str,
    file_bytes: int,
    now: datetime,
    signer: Signer | None,
) -> Manifest:
    manifest = Manifest(
        format=fmt,
        filters={k: v for k, v in filters.items() if v not in (None, "")},
        first_seq=summary.first_seq,
        last_seq=summary.last_seq,
        count=summary.count,
        head=head,
        file_name=file_name,
        file_sha256=file_sha256,
        file_bytes=file_bytes,
        created_at=format_time(now),
    )
    if signer is None:
        return manifest
    return Manifest(**{**manifest.__dict__, "signature": signer.sign(manifest.signed_content())})


def make_checkpoint(head: ChainPoint, now: datetime, signer: Signer) -> Checkpoint:
    unsigned = Checkpoint(head.seq, head.hash, format_time(now))
    return Checkpoint(
        head.seq, head.hash, unsigned.signed_at, signer.sign(unsigned.signed_content())
    )


@dataclass(frozen=True)
class Finding:
    """What verification found wrong; `seq` is the first sequence number concerned."""

    seq: int | None
    why: str
    warning: bool = False  # something left unchecked, not something found wrong

    def __str__(self) -> str:
        return f"sequence {self.seq}: {self.why}" if self.seq is not None else self.why


async def check_manifest(
    manifest: Manifest, export: bytes | None, signer: Signer | None, hash_at: HashAt
) -> list[Finding]:
    findings: list[Finding] = []
    if manifest.signature is None:
        findings.append(Finding(None, "unsigned manifest: signature not checked", warning=True))
    elif signer is None:
        findings.append(
            Finding(
                None,
                "signature not checked: no audit key is configured to check it",
                warning=True,
            )
        )
    elif (problem := signer.verify(manifest.signed_content(), manifest.signature)) is not None:
        findings.append(Finding(manifest.last_seq, f"manifest {problem}"))
    if export is None:
        findings.append(Finding(None, f"the export file {manifest.file_name} was not found"))
    else:
        if hashlib.sha256(export).hexdigest() != manifest.file_sha256:
            findings.append(
                Finding(
                    _first_seq(export, manifest.format),
                    "the export file's SHA-256 is not the manifest's: the file was changed",
                )
            )
        else:
            findings += await _rows_still_stored(export, manifest.format, hash_at)
    stored = await hash_at(manifest.head.seq) if manifest.head.seq else manifest.head.hash
    if stored != manifest.head.hash and not any(f.seq is not None for f in findings):
        findings.append(
            Finding(
                manifest.head.seq,
                "the database's chain differs from the signed head: rewritten after the "
                "manifest was made"
                if stored
                else "the signed head is missing from the database: records were removed",
            )
        )
    return findings


async def check_checkpoints(
    checkpoints: Iterable[Checkpoint], signer: Signer | None, hash_at: HashAt
) -> list[Finding]:
    findings: list[Finding] = []
    for checkpoint in checkpoints:
        if signer is not None and (
            problem := signer.verify(checkpoint.signed_content(), checkpoint.signature)
        ):
            findings.append(Finding(checkpoint.seq, f"checkpoint {problem}"))
            continue
        stored = await hash_at(checkpoint.seq)
        if stored != checkpoint.hash:
            findings.append(
                Finding(
                    checkpoint.seq,
                    "the chain differs from the checkpoint signed "
                    f"{checkpoint.signed_at}: rewritten (at or before this sequence)",
                )
            )
    return findings


async def _rows_still_stored(export: bytes, fmt: str, hash_at: HashAt) -> list[Finding]:
    """Each exported row's hash against the database's: the first that differs is where a
    rewrite began."""
    for seq, hash_ in _exported_hashes(export, fmt):
        stored = await hash_at(seq)
        if stored != hash_:
            why = (
                "changed in the database since the export"
                if stored
                else "exported, but no longer in the database"
            )
            return [Finding(seq, why)]
    return []


def _exported_hashes(export: bytes, fmt: str) -> Iterable[tuple[int, str]]:
    text = export.decode("utf-8")
    if fmt == "csv":
        for row in csv.DictReader(io.StringIO(text)):
            yield int(row["seq"]), row["hash"]
    else:
        for line in text.splitlines():
            if line.strip():
                row = json.loads(line)
                yield int(row["seq"]), row["hash"]


def _first_seq(export: bytes, fmt: str) -> int | None:
    try:
        return next(iter(_exported_hashes(export, fmt)))[0]
    except (StopIteration, ValueError, KeyError, UnicodeDecodeError):
        return None
