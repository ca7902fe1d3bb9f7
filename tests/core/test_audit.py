"""Audit events and their hash chain (bot/core/audit.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.core.audit import (
    COLUMNS,
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    ChainBreak,
    ChainVerifier,
    canonical,
    chain_hash,
    format_time,
    seal,
    verify,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def event(n: int) -> AuditEvent:
    return AuditEvent(
        at=T0 + timedelta(seconds=n, microseconds=n),
        actor_id="U0ALICE",
        action="slack.deploy" if n % 2 else "release.stage.succeeded",
        outcome="ok",
        actor_name="Alice",
        service="checkout",
        environment="production",
        release_id=12,
        version_from="v1.4.2",
        version_to="v1.4.3",
        rule="rbac.deploy",
        reason=f"step {n} — déjà vu",
        details={"stage": f"{n * 10}%", "n": n},
        approvers=("U0BOB",) if n % 3 else (),
    )


def chain(length: int = 6, start: tuple[int, str] = (0, GENESIS_HASH)) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = start
    for n in range(1, length + 1):
        record = seal(prev, f"evt-{n}", event(n))
        records.append(record)
        prev = (record.seq, record.hash)
    return records


def test_a_sealed_chain_verifies():
    records = chain()
    assert verify(records) is None
    assert [r.seq for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[0].prev_hash == GENESIS_HASH
    for before, after in zip(records, records[1:], strict=False):
        assert after.prev_hash == before.hash
    assert len({r.hash for r in records}) == 6
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.hash) for r in records)


def test_empty_chain_verifies():
    assert verify([]) is None


def test_seal_is_deterministic():
    assert seal((0, GENESIS_HASH), "evt-1", event(1)) == seal((0, GENESIS_HASH), "evt-1", event(1))
    assert (
        seal((0, GENESIS_HASH), "evt-1", event(1)).hash
        != seal((0, GENESIS_HASH), "evt-2", event(1)).hash
    )


def test_chain_can_continue_from_a_checkpoint():
    first = chain(3)
    rest = chain(3, start=(3, first[-1].hash))
    assert [r.seq for r in rest] == [4, 5, 6]
    assert verify(first + rest) is None
    assert verify(rest, start=(3, first[-1].hash)) is None
    assert verify(rest) == ChainBreak(1, "missing record(s) 1..3")


EDITS: dict[str, Any] = {
    "at": T0 + timedelta(days=1),
    "actor_id": "U0MALLORY",
    "action": "slack.rollback",
    "outcome": "refused",
    "actor_name": "Mallory",
    "service": "payments",
    "environment": "staging",
    "release_id": 13,
    "version_from": "v0.0.1",
    "version_to": "v9.9.9",
    "rule": "rbac.open",
    "reason": "nothing to see here",
    "details": {"stage": "100%", "n": 3},
    "approvers": ("U0MALLORY",),
}


def test_every_event_field_has_an_edit():
    assert set(EDITS) == {f.name for f in dataclasses.fields(AuditEvent)}


@pytest.mark.parametrize("name", sorted(EDITS))
@pytest.mark.parametrize("position", [0, 2, 5])
def test_an_edited_field_breaks_the_chain_at_that_record(name: str, position: int):
    records = chain()
    original = records[position]
    assert getattr(original.event, name) != EDITS[name]
    edited = dataclasses.replace(original.event, **{name: EDITS[name]})
    records[position] = dataclasses.replace(original, event=edited)
    assert verify(records) == ChainBreak(position + 1, "content does not match its hash: edited")


def test_release_id_set_to_none_is_an_edit():
    records = chain()
    records[1] = dataclasses.replace(
        records[1], event=dataclasses.replace(records[1].event, release_id=None)
    )
    assert verify(records) == ChainBreak(2, "content does not match its hash: edited")


def test_an_edited_event_id_or_hash_breaks_the_chain():
    records = chain()
    records[3] = dataclasses.replace(records[3], event_id="evt-forged")
    assert verify(records) == ChainBreak(4, "content does not match its hash: edited")
    records = chain()
    records[3] = dataclasses.replace(records[3], hash="f" * 64)
    assert verify(records) == ChainBreak(4, "content does not match its hash: edited")


def test_a_removed_record():
    records = chain()
    del records[2]
    assert verify(records) == ChainBreak(3, "missing record(s) 3..3")
    records = chain()
    del records[1:4]
    assert verify(records) == ChainBreak(2, "missing record(s) 2..4")
    records = chain()
    del records[0]
    assert verify(records) == ChainBreak(1, "missing record(s) 1..1")


def test_a_removed_record_with_renumbering_is_still_found():
    records = chain()
    del records[2]
    renumbered = [dataclasses.replace(r, seq=i) for i, r in enumerate(records, start=1)]
    broken = verify(renumbered)
    assert broken is not None and broken.seq == 3


def test_a_removed_tail_needs_the_signed_head():
    """The chain alone cannot see its last rows go; the head kept outside the database can."""
    records = chain()
    head = (records[-1].seq, records[-1].hash)
    verifier = ChainVerifier()
    assert all(verifier.feed(r) is None for r in records[:-2])
    assert (verifier.last_seq, verifier.last_hash) != head
    assert verifier.count == 4


def test_two_records_swapped():
    records = chain()
    records[2], records[3] = records[3], records[2]
    assert verify(records) == ChainBreak(3, "missing record(s) 3..3")


def test_two_records_swapped_and_renumbered():
    records = chain()
    third, fourth = records[2], records[3]
    records[2] = dataclasses.replace(fourth, seq=3)
    records[3] = dataclasses.replace(third, seq=4)
    assert verify(records) == ChainBreak(
        3, "prev_hash does not match the previous record: removed or reordered"
    )


def test_two_events_swapped_between_rows():
    records = chain()
    a, b = records[1], records[4]
    records[1] = dataclasses.replace(a, event=b.event)
    records[4] = dataclasses.replace(b, event=a.event)
    assert verify(records) == ChainBreak(2, "content does not match its hash: edited")


def test_a_duplicated_record():
    records = chain()
    records.insert(3, records[2])
    assert verify(records) == ChainBreak(4, "sequence 3 out of order (expected 4)")


def test_a_wrong_prev_hash_even_with_a_recomputed_hash():
    records = chain()
    forged_prev = "a" * 64
    target = records[3]
    forged = dataclasses.replace(
        target,
        prev_hash=forged_prev,
        hash=chain_hash(forged_prev, target.seq, target.event_id, target.event),
    )
    records[3] = forged
    assert verify(records) == ChainBreak(
        4, "prev_hash does not match the previous record: removed or reordered"
    )


def test_a_rewritten_record_with_its_hash_recomputed_breaks_the_next_link():
    records = chain()
    target = records[2]
    edited = dataclasses.replace(target.event, reason="rewritten")
    records[2] = dataclasses.replace(
        target,
        event=edited,
        hash=chain_hash(target.prev_hash, target.seq, target.event_id, edited),
    )
    assert verify(records) == ChainBreak(
        4, "prev_hash does not match the previous record: removed or reordered"
    )


def test_chain_verifier_reports_the_seq_and_stops_advancing():
    records = chain()
    records[4] = dataclasses.replace(records[4], event=_failed(records[4].event))
    verifier = ChainVerifier()
    results = [verifier.feed(r) for r in records[:5]]
    assert results[:4] == [None] * 4
    assert results[4] == ChainBreak(5, "content does not match its hash: edited")
    assert verifier.count == 4 and verifier.last_seq == 4
    assert verifier.last_hash == records[3].hash


def _failed(e: AuditEvent) -> AuditEvent:
    return dataclasses.replace(e, outcome="failed")


# Canonical form.


def test_canonical_is_stable_for_naive_and_aware_utc():
    naive = datetime(2026, 11, 23, 9, 0, 0, 5)
    aware = naive.replace(tzinfo=UTC)
    paris = aware.astimezone(timezone(timedelta(hours=1)))
    forms = {
        canonical(1, "evt-1", dataclasses.replace(event(1), at=moment))
        for moment in (naive, aware, paris)
    }
    assert len(forms) == 1
    assert format_time(naive) == format_time(aware) == format_time(paris)
    assert format_time(aware) == "2026-11-23T09:00:00.000005Z"
    assert format_time(datetime(2026, 11, 23, 9, 0)) == "2026-11-23T09:00:00.000000Z"


def test_canonical_is_sorted_compact_json_with_unicode():
    data = canonical(7, "evt-7", event(7))
    text = data.decode()
    parsed = json.loads(text)
    assert list(parsed) == sorted(parsed)
    assert ", " not in text and ": " not in text.replace("déjà vu", "")
    assert "déjà vu" in text and "\\u" not in text
    assert parsed["seq"] == 7 and parsed["event_id"] == "evt-7"
    assert set(parsed) == set(COLUMNS) - {"prev_hash", "hash"}


def test_canonical_ignores_details_key_order():
    a = dataclasses.replace(event(1), details={"a": 1, "b": [1, 2]})
    b = dataclasses.replace(event(1), details={"b": [1, 2], "a": 1})
    assert canonical(1, "e", a) == canonical(1, "e", b)


def test_seal_normalises_details_so_a_reloaded_record_verifies():
    odd = dataclasses.replace(
        event(1), details={"when": T0, "stages": ("10%", "50%"), 3: "three", "nested": {"x": 1.5}}
    )
    record = seal((0, GENESIS_HASH), "evt-1", odd)
    assert record.event.details == {
        "when": str(T0),
        "stages": ["10%", "50%"],
        "3": "three",
        "nested": {"x": 1.5},
    }
    # what a database hands back after a JSON round trip still verifies
    reloaded = dataclasses.replace(
        record,
        event=dataclasses.replace(
            record.event,
            details=json.loads(json.dumps(record.event.details)),
            at=record.event.at.replace(tzinfo=None),
        ),
    )
    assert verify([reloaded]) is None


def test_as_row_uses_the_documented_columns_in_order():
    record = chain(1)[0]
    row = record.as_row()
    assert tuple(row) == COLUMNS
    assert row["at"] == "2026-11-23T09:00:01.000001Z"
    assert row["hash"] == record.hash and row["prev_hash"] == GENESIS_HASH
    assert row["details"] == {"stage": "10%", "n": 1}


def test_records_written_before_approvers_existed_still_verify():
    """The canonical form leaves out empty approvers, so old chains keep their hashes."""
    plain = dataclasses.replace(event(3), approvers=())
    assert b"approvers" not in canonical(3, "e", plain)
    assert b'"approvers":["U0BOB"]' in canonical(1, "e", event(1))


def test_canonical_row_is_canonical_over_varied_events():
    """The raw-row path (`audit verify`) hashes exactly what `seal` hashed."""
    from bot.benchmarks.trail import chain
    from bot.core.audit import JsonCache, canonical_details, canonical_row

    cached = JsonCache(canonical_details, size=8)
    verifier = ChainVerifier()
    rows = []
    for record in chain(400):
        e = record.event
        row = (
            record.seq, record.event_id, format_time(e.at), e.actor_id, e.actor_name, e.action,
            e.outcome, e.service, e.environment, e.release_id, e.version_from, e.version_to,
            e.rule, e.reason, " ".join(e.approvers), json.dumps(e.details), record.prev_hash,
            record.hash,
        )  # fmt: skip
        expected = canonical(record.seq, record.event_id, e).decode()
        assert canonical_row(row) == expected == canonical_row(row, cached)
        rows.append(row)
    assert verifier.feed_rows(rows) is None and verifier.count == 400
    edited = [*rows[:9], (*rows[9][:13], "edited", *rows[9][14:])]
    assert ChainVerifier().feed_rows(edited) == ChainBreak(
        10, "content does not match its hash: edited"
    )
