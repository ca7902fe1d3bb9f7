"""`releasebot bench-dora`: the DORA report over a year of production releases, computed by
the database's aggregates, beside (with --baseline) what it took before: loading every
release of the window and computing the metrics in Python.

`history` makes a random release history; tests/storage/test_dora_queries.py uses it to hold
the aggregates equal to bot.core.dora.compute."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text

from bot.benchmarks.scratch import scratch_database
from bot.core.catalog import Bands, StrategyName
from bot.core.dora import DoraReport, ReleaseFacts, compute, report
from bot.core.release import Release, State
from bot.core.stages import Stage, StageKind, StageStatus
from bot.storage import migrate, release_codec
from bot.storage.database import create_engine, session_factory
from bot.storage.repositories import SqlReleases
from bot.storage.tables import ReleaseRow

PRODUCTION = ("production", "production-eu")
TERMINAL = (
    State.SUCCEEDED,
    State.SUCCEEDED,
    State.SUCCEEDED,
    State.FAILED,
    State.ROLLED_BACK,
    State.ABORTED,
    State.REJECTED,
)


def history(
    count: int, *, until: datetime, days: int = 365, seed: int = 11, services: int = 20
) -> Iterator[Release]:
    """Finished releases spread over `days` (and a little past both ends), some to staging,
    some at the same instant, some that never moved traffic, commit times missing, after the
    finish (clock skew) or in another zone."""
    rng = random.Random(seed)
    span = int(timedelta(days=days + 20).total_seconds())
    start = until - timedelta(days=days + 10)
    bake = Stage.bake("bake", 60, True).numbered(1)
    previous = start
    for n in range(count):
        if n and rng.random() < 0.05:
            finished = previous  # a tie
        else:
            finished = start + timedelta(
                seconds=rng.randrange(span), microseconds=rng.randrange(10**6)
            )
        previous = finished
        state = rng.choice(TERMINAL)
        moved = state in (State.SUCCEEDED, State.FAILED, State.ROLLED_BACK) or rng.random() < 0.2
        started = finished - timedelta(minutes=rng.randrange(1, 90))
        stages = (
            Stage(
                index=0,
                kind=StageKind.STEP,
                label="100%",
                action="weight",
                percent=100,
                status=StageStatus.SUCCEEDED if moved else StageStatus.PENDING,
                started_at=started if moved else None,
            ),
            bake,
        )
        roll = rng.random()
        if roll < 0.15:
            committed = None
        elif roll < 0.2:
            committed = finished + timedelta(minutes=rng.randrange(0, 30))  # skew, or zero
        elif roll < 0.3:
            zone = timezone(timedelta(hours=rng.choice((-7, 2, 9))))
            committed = (finished - timedelta(seconds=rng.randrange(1, 10**6))).astimezone(zone)
        else:
            committed = finished - timedelta(seconds=rng.randrange(1, 10**6), microseconds=n % 7)
        environment = (
            rng.choice(PRODUCTION) if rng.random() < 0.8 else rng.choice(("staging", "dev"))
        )
        yield Release(
            service=f"service-{rng.randrange(services)}",
            environment=environment,
            strategy=StrategyName.CANARY,
            version_to=f"v{n}",
            version_from=f"v{n - 1}",
            requested_by="U0ALICE",
            channel="C0DEPLOYS",
            stages=stages,
            created_at=started - timedelta(minutes=5),
            updated_at=finished,
            finished_at=finished,
            state=state,
            committed_at=committed,
        )


async def write_history(engine, releases: Iterator[Release], batch: int = 2000) -> int:
    count = 0
    rows = []
    async with engine.begin() as connection:
        for release in releases:
            rows.append(release_codec.row_values(release))
            if len(rows) >= batch:
                await connection.execute(insert(ReleaseRow), rows)
                count += len(rows)
                rows = []
        if rows:
            await connection.execute(insert(ReleaseRow), rows)
            count += len(rows)
    return count


async def loaded_report(
    engine, since: datetime, until: datetime, service: str | None, bands: Bands | None = None
) -> DoraReport:
    """How the report was made before the aggregates: every release of the window loaded."""
    async with session_factory(engine)() as session:
        releases = await SqlReleases(session).finished_in(PRODUCTION, since, service)
    facts = [ReleaseFacts.of(r) for r in releases]
    return compute(facts, since=since, until=until, service=service, bands=bands)


async def sql_report(
    engine, since: datetime, until: datetime, service: str | None, bands: Bands | None = None
) -> DoraReport:
    async with session_factory(engine)() as session:
        totals = await SqlReleases(session).dora_totals(PRODUCTION, since, until, service)
    return report(totals, since=since, until=until, service=service, bands=bands)


@dataclass(frozen=True)
class DoraBench:
    backend: str
    releases: int
    in_window: int
    sql_ms: list[float]
    weeks_ms: list[float]
    baseline_s: float | None
    same: bool | None

    def report(self) -> str:
        best = min(self.sql_ms)
        lines = [
            f"{self.releases:,} releases on {self.backend} ({self.in_window:,} production "
            "releases in the 365-day window)",
            f"DORA report, SQL aggregates: best {best:.0f} ms, median "
            f"{sorted(self.sql_ms)[len(self.sql_ms) // 2]:.0f} ms of {len(self.sql_ms)} runs; "
            f"weekly counts (web page): best {min(self.weeks_ms):.0f} ms",
        ]
        if self.baseline_s is not None:
            lines.append(
                f"before (load every release, compute in Python): {self.baseline_s:.2f} s; "
                f"ratio {self.baseline_s * 1000 / best:,.0f}x; "
                f"same report: {'yes' if self.same else 'NO'}"
            )
        return "\n".join(lines)


async def run_dora_bench(
    database_url: str, releases: int, runs: int = 5, baseline: bool = False
) -> DoraBench:
    """On PostgreSQL in a scratch schema; on SQLite in the file given (made afresh)."""
    until = datetime(2026, 12, 1, tzinfo=UTC)
    since = until - timedelta(days=365)
    postgres = database_url.startswith("postgres")
    async with scratch_database(database_url, sqlite_file=database_url) as scratch:
        engine = create_engine(scratch.url)
        try:
            await migrate.upgrade(engine)
            await write_history(engine, history(releases, until=until))
            # as autovacuum leaves a table that is written to (PostgreSQL's index-only scans need
            # its visibility map); statistics for the planner on both
            async with engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
            async with engine.begin() as connection:
                in_window = (
                    await connection.execute(
                        select(func.count())
                        .select_from(ReleaseRow)
                        .where(
                            ReleaseRow.environment.in_(PRODUCTION),
                            ReleaseRow.finished_at >= since,
                            ReleaseRow.finished_at <= until,
                        )
                    )
                ).scalar_one()
            sql_ms, weeks_ms = [], []
            made = None
            for _ in range(runs):
                began = time.perf_counter()
                made = await sql_report(engine, since, until, None)
                sql_ms.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                async with session_factory(engine)() as session:
                    await SqlReleases(session).dora_weeks(PRODUCTION, since, until, None)
                weeks_ms.append((time.perf_counter() - began) * 1000)
            baseline_s = same = None
            if baseline:
                began = time.perf_counter()
                before = await loaded_report(engine, since, until, None)
                baseline_s = time.perf_counter() - began
                same = before == made
            return DoraBench(
                "PostgreSQL" if postgres else "SQLite",
                releases,
                int(in_window),
                sql_ms,
                weeks_ms,
                baseline_s,
                same,
            )
        finally:
            await engine.dispose()
