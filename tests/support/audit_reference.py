"""The audit export as it was before it read raw rows (kept verbatim as the reference the
fast path must match byte for byte): an AuditRecord per row, a dict per row, a write per
row."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable
from typing import TextIO

from bot.core.audit import COLUMNS, AuditRecord
from bot.core.export_formats import FORMATS
from bot.services.audit_trail import ExportSummary, HashingWriter


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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice for CSV injection); JSON Lines exports keep the text as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
