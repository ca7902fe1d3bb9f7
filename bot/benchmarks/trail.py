"""A valid audit chain of any length, sealed by the core as the bot seals it, for the verify
and export benchmarks and for the tests that compare the fast paths with the reference ones.

The events are varied on purpose: unicode, commas, quotes, newlines, cells a spreadsheet
would run as formulas, empty strings, no release (NULL), approvers, nested JSON details with
unsorted keys, floats and NaN (kept as the string "NaN" by `seal`)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit import GENESIS_HASH, AuditEvent, AuditRecord, seal
from bot.storage.repositories import audit_row
from bot.storage.tables import AuditHeadRow, AuditRow

START = datetime(2026, 1, 1, tzinfo=UTC)
ACTIONS = (
    "slack.deploy",
    "release.approved",
    "stage.started",
    "stage.succeeded",
    "analysis.passed",
    "release.succeeded",
)
ODD_TEXT = (
    "",
    "plain",
    "with, a comma",
    'with "quotes"',
    "two\nlines",
    "carriage\r\nreturn",
    "=SUM(A1:A9)",
    "+1 for this",
    "-rf",
    "@here",
    "\tleading tab",
    "déjà vu — ünïcödé ✓ 🚀",
    "back\\slash and \x01 control",
    " padded ",
)


def _details(rng: random.Random, n: int) -> dict[str, Any]:
    shape = n % 7
    if shape == 0:
        return {}
    if shape == 1:
        return {"stage": f"{(n % 5) * 25}%", "n": n}
    if shape == 2:
        return {"z": 1, "a": [1, 2.5, None, True], "m": {"y": "é", "b": "x"}}
    if shape == 3:
        return {"reason": rng.choice(ODD_TEXT), "ratio": rng.random(), "big": 10**20 + n}
    if shape == 4:
        return {"nan": float("nan"), "inf": float("inf"), "when": START.isoformat()}
    if shape == 5:
        return {"filters": {"since": None, "service": "checkout"}, "format": "csv"}
    return {"ü": "ключ", "neg": -n, "nested": [{"b": 1, "a": 2}], "e": 1e-7}


def events(count: int, *, seed: int = 7, varied: bool = True) -> Iterator[AuditEvent]:
    """`varied=False` gives plainer events (like the export benchmark's), still unique."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        at = START + timedelta(seconds=n, microseconds=rng.randrange(1_000_000))
        if not varied:
            yield AuditEvent(
                at=at,
                actor_id=f"U0{n % 50}",
                actor_name=f"person {n % 50}",
                action=ACTIONS[n % 6],
                service=("checkout", "payments", "search", "web")[n % 4],
                environment=("staging", "production")[n % 2],
                release_id=n // 8,
                version_from=f"v1.{n // 800}",
                version_to=f"v1.{n // 800 + 1}",
                rule="rbac.deploy",
                reason=f"step {n} of the release, as the bot wrote it",
                details={"stage": f"{(n % 5) * 25}%", "n": n},
                approvers=("U0BOB",),
            )
            continue
        if n % 5 == 0:
            yield AuditEvent(
                at=at,
                actor_id="U0ALICE",
                actor_name='Alice, "the" approver',
                action="release.approved",
                release_id=n // 8,
                reason="ok by me\n",
                details={"b": {"d": 1, "c": [3, 2, 1]}, "a": "✓"},
                approvers=tuple(f"U0{k}" for k in range(n % 4)),
            )
            continue
        yield AuditEvent(
            at=at,
            actor_id=f"U0{n % 50}",
            actor_name=rng.choice(ODD_TEXT) if n % 3 else f"person {n % 50}",
            action=ACTIONS[n % 6],
            outcome=("ok", "refused", "failed")[n % 3],
            service=rng.choice(("checkout", "payments", "", "=cmd|' /C calc'!A0")),
            environment=("staging", "production", "")[n % 3],
            release_id=None if n % 4 == 0 else n // 8,
            version_from=rng.choice(("", "v1.2.3", "-1")),
            version_to=f"v1.{n // 800 + 1}",
            rule=("", "rbac.deploy", "freeze")[n % 3],
            reason=rng.choice(ODD_TEXT),
            details=_details(rng, n),
            approvers=("U0BOB", "U0CAROL") if n % 2 else (),
        )


def chain(count: int, *, seed: int = 7, varied: bool = True) -> Iterator[AuditRecord]:
    prev = (0, GENESIS_HASH)
    ids = random.Random(seed + 1)
    for event in events(count, seed=seed, varied=varied):
        record = seal(prev, str(uuid.UUID(int=ids.getrandbits(128))), event)
        prev = (record.seq, record.hash)
        yield record


async def write_chain(
    engine: AsyncEngine, count: int, *, seed: int = 7, varied: bool = True, batch: int = 5000
) -> tuple[int, str]:
    """Appends a fresh valid chain of `count` records to an empty, migrated database, moves
    the head to its end, and returns the head (seq, hash)."""
    head = (0, GENESIS_HASH)
    rows: list[dict[str, Any]] = []
    async with engine.begin() as connection:
        for record in chain(count, seed=seed, varied=varied):
            rows.append(audit_row(record))
            head = (record.seq, record.hash)
            if len(rows) >= batch:
                await connection.execute(insert(AuditRow), rows)
                rows = []
        if rows:
            await connection.execute(insert(AuditRow), rows)
        await connection.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == 1).values(seq=head[0], hash=head[1])
        )
    return head
