"""The DORA metrics as SQL aggregates over production releases (no release is loaded): the
counts, and for each median only the middle one or two durations, found by the database in
exact microseconds and turned into hours in Python as bot.core.dora does, so the figures are
the same to the last bit. The report is one statement over one index-only scan
(ix_releases_dora, migration 0009); the weekly counts use the same index."""

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


def _report_sql(dialect: str, service: str | None) -> str:
    """One statement, one pass over the production releases finished since the window opened
    (an index-only scan of ix_releases_dora): the counts, then for lead time (kind 1) and time
    to restore (kind 2) the middle one or two durations in microseconds, with how many there
    are. A failure's next success comes from a running minimum over the same rows, latest
    first (successes after failures at the same instant, so only later ones count), not from
    a query per failure."""
    if dialect == "postgresql":
        micros = "CAST(EXTRACT(EPOCH FROM d) * 1000000 AS BIGINT)"

        def span(start: str, end: str) -> str:
            return f"{end} - {start}"

        partition = 'service COLLATE "C"'
    else:  # SQLite's times are text, in order; only the durations are made numbers
        micros = "d"

        def span(start: str, end: str) -> str:
            return f"{_micros(end, dialect)} - {_micros(start, dialect)}"

        partition = "service"
    return f"""
        WITH prod AS MATERIALIZED (
          SELECT r.service, r.state, r.moved_traffic AND r.finished_at <= :until AS counted,
                 r.finished_at AS at, r.committed_at AS committed
          FROM releases r
          WHERE r.environment IN :environments AND r.finished_at >= :since
            {"AND r.service = :service" if service else ""}
        ),
        spans AS (
          SELECT 1 AS kind, {span("committed", "at")} AS d FROM prod
          WHERE counted AND state = {_SUCCEEDED} AND at > committed
          UNION ALL
          SELECT 2, {span("at", "restored")} FROM (
            SELECT at, counted, state,
                   MIN(CASE WHEN state = {_SUCCEEDED} THEN at END) OVER (
                     PARTITION BY {partition} ORDER BY at DESC, state = {_SUCCEEDED}
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS restored
            FROM prod
          ) AS next_success
          WHERE counted AND state IN {_FAILED} AND restored IS NOT NULL
        ),
        ranked AS (
          SELECT kind, d, COUNT(*) OVER (PARTITION BY kind) AS n,
                 ROW_NUMBER() OVER (PARTITION BY kind ORDER BY d) AS k
          FROM spans
        )
        SELECT 0, COALESCE(SUM(CASE WHEN state = {_SUCCEEDED} THEN 1 ELSE 0 END), 0), COUNT(*),
               COALESCE(SUM(CASE WHEN state IN {_FAILED} THEN 1 ELSE 0 END), 0)
        FROM prod WHERE counted
        UNION ALL
        SELECT kind, n, k, {micros} FROM ranked WHERE k = (n + 1) / 2 OR k = n / 2 + 1
        ORDER BY 1, 3"""


async def totals(
    session: AsyncSession,
    environments: Sequence[str],
    since: datetime,
    until: datetime,
    service: str | None,
) -> DoraTotals:
    params = {"environments": list(environments), "since": since, "until": until}
    if service:
        params["service"] = service
    rows = (
        await session.execute(_query(_report_sql(session.bind.dialect.name, service)), params)
    ).all()
    (_, succeeded, deployed, failed), spans = rows[0], rows[1:]
    middles = {
        kind: Middle(
            int(n),
            # as (end - start).total_seconds() / 3600: exact microseconds over 10**6, rounded once
            tuple(int(d) / 1_000_000 / 3600 for k, _, _, d in spans if k == kind),
        )
        for kind, n, _, _ in spans
    }
    return DoraTotals(
        succeeded=int(succeeded),
        deployed=int(deployed),
        failed=int(failed),
        lead_hours=middles.get(1, Middle(0)),
        restore_hours=middles.get(2, Middle(0)),
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
