"""Audit export (CSV or JSON Lines, streamed) and chain verification."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TextIO

from bot.core.audit import COLUMNS, AuditRecord, ChainBreak, ChainVerifier

FORMATS = ("csv", "jsonl")


@dataclass
class ExportSummary:
    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


class HashingWriter:
    """Passes text through to `out` and keeps the SHA-256 and size of its UTF-8 bytes, so the
    manifest describes exactly the file written, in one pass."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self._sha.update(data)
        self.size += len(data)
        return self._out.write(text)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


async def write_export(
    records: AsyncIterable[AuditRecord],
    fmt: str,
    out: TextIO | HashingWriter,
    summary: ExportSummary | None = None,
) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use csv or jsonl")
    summary = summary if summary is not None else ExportSummary()
    count = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(COLUMNS)
    async for record in records:
        row = record.as_row()
        if writer:
            row["details"] = json.dumps(row["details"], sort_keys=True)
            row["approvers"] = " ".join(row["approvers"])
            if row["release_id"] is None:
                row["release_id"] = ""
            writer.writerow([_spreadsheet_safe(row[column]) for column in COLUMNS])
        else:
            out.write(json.dumps(row, sort_keys=False, ensure_ascii=False) + "\n")
        count += 1
        summary.first_seq = record.seq if summary.first_seq is None else summary.first_seq
        summary.last_seq = record.seq
    summary.count = count
    return count


@dataclass(frozen=True)
class VerifyReport:
    count: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify_records(records: AsyncIterable[AuditRecord]) -> VerifyReport:
    verifier = ChainVerifier()
    async for record in records:
        if (broken := verifier.feed(record)) is not None:
            return VerifyReport(verifier.count, verifier.last_seq, verifier.last_hash, broken)
    return VerifyReport(verifier.count, verifier.last_seq, verifier.last_hash, None)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice for CSV injection); JSON Lines exports keep the text as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
