"""Audit events and their hash chain.

Each record stores the hash of the one before it and the SHA-256 of (previous hash + its own
canonical content), so an edited, removed or reordered row breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

GENESIS_HASH = "0" * 64

# The exported columns, in order. Documented in README ("Audit trail").
COLUMNS = (
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
)


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor_id: str
    action: str
    outcome: str = "ok"
    actor_name: str = ""
    service: str = ""
    environment: str = ""
    release_id: int | None = None
    version_from: str = ""
    version_to: str = ""
    rule: str = ""
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    approvers: tuple[str, ...] = ()  # who had approved the release when this happened


# What no database keeps as written: NUL (PostgreSQL refuses it in text) and lone surrogates
# (not UTF-8 at all). An event's text gets U+FFFD for them before it is hashed, so what is
# stored is what was hashed.
_UNKEEPABLE = re.compile("[\x00\ud800-\udfff]")


def keepable(event: AuditEvent) -> AuditEvent:
    """`event` with every text (details included) as a database keeps it."""
    changes = {
        name: _keepable(value)
        for name, value in asdict(event).items()
        if name != "at" and _has_unkeepable(value)
    }
    if "approvers" in changes:
        changes["approvers"] = tuple(changes["approvers"])
    return replace(event, **changes) if changes else event


def _has_unkeepable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNKEEPABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_unkeepable(k) or _has_unkeepable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_unkeepable(v) for v in value)
    return False


def _keepable(value: Any) -> Any:
    if isinstance(value, str):
        return _UNKEEPABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_keepable(k): _keepable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_keepable(v) for v in value]
    return value


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    event_id: str
    event: AuditEvent
    prev_hash: str
    hash: str

    def as_row(self) -> dict[str, Any]:
        e = self.event
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "at": format_time(e.at),
            "actor_id": e.actor_id,
            "actor_name": e.actor_name,
            "action": e.action,
            "outcome": e.outcome,
            "service": e.service,
            "environment": e.environment,
            "release_id": e.release_id,
            "version_from": e.version_from,
            "version_to": e.version_to,
            "rule": e.rule,
            "reason": e.reason,
            "approvers": list(e.approvers),
            "details": e.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def format_time(moment: datetime) -> str:
    """UTC with microseconds; naive datetimes (SQLite hands those back) are taken as UTC."""
    utc = moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"  # as strftime("…%S.%fZ"), faster


def canonical(seq: int, event_id: str, event: AuditEvent) -> bytes:
    content = {
        "seq": seq,
        "event_id": event_id,
        "at": format_time(event.at),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "outcome": event.outcome,
        "service": event.service,
        "environment": event.environment,
        "release_id": event.release_id,
        "version_from": event.version_from,
        "version_to": event.version_to,
        "rule": event.rule,
        "reason": event.reason,
        "details": event.details,
    }
    if event.approvers:  # absent when empty, so records written before the column verify
        content["approvers"] = list(event.approvers)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# A stored row as the audit readers hand it over, raw: the COLUMNS in order, with `at` already
# as `format_time` writes it, `release_id` an int or None, `approvers` the stored text (IDs
# separated by spaces) and `details` the stored JSON text. Canonical content, hashes and
# exports are computed from these tuples directly, without an AuditEvent per row.
RAW = COLUMNS


class JsonCache:
    """`details` texts repeat (many events carry {} or the same few keys): each distinct text
    is converted once while it stays among the last `size` seen."""

    def __init__(self, convert: Any, size: int = 4096) -> None:
        self._convert = convert
        self._size = size
        self._seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self._seen.get(text)
        if found is None:
            if len(self._seen) >= self._size:
                self._seen.clear()
            found = self._seen[text] = self._convert(text)
        return found


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_details(text: str) -> str:
    """The stored details JSON as `canonical` writes it."""
    return _CANONICAL.encode(json.loads(text))


def canonical_json(value: Any) -> str:
    """How the database stores `details`: exactly the text `canonical` embeds (sorted keys,
    no spaces, UTF-8 as it is), so `audit verify` can hash the stored text as it reads it,
    with no JSON round trip. Text that cannot be UTF-8 (a lone surrogate, which a record
    could not be sealed with anyway) is stored with \\u escapes instead."""
    text = _CANONICAL.encode(value)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text


def json_number(value: int | None) -> str:
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value)  # None, or what a hand-edited SQLite cell may hold


def canonical_row(row: Sequence[Any], details_json: Any = canonical_details) -> str:
    """`canonical` of a raw row, as text: the same JSON, built field by field in sorted key
    order (tests/core/test_audit.py holds the two equal over varied events)."""
    (seq, event_id, at, actor_id, actor_name, action, outcome, service, environment,
     release_id, version_from, version_to, rule, reason, approvers, details) = row[:16]  # fmt: skip
    q = encode_basestring
    ids = approvers.split()
    return "".join(
        (
            '{"action":', q(action),
            ',"actor_id":', q(actor_id),
            ',"actor_name":', q(actor_name),
            ',"approvers":[' + ",".join(map(q, ids)) + "]" if ids else "",
            ',"at":', q(at),
            ',"details":', details_json(details),
            ',"environment":', q(environment),
            ',"event_id":', q(event_id),
            ',"outcome":', q(outcome),
            ',"reason":', q(reason),
            ',"release_id":', json_number(release_id),
            ',"rule":', q(rule),
            ',"seq":', json_number(seq),
            ',"service":', q(service),
            ',"version_from":', q(version_from),
            ',"version_to":', q(version_to),
            "}",
        )
    )  # fmt: skip


def chain_hash(prev_hash: str, seq: int, event_id: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(seq, event_id, event)).hexdigest()


def seal(prev: tuple[int, str], event_id: str, event: AuditEvent) -> AuditRecord:
    """The record that follows `prev` = (last seq, last hash)."""
    seq = prev[0] + 1
    # JSON-safe as every database stores it: no NaN or Infinity (PostgreSQL's json refuses
    # them), which monitors can report; they are kept as the strings "NaN", "Infinity".
    normalized = replace(
        event,
        details=json.loads(json.dumps(event.details, default=str), parse_constant=str),
    )
    return AuditRecord(
        seq, event_id, normalized, prev[1], chain_hash(prev[1], seq, event_id, normalized)
    )


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    why: str


class ChainVerifier:
    """Checks records one at a time, in sequence order, keeping only the last link."""

    def __init__(self, start: tuple[int, str] = (0, GENESIS_HASH)) -> None:
        self.last_seq, self.last_hash = start
        self.count = 0
        self._details = JsonCache(canonical_details)
        self._stored_first = True  # whether the last row's stored details text was canonical

    def feed(self, record: AuditRecord) -> ChainBreak | None:
        if (broken := self._link(record.seq, record.prev_hash)) is not None:
            return broken
        if chain_hash(record.prev_hash, record.seq, record.event_id, record.event) != record.hash:
            return ChainBreak(record.seq, EDITED)
        self.last_seq, self.last_hash = record.seq, record.hash
        self.count += 1
        return None

    def feed_rows(self, rows: Iterable[Sequence[Any]]) -> ChainBreak | None:
        """As `feed`, over stored rows as `RAW` lays them out: the same verdicts, without
        building an event per row (what `audit verify` runs, a batch at a time).

        Details are stored as `canonical_json` writes them, so the stored text is hashed as it
        is first; only when that does not match is it converted (`canonical_details`) and
        hashed again, as rows written before are. A row passes when either content matches
        its hash: for any row `seal` made, both mean the same content (the canonical text is
        the only one hashed), so the verdicts are those of `feed`. The order follows the last
        row, so an older trail does not pay two hashes per row."""
        sha256, details = hashlib.sha256, self._details
        stored_first = self._stored_first
        for row in rows:
            seq, prev_hash, hash_ = row[0], row[16], row[17]
            if seq != self.last_seq + 1 or prev_hash != self.last_hash:
                self._stored_first = stored_first
                return self._link(seq, prev_hash)
            if (
                sha256(
                    (prev_hash + canonical_row(row, str if stored_first else details)).encode()
                ).hexdigest()
                != hash_
            ):
                stored_first = not stored_first
                if (
                    sha256(
                        (prev_hash + canonical_row(row, str if stored_first else details)).encode()
                    ).hexdigest()
                    != hash_
                ):
                    self._stored_first = stored_first
                    return ChainBreak(seq, EDITED)
            self.last_seq, self.last_hash = seq, hash_
            self.count += 1
        self._stored_first = stored_first
        return None

    def _link(self, seq: int, prev_hash: str) -> ChainBreak | None:
        expected = self.last_seq + 1
        if seq != expected:
            why = (
                f"missing record(s) {expected}..{seq - 1}"
                if seq > expected
                else f"sequence {seq} out of order (expected {expected})"
            )
            return ChainBreak(expected, why)
        if prev_hash != self.last_hash:
            return ChainBreak(
                seq, "prev_hash does not match the previous record: removed or reordered"
            )
        return None


EDITED = "content does not match its hash: edited"


def verify(
    records: Iterable[AuditRecord], *, start: tuple[int, str] = (0, GENESIS_HASH)
) -> ChainBreak | None:
    """The first broken link in `records` (ordered by seq), or None when the chain holds."""
    verifier = ChainVerifier(start)
    for record in records:
        if (broken := verifier.feed(record)) is not None:
            return broken
    return None
