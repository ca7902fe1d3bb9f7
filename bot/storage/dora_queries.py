"""The DORA metrics as SQL aggregates over production releases (no release is loaded): the
counts, and for each median only the middle one or two durations, found by the database in
exact microseconds and turned into hours in Python as bot.core.dora does, so the figures are
the same to the last bit. Indexes: (environment, finished_at) for the window, (service, state,
finished_at) for a failure's next success (migration 0008)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.dora import FAILED_STATES, DoraTotals, Middle, week_starts, weekly
from bot.core.release import State
from bot.storage.tables import UTCDateTime

_FAILED = "('" + "','".join(sorted(s.value for s in FAILED_STATES)) + "')"
_SUCCEEDED = f"'{State.SUCCEEDED.value}'"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WEEK_US = 7 * 86400 * 1_000_000


def _micros(column: str, dialect: str) -> str:
    """`column` (a UTC time) as integer microseconds since 1970, exactly."""
    if dialect == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" in SQLite.
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


def _window(service: str | None) -> str:
    return (
        "r.environment IN :environments AND r.finished_at >= :since AND r.finished_at <= :until"
        + (" AND r.service = :service" if service else "")
    )


def _middle_of(durations: str) -> str:
    """The middle row(s) of `durations` (start, end, id) ordered by end - start."""
    return f"""
        SELECT start_at, end_at, n FROM (
            SELECT start_at, end_at, COUNT(*) OVER () AS n,
                   ROW_NUMBER() OVER (ORDER BY micros_end - micros_start, id) AS k
            FROM ({durations}) AS durations
        ) AS ranked
        WHERE k = (n + 1) / 2 OR k = n / 2 + 1
        ORDER BY k"""


async def totals(
    session: AsyncSession,
    environments: Sequence[str],
    since: datetime,
    until: datetime,
    service: str | None,
) -> DoraTotals:
    dialect = session.bind.dialect.name
    params = {"environments": list(environments), "since": since, "until": until}
    if service:
        params["service"] = service
    window = _window(service)
    counts = f"""
        SELECT
          COALESCE(SUM(CASE WHEN r.state = {_SUCCEEDED} THEN 1 ELSE 0 END), 0),
          COUNT(*),
          COALESCE(SUM(CASE WHEN r.state IN {_FAILED} THEN 1 ELSE 0 END), 0)
        FROM releases r WHERE {window} AND r.moved_traffic"""
    lead = _middle_of(
        f"""SELECT r.id, r.committed_at AS start_at, r.finished_at AS end_at,
                   {_micros("r.committed_at", dialect)} AS micros_start,
                   {_micros("r.finished_at", dialect)} AS micros_end
            FROM releases r
            WHERE {window} AND r.moved_traffic AND r.state = {_SUCCEEDED}
              AND r.committed_at IS NOT NULL AND r.finished_at > r.committed_at"""
    )
    restored = f"""
        SELECT MIN(s.finished_at) FROM releases s
        WHERE s.service = r.service AND s.state = {_SUCCEEDED}
          AND s.environment IN :environments AND s.finished_at > r.finished_at"""
    restore = _middle_of(
        f"""SELECT id, start_at, end_at,
                   {_micros("start_at", dialect)} AS micros_start,
                   {_micros("end_at", dialect)} AS micros_end
            FROM (SELECT r.id, r.finished_at AS start_at, ({restored}) AS end_at
                  FROM releases r
                  WHERE {window} AND r.moved_traffic AND r.state IN {_FAILED}) AS failures
            WHERE end_at IS NOT NULL"""
    )
    succeeded, deployed, failed = (await session.execute(_query(counts), params)).one()
    return DoraTotals(
        succeeded=int(succeeded),
        deployed=int(deployed),
        failed=int(failed),
        lead_hours=await _middle(session, lead, params),
        restore_hours=await _middle(session, restore, params),
    )


async def weeks(
    session: AsyncSession,
    environments: Sequence[str],
    since: datetime,
    until: datetime,
    service: str | None,
) -> list[dict]:
    """As bot.core.dora.weeks over the same releases."""
    dialect = session.bind.dialect.name
    starts = week_starts(since, until)
    params = {
        "environments": list(environments),
        "since": since,
        "until": until,
        "since_us": (since - EPOCH) // timedelta(microseconds=1),
    }
    if service:
        params["service"] = service
    query = f"""
        SELECT ({_micros("r.finished_at", dialect)} - :since_us) / {WEEK_US} AS week,
          SUM(CASE WHEN r.state = {_SUCCEEDED} THEN 1 ELSE 0 END),
          SUM(CASE WHEN r.moved_traffic AND r.state IN {_FAILED} THEN 1 ELSE 0 END)
        FROM releases r WHERE {_window(service)}
        GROUP BY 1"""
    counts = [[0, 0] for _ in starts]
    for week, succeeded, failed in await session.execute(_query(query), params):
        index = min(int(week), len(starts) - 1)
        counts[index][0] += int(succeeded)
        counts[index][1] += int(failed)
    return weekly(starts, counts)


def _query(sql: str):
    times = [bindparam(name, type_=UTCDateTime()) for name in ("since", "until")]
    return text(sql).bindparams(bindparam("environments", expanding=True), *times)


async def _middle(session: AsyncSession, sql: str, params: dict) -> Middle:
    query = _query(sql).columns(start_at=UTCDateTime(), end_at=UTCDateTime())
    rows = (await session.execute(query, params)).all()
    if not rows:
        return Middle(0)
    hours = tuple((end - start).total_seconds() / 3600 for start, end, _ in rows)
    return Middle(int(rows[0][2]), hours)
