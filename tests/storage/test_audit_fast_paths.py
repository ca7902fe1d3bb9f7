"""The audit export and `audit verify` read raw rows; their output and verdicts are those of
the record-by-record reference (tests/support/audit_reference.py) on a varied trail, on SQLite
and PostgreSQL, byte for byte."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.benchmarks.trail import START, write_chain
from bot.services.audit_trail import (
    ExportSummary,
    HashingWriter,
    verify_records,
    verify_rows,
    write_export_rows,
)
from bot.storage import migrate
from bot.storage.audit_reader import AuditFilter, iter_records, iter_rows
from bot.storage.database import create_engine
from tests.support.audit import tamper
from tests.support.audit_reference import write_export

COUNT = 240
FILTERS = [
    AuditFilter(),
    AuditFilter(service="checkout"),
    AuditFilter(action="release.*", environment="production"),
    AuditFilter(since=START + timedelta(seconds=50), until=START + timedelta(seconds=120)),
    AuditFilter(actor="U0ALICE"),
    AuditFilter(service="nobody"),
]


@pytest.fixture
async def trail(engine):
    await write_chain(engine, COUNT)
    return engine


async def both_exports(engine, fmt: str, where: AuditFilter, batch: int = 7):
    old, new = io.StringIO(), io.StringIO()
    old_writer, new_writer = HashingWriter(old), HashingWriter(new)
    old_summary, new_summary = ExportSummary(), ExportSummary()
    await write_export(iter_records(engine, where), fmt, old_writer, old_summary)
    await write_export_rows(iter_rows(engine, where, batch=batch), fmt, new_writer, new_summary)
    return (old.getvalue(), old_writer.sha256, old_writer.size, old_summary), (
        new.getvalue(),
        new_writer.sha256,
        new_writer.size,
        new_summary,
    )


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_the_export_is_byte_for_byte_the_reference(trail, fmt):
    for where in FILTERS:
        old, new = await both_exports(trail, fmt, where)
        assert new[0] == old[0], where
        assert new[1:] == old[1:], "the manifest's hash, size and range"
    whole, _ = await both_exports(trail, fmt, AuditFilter())
    for needle in ("déjà vu", "=SUM", "two", '""quotes""' if fmt == "csv" else '\\"quotes\\"'):
        assert needle in whole[0]
    assert whole[3].count == COUNT


async def test_verify_agrees_on_an_intact_chain(trail):
    report = await verify_rows(iter_rows(trail, batch=13))
    assert report.ok and report.count == COUNT
    assert report == await verify_records(iter_records(trail))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 77",
        "UPDATE audit_events SET approvers = 'U0MALLORY' WHERE seq = 90",
        "UPDATE audit_events SET details = '{\"n\": 2}' WHERE seq = 31",
        "UPDATE audit_events SET release_id = NULL WHERE seq = 9",
        "UPDATE audit_events SET hash = prev_hash WHERE seq = 100",
        "DELETE FROM audit_events WHERE seq = 120",
        "DELETE FROM audit_events WHERE seq = 1",
        "UPDATE audit_events SET seq = -seq WHERE seq IN (60, 61);"
        "UPDATE audit_events SET seq = 61 WHERE seq = -60;"
        "UPDATE audit_events SET seq = 60 WHERE seq = -61",
        "DELETE FROM audit_events WHERE seq = 150;"
        # through negative numbers: PostgreSQL checks the key row by row, in storage order
        "UPDATE audit_events SET seq = 1 - seq WHERE seq > 150;"
        "UPDATE audit_events SET seq = -seq WHERE seq < 0",
    ],
)
async def test_verify_finds_what_the_reference_finds(trail, statement):
    await tamper(trail, statement)
    reference = await verify_records(iter_records(trail))
    assert not reference.ok
    for batch in (1, 5, 5000):
        assert await verify_rows(iter_rows(trail, batch=batch)) == reference


async def test_a_time_sqlite_stores_unusually_is_read_as_the_orm_reads_it(tmp_path):
    trail = create_engine(f"sqlite:///{tmp_path / 'odd-time.db'}")
    await migrate.upgrade(trail)
    await write_chain(trail, 20)
    async with trail.connect() as connection:
        stored = (
            await connection.execute(text("SELECT at FROM audit_events WHERE seq = 5"))
        ).scalar_one()
    await tamper(trail, "UPDATE audit_events SET at = :at WHERE seq = 5", at=stored[:19])
    old, new = await both_exports(trail, "csv", AuditFilter())
    assert new == old
    assert await verify_rows(iter_rows(trail)) == await verify_records(iter_records(trail))
    await trail.dispose()


SET_DETAILS = "UPDATE audit_events SET details = :body WHERE seq = :seq"


@pytest.mark.slow
async def test_details_are_stored_as_the_chain_hashes_them_and_older_rows_still_verify(trail):
    """New rows hold the canonical text (verify hashes it unconverted); rows written before,
    with the driver's json.dumps (spaces, keys unsorted, \\u escapes), verify the same."""
    from bot.core.audit import canonical_details

    async with trail.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT seq, CAST(details AS TEXT) FROM audit_events ORDER BY seq")
            )
        ).all()
    assert all(canonical_details(body) == body for _, body in stored)
    assert any("é" in body for _, body in stored)
    # every third row as an older version of the bot wrote it (json.dumps's form)
    for seq, body in stored[::3]:
        old = json.dumps(json.loads(body), ensure_ascii=True)
        old = json.dumps(dict(reversed(json.loads(old).items())))
        await tamper(trail, SET_DETAILS, body=old, seq=seq)
    for batch in (1, 7, 5000):
        report = await verify_rows(iter_rows(trail, batch=batch))
        assert report.ok and report.count == COUNT
    # and an edit of the text is still found, whichever form the row before it had
    await tamper(trail, SET_DETAILS, body='{"a":2}', seq=101)
    reference = await verify_records(iter_records(trail))
    assert not reference.ok and reference.broken.seq == 101
    for batch in (1, 7, 5000):
        assert await verify_rows(iter_rows(trail, batch=batch)) == reference
