"""Audit export (CSV or JSON Lines, streamed) and chain verification."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import TextIO

from bot.core.audit import COLUMNS, AuditRecord, ChainBreak, ChainVerifier

FORMATS = ("csv", "jsonl")


async def write_export(records: AsyncIterable[AuditRecord], fmt: str, out: TextIO) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use csv or jsonl")
    count = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writeheader()
    async for record in records:
        row = record.as_row()
        if writer:
            writer.writerow(
                {
                    **row,
                    "details": json.dumps(row["details"], sort_keys=True),
                    "release_id": "" if row["release_id"] is None else row["release_id"],
                }
            )
        else:
            out.write(json.dumps(row, sort_keys=False, ensure_ascii=False) + "\n")
        count += 1
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
