"""Repositories on both databases: the one-active-release lock, optimistic revisions, the audit
chain under concurrent writers, outbox idempotency keys."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.core.audit import AuditEvent
from bot.core.catalog import StrategyName
from bot.core.clock import ManualClock
from bot.core.ports import ConcurrentUpdate, LockHeld, Outbound
from bot.core.release import Release, State
from bot.core.stages import Stage
from bot.services.audit_trail import verify_records
from bot.storage.audit_reader import iter_records
from bot.storage.database import session_factory
from bot.storage.tables import OutboxRow
from bot.storage.unit_of_work import SqlUnitOfWork

CLOCK = ManualClock()


def uow(engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(session_factory(engine), CLOCK)


def release(service="checkout", environment="production", state=State.AWAITING_CI) -> Release:
    return Release(
        service=service,
        environment=environment,
        strategy=StrategyName.CANARY,
        version_to="v2",
        version_from="v1",
        requested_by="U0ALICE",
        channel="C0DEPLOYS",
        stages=(Stage.step("weight", "100%", 100),),
        created_at=CLOCK.now(),
        state=state,
    )


async def test_a_release_round_trips(engine):
    async with uow(engine) as work:
        saved = await work.releases.add(release())
        await work.commit()
    async with uow(engine) as work:
        loaded = await work.releases.get(saved.id)
    assert loaded == replace(saved, updated_at=saved.created_at)


async def test_one_active_release_per_service_and_environment(engine):
    async with uow(engine) as work:
        await work.releases.add(release())
        await work.commit()
    async with uow(engine) as work:
        with pytest.raises(LockHeld):
            await work.releases.add(release())
        other = await work.releases.add(release(environment="staging"))
        await work.commit()
    assert other.id is not None


async def test_finished_releases_free_the_lock(engine):
    async with uow(engine) as work:
        first = await work.releases.add(release())
        await work.commit()
    async with uow(engine) as work:
        loaded = await work.releases.get(first.id, for_update=True)
        await work.releases.save(replace(loaded, state=State.SUCCEEDED))
        second = await work.releases.add(release())
        await work.commit()
    async with uow(engine) as work:
        active = await work.releases.active_for(second.service, second.environment)
    assert second.id != first.id and active is not None and active.id == second.id


async def test_a_stale_save_is_refused(engine):
    async with uow(engine) as work:
        saved = await work.releases.add(release())
        await work.commit()
    async with uow(engine) as first:
        stale = await first.releases.get(saved.id)
        await first.commit()
    async with uow(engine) as second:
        fresh = await second.releases.get(saved.id)
        await second.releases.save(replace(fresh, state=State.RUNNING))
        await second.commit()
    async with uow(engine) as third:
        third.releases._revisions[saved.id] = 0  # what `first` saw
        with pytest.raises(ConcurrentUpdate):
            await third.releases.save(replace(stale, state=State.PAUSED))


async def test_concurrent_audit_appends_form_one_unbroken_chain(engine):
    async def append(n: int) -> None:
        async with uow(engine) as work:
            await work.audit.append(AuditEvent(at=CLOCK.now(), actor_id=f"U{n}", action="test"))
            await work.commit()

    await asyncio.gather(*(append(n) for n in range(20)))
    report = await verify_records(iter_records(engine))
    assert report.ok and report.count == 20 and report.head_seq == 20


async def test_text_no_database_keeps_is_replaced_before_it_is_hashed(engine):
    """NUL (PostgreSQL refuses it) and a lone surrogate (not UTF-8) from any caller: the row is
    written, reads back as hashed, and the chain holds."""
    odd = "a\x00b\ud800c"
    async with uow(engine) as work:
        await work.audit.append(
            AuditEvent(
                at=CLOCK.now(),
                actor_id="U0BOB",
                action="test",
                reason=odd,
                details={"text": odd, odd: [odd]},
                approvers=(odd,),
            )
        )
        await work.commit()
    (record,) = [r async for r in iter_records(engine)]
    kept = "a\ufffdb\ufffdc"
    assert record.event.reason == kept and record.event.details == {"text": kept, kept: [kept]}
    assert record.event.approvers == (kept,)
    assert (await verify_records(iter_records(engine))).ok


async def test_an_outbox_key_is_written_once(engine):
    message = Outbound("thread", "thread:1:x", "thread_fact", {"summary": "hi"}, release_id=1)
    async with uow(engine) as work:
        await work.outbox.enqueue(message)
        await work.outbox.enqueue(message)
        await work.commit()
    async with engine.connect() as connection:
        count = (await connection.execute(select(func.count()).select_from(OutboxRow))).scalar_one()
    assert count == 1


async def test_nothing_is_kept_when_the_transaction_fails_midway(engine):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with uow(engine) as work:
            await work.releases.add(release())
            await work.outbox.enqueue(Outbound("status", "status:1", release_id=1))
            await work.audit.append(AuditEvent(at=CLOCK.now(), actor_id="U1", action="x"))
            raise Boom
    async with uow(engine) as work:
        assert await work.releases.active() == []
    report = await verify_records(iter_records(engine))
    assert report.count == 0
