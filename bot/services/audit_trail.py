"""Audit export (CSV or JSON Lines, streamed) and chain verification.

Both read raw rows (bot.core.audit.RAW) a batch at a time and write or check them without an
object per row; `verify_records` does the same from AuditRecords."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, TextIO

from bot.core.audit import COLUMNS, AuditRecord, ChainBreak, ChainVerifier, JsonCache, json_number
from bot.core.export_formats import format_problem

Rows = Sequence[Sequence[Any]]


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


async def write_export_rows(
    batches: AsyncIterable[Rows],
    fmt: str,
    out: TextIO | HashingWriter,
    summary: ExportSummary | None = None,
) -> int:
    """The export file of `batches`: CSV (cells a spreadsheet would run as formulas get a
    leading apostrophe) or JSON Lines, one write per batch."""
    if (problem := format_problem(fmt, "format")) is not None:
        raise ValueError(problem)
    summary = summary if summary is not None else ExportSummary()
    if fmt == "csv":
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(COLUMNS)
        out.write(header.getvalue())
    render = _csv_lines() if fmt == "csv" else _jsonl_lines()
    count = 0
    async with _closing(batches):
        async for rows in batches:
            if not rows:
                continue
            out.write(render(rows))
            count += len(rows)
            if summary.first_seq is None:
                summary.first_seq = rows[0][0]
            summary.last_seq = rows[-1][0]
    summary.count = count
    return count


def _csv_lines():
    details_text = JsonCache(lambda text: json.dumps(json.loads(text), sort_keys=True))
    formula = frozenset(FORMULA_STARTS)

    def render(rows: Rows) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        cells = []
        for row in rows:
            line = list(row)
            line[9] = "" if line[9] is None else line[9]  # release_id
            line[14] = " ".join(line[14].split())  # approvers
            line[15] = details_text(line[15])
            cells.append(
                [
                    "'" + cell if cell.__class__ is str and cell[:1] in formula else cell
                    for cell in line
                ]
            )
        writer.writerows(cells)
        return buffer.getvalue()

    return render


def _jsonl_lines():
    details_text = JsonCache(lambda text: json.dumps(json.loads(text), ensure_ascii=False))
    q = encode_basestring

    def render(rows: Rows) -> str:
        lines = []
        for row in rows:
            (seq, event_id, at, actor_id, actor_name, action, outcome, service, environment,
             release_id, version_from, version_to, rule, reason, approvers, details, prev_hash,
             hash_) = row  # fmt: skip
            lines.append(
                "".join(
                    (
                        '{"seq": ',
                        json_number(seq),
                        ', "event_id": ',
                        q(event_id),
                        ', "at": ',
                        q(at),
                        ', "actor_id": ',
                        q(actor_id),
                        ', "actor_name": ',
                        q(actor_name),
                        ', "action": ',
                        q(action),
                        ', "outcome": ',
                        q(outcome),
                        ', "service": ',
                        q(service),
                        ', "environment": ',
                        q(environment),
                        ', "release_id": ',
                        json_number(release_id),
                        ', "version_from": ',
                        q(version_from),
                        ', "version_to": ',
                        q(version_to),
                        ', "rule": ',
                        q(rule),
                        ', "reason": ',
                        q(reason),
                        ', "approvers": [',
                        ", ".join(map(q, approvers.split())),
                        '], "details": ',
                        details_text(details),
                        ', "prev_hash": ',
                        q(prev_hash),
                        ', "hash": ',
                        q(hash_),
                        "}\n",
                    )
                )  # fmt: skip
            )
        return "".join(lines)

    return render


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


async def verify_rows(
    batches: AsyncIterable[Rows], start: tuple[int, str] | None = None
) -> VerifyReport:
    """`verify_records` from raw rows: the same report. `start`: the (sequence, hash) the rows
    follow, when they do not begin the chain."""
    verifier = ChainVerifier(start) if start else ChainVerifier()
    async with _closing(batches):
        async for rows in batches:
            if (broken := verifier.feed_rows(rows)) is not None:
                return VerifyReport(verifier.count, verifier.last_seq, verifier.last_hash, broken)
    return VerifyReport(verifier.count, verifier.last_seq, verifier.last_hash, None)


def _closing(batches: AsyncIterable[Rows]) -> Any:
    """Closes a batch generator left early (a break found, a failed write), so the read it
    has in flight ends before the caller goes on."""
    if hasattr(batches, "aclose"):
        return contextlib.aclosing(batches)  # type: ignore[type-var]
    return contextlib.nullcontext()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice for CSV injection); JSON Lines exports keep the text as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
