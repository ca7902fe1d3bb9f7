"""The DORA metrics from SQL aggregates equal bot.core.dora.compute (the specification) over
the releases loaded as before, on random histories, on SQLite and PostgreSQL: to the last bit
of every float, the bases in words included."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.benchmarks.dora import PRODUCTION, history, loaded_report, sql_report, write_history
from bot.core.dora import ReleaseFacts, weeks
from bot.storage.database import session_factory
from bot.storage.repositories import SqlReleases

UNTIL = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_aggregates_equal_the_specification(engine, seed):
    await write_history(engine, history(400, until=UNTIL, days=60, seed=seed, services=4))
    rng = random.Random(seed)
    windows = [(UNTIL - timedelta(days=60), UNTIL, None)]
    for _ in range(6):
        since = UNTIL - timedelta(days=rng.randrange(1, 75), seconds=rng.randrange(86400))
        until = since + timedelta(days=rng.randrange(1, 40), hours=rng.randrange(24))
        windows.append((since, until, rng.choice((None, "service-1", "service-3", "nobody"))))
    for since, until, service in windows:
        expected = await loaded_report(engine, since, until, service)
        assert await sql_report(engine, since, until, service) == expected
        async with session_factory(engine)() as session:
            repository = SqlReleases(session)
            loaded = await repository.finished_in(PRODUCTION, since, service)
            by_week = await repository.dora_weeks(PRODUCTION, since, until, service)
        assert by_week == weeks([ReleaseFacts.of(r) for r in loaded], since, until)
    whole = windows[0]
    assert (await sql_report(engine, *whole)).metric("time_to_restore").value is not None


async def test_an_empty_history_and_a_window_of_one_week_exactly(engine):
    since = UNTIL - timedelta(days=14)
    assert await sql_report(engine, since, UNTIL, None) == await loaded_report(
        engine, since, UNTIL, None
    )
    await write_history(engine, history(50, until=UNTIL, days=14, seed=9, services=2))
    async with session_factory(engine)() as session:
        repository = SqlReleases(session)
        loaded = await repository.finished_in(PRODUCTION, since, None)
        by_week = await repository.dora_weeks(PRODUCTION, since, UNTIL, None)
    assert len(by_week) == 2
    assert by_week == weeks([ReleaseFacts.of(r) for r in loaded], since, UNTIL)
