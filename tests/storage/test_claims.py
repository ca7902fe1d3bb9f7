"""Due work is claimed by one engine at a time: SKIP LOCKED on PostgreSQL, one writer on
SQLite; leases let another replica take over a crashed claim; only the owner finishes it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.clock import ManualClock
from bot.core.catalog import StrategyName
from bot.core.ports import Outbound
from bot.core.release import Release
from bot.core.stages import Stage
from bot.storage.claims import OutboxClaims, ReleaseClaims
from bot.storage.database import session_factory
from bot.storage.unit_of_work import SqlUnitOfWork


async def seed_due_releases(engine, clock: ManualClock, count: int) -> list[int]:
    ids = []
    for n in range(count):
        async with SqlUnitOfWork(session_factory(engine), clock) as work:
            release = Release(
                service=f"svc{n}",
                environment="staging",
                strategy=StrategyName.CANARY,
                version_to="v2",
                version_from="v1",
                requested_by="U0ALICE",
                channel="C0DEPLOYS",
                stages=(Stage.step("weight", "100%", 100),),
                created_at=clock.now(),
                due_at=clock.now(),
            )
            ids.append((await work.releases.add(release)).id)
            await work.commit()
    return ids


async def test_replicas_claiming_at_once_never_share_a_release(engine):
    clock = ManualClock()
    ids = await seed_due_releases(engine, clock, 30)
    sessions = session_factory(engine)
    replicas = [ReleaseClaims(sessions, clock, f"replica-{n}") for n in range(3)]
    claimed = await asyncio.gather(*(r.claim_due(limit=7) for r in replicas for _ in range(2)))
    flat = [c.id for batch in claimed for c in batch]
    assert len(flat) == len(set(flat)), "a release was claimed by two replicas"
    assert set(flat) <= set(ids)


async def test_a_lease_expires_and_only_the_owner_finishes(engine):
    clock = ManualClock()
    (release_id,) = await seed_due_releases(engine, clock, 1)
    sessions = session_factory(engine)
    crashed, healthy = (
        ReleaseClaims(sessions, clock, "a", lease_s=60),
        ReleaseClaims(sessions, clock, "b"),
    )
    (first,) = await crashed.claim_due()
    assert first.id == release_id
    assert await healthy.claim_due() == []
    clock.advance(61)
    (taken,) = await healthy.claim_due()
    assert taken.id == release_id and taken.attempts == 2
    await crashed.retry_at(first, clock.now() + timedelta(seconds=1))  # too late: ignored
    assert await crashed.claim_due() == []
    await healthy.done(release_id)
    assert await healthy.claim_due() != []  # still due: nothing moved it


async def test_outbox_rows_are_claimed_once_and_superseded_status_rows_skipped(engine):
    clock = ManualClock()
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, clock) as work:
        for n in range(3):
            await work.outbox.enqueue(Outbound("status", f"status:1:{n}", "status", release_id=1))
        await work.commit()
    a, b = OutboxClaims(sessions, clock, "a"), OutboxClaims(sessions, clock, "b")
    first, second = await asyncio.gather(a.claim_due(), b.claim_due())
    ids = [i.id for i in first + second]
    assert sorted(ids) == [1, 2, 3] and len(set(ids)) == 3
    newest = max(first + second, key=lambda item: item.id)
    owner = a if newest in first else b
    await owner.sent(replace(newest), "1.0")
    clock.advance(120)
    assert [i.key for i in await a.claim_due()] == [], "superseded rows must not be sent again"


async def test_a_retry_does_not_overwrite_a_time_someone_set_meanwhile(engine):
    """The engine's call failed while a person clicked: their schedule stands."""
    clock = ManualClock()
    (release_id,) = await seed_due_releases(engine, clock, 1)
    sessions = session_factory(engine)
    claims = ReleaseClaims(sessions, clock, "engine")
    (claim,) = await claims.claim_due()
    async with SqlUnitOfWork(sessions, clock) as work:  # a click reschedules the release
        release = await work.releases.get(release_id, for_update=True)
        await work.releases.save(replace(release, due_at=clock.now() + timedelta(seconds=2)))
        await work.commit()
    await claims.retry_at(claim, clock.now() + timedelta(seconds=300))
    clock.advance(2)
    (again,) = await claims.claim_due()
    assert again.id == release_id and again.attempts == 1, "the click's time and fresh attempts"


async def test_a_retry_moves_the_due_time_when_nobody_else_did(engine):
    clock = ManualClock()
    (release_id,) = await seed_due_releases(engine, clock, 1)
    claims = ReleaseClaims(session_factory(engine), clock, "engine")
    (claim,) = await claims.claim_due()
    await claims.retry_at(claim, clock.now() + timedelta(seconds=30))
    clock.advance(29)
    assert await claims.claim_due() == []
    clock.advance(1)
    (again,) = await claims.claim_due()
    assert again.attempts == 2
