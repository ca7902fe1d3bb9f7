"""Streams audit records in sequence order, in batches, so exports run in flat memory.

`iter_rows` is what exports and `audit verify` read: plain tuples as bot.core.audit.RAW lays
them out, straight from the driver's cursor (a server-side cursor on PostgreSQL), with no
object or type conversion per row beyond the driver's own. `iter_records` builds an
AuditRecord per row, for the timeline and for code that wants events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, Text, case, cast, func, literal_column, select, type_coerce
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.audit import AuditEvent, AuditRecord, format_time
from bot.storage.tables import AuditRow, UTCDateTime


@dataclass(frozen=True)
class AuditFilter:
    since: datetime | None = None
    until: datetime | None = None
    service: str | None = None
    environment: str | None = None
    actor: str | None = None  # a Slack user ID
    action: str | None = None  # exact, or a prefix ending in "." or "*": "release.*"

    @property
    def empty(self) -> bool:
        return not (
            self.since
            or self.until
            or self.service
            or self.environment
            or self.actor
            or self.action
        )


async def iter_records(
    engine: AsyncEngine, where: AuditFilter = AuditFilter(), batch: int = 2000
) -> AsyncIterator[AuditRecord]:
    last = 0
    while True:
        query = _filtered(
            select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch), where
        )
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        if not rows:
            return
        for row in rows:
            yield to_record(row)
        last = rows[-1].seq


async def iter_rows(
    engine: AsyncEngine, where: AuditFilter = AuditFilter(), batch: int = 5000, after: int = 0
) -> AsyncIterator[Sequence[Sequence[Any]]]:
    """The records after sequence `after`, in order, as raw rows (bot.core.audit.RAW), `batch`
    at a time.
    Each batch is its own short query (by sequence number, on the primary key), as
    `iter_records` reads, so a long export never holds SQLite's write lock. The query is
    compiled by SQLAlchemy and run on the driver's own connection, whose rows are already
    tuples (half the cost of the result layer's rows); the next batch is read while the
    caller works on this one."""
    postgres = engine.dialect.name == "postgresql"
    columns = select(*_raw_columns(postgres)).order_by(AuditRow.seq).limit(batch)

    async def read(after: int) -> list[Sequence[Any]]:
        query = _filtered(columns.where(AuditRow.seq > after), where)
        async with engine.connect() as connection:
            rows = await _driver_rows(connection, query)
            if not postgres:
                rows = await _fix_sqlite_times(connection, rows)
        return rows

    pending = asyncio.ensure_future(read(after))
    try:
        while True:
            rows = await pending
            if not rows:
                return
            pending = asyncio.ensure_future(read(rows[-1][0]))
            yield rows
    finally:
        if not pending.done():
            await asyncio.wait([pending])  # let the read in flight finish, then drop it
        if not pending.cancelled():
            pending.exception()  # retrieved, so an abandoned read's error is not logged


async def _driver_rows(connection: AsyncConnection, query: Select) -> list[Sequence[Any]]:
    """`query`'s rows as the DBAPI driver returns them (tuples), parameters converted by
    their SQLAlchemy types as `execute` would."""
    compiled = query.compile(dialect=connection.dialect)
    values = compiled.construct_params()
    processors = compiled._bind_processors
    for name, process in processors.items():
        if name in values:
            values[name] = process(values[name])
    driver = (await connection.get_raw_connection()).driver_connection
    if compiled.positiontup is not None:  # SQLite (aiosqlite): qmark
        params = tuple(values[name] for name in compiled.positiontup)
        async with driver.execute(compiled.string, params) as cursor:  # type: ignore[union-attr]
            return list(await cursor.fetchall())
    async with driver.cursor() as cursor:  # type: ignore[union-attr]
        await cursor.execute(compiled.string, values)
        return await cursor.fetchall()


def _raw_columns(postgres: bool) -> list[Any]:
    columns: list[Any] = [getattr(AuditRow, name) for name in RAW_NAMES]
    if postgres:
        columns[2] = func.to_char(
            literal_column("audit_events.at AT TIME ZONE 'UTC'"), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
        )
        columns[15] = cast(AuditRow.details, Text)
    else:
        at = type_coerce(AuditRow.at, String)
        columns[2] = case(
            (at.op("GLOB")(_SQLITE_TIME), func.substr(at, 1, 10) + "T" + func.substr(at, 12) + "Z")
        )
        columns[15] = type_coerce(AuditRow.details, Text)
    return columns


RAW_NAMES = (
    "seq", "event_id", "at", "actor_id", "actor_name", "action", "outcome", "service",
    "environment", "release_id", "version_from", "version_to", "rule", "reason", "approvers",
    "details", "prev_hash", "hash",
)  # fmt: skip

# How SQLAlchemy stores a UTC time in SQLite, which SQLite itself turns into `format_time`'s
# text; any other text (NULL then) is converted in Python as the ORM would.
_SQLITE_TIME = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].%s" % (
    "[0-9]" * 6
)


async def _fix_sqlite_times(
    connection: AsyncConnection, rows: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    if all(row[2] is not None for row in rows):
        return rows
    parse = sqlite.DATETIME().result_processor(connection.dialect, None)
    fixed: list[Sequence[Any]] = []
    for row in rows:
        if row[2] is None:
            stored = await connection.scalar(
                select(type_coerce(AuditRow.at, String)).where(AuditRow.seq == row[0])
            )
            at = format_time(UTCDateTime().process_result_value(parse(stored), connection.dialect))
            row = (*row[:2], at, *row[3:])
        fixed.append(row)
    return fixed


def _filtered(query: Select, where: AuditFilter) -> Select:
    if where.since:
        query = query.where(AuditRow.at >= where.since)
    if where.until:
        query = query.where(AuditRow.at < where.until)
    if where.service:
        query = query.where(AuditRow.service == where.service)
    if where.environment:
        query = query.where(AuditRow.environment == where.environment)
    if where.actor:
        query = query.where(AuditRow.actor_id == where.actor)
    if where.action:
        prefix = where.action.rstrip("*")
        query = query.where(
            AuditRow.action.startswith(prefix, autoescape=True)
            if where.action.endswith(("*", "."))
            else AuditRow.action == where.action
        )
    return query


def to_record(row) -> AuditRecord:
    return AuditRecord(
        seq=row.seq,
        event_id=row.event_id,
        event=AuditEvent(
            at=row.at,
            actor_id=row.actor_id,
            actor_name=row.actor_name,
            action=row.action,
            outcome=row.outcome,
            service=row.service,
            environment=row.environment,
            release_id=row.release_id,
            version_from=row.version_from,
            version_to=row.version_to,
            rule=row.rule,
            reason=row.reason,
            details=row.details,
            approvers=tuple(row.approvers.split()),
        ),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditEvents:
    """The AuditEvents port: one release's records, for its timeline."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def for_release(self, release_id: int) -> list[AuditRecord]:
        query = select(AuditRow).where(AuditRow.release_id == release_id).order_by(AuditRow.seq)
        async with self._engine.connect() as connection:
            return [to_record(row) for row in (await connection.execute(query)).all()]

    async def names(self, user_ids: Collection[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        newest = (
            select(AuditRow.actor_id, func.max(AuditRow.seq).label("seq"))
            .where(AuditRow.actor_id.in_(sorted(user_ids)), AuditRow.actor_name != "")
            .group_by(AuditRow.actor_id)
            .subquery()
        )
        query = select(AuditRow.actor_id, AuditRow.actor_name).join(
            newest, AuditRow.seq == newest.c.seq
        )
        async with self._engine.connect() as connection:
            return dict((await connection.execute(query)).all())
