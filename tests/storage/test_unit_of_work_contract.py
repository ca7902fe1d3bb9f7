"""One contract, every unit of work: the in-memory one (what service tests use) and SQL on SQLite
and PostgreSQL. If memory and SQL disagree here, a service test could pass on a rule the bot
breaks in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.core.audit import AuditEvent, AuditRecord
from bot.core.catalog import StrategyName
from bot.core.clock import ManualClock
from bot.core.ports import ConcurrentUpdate, LockHeld, Outbound, UnitOfWork
from bot.core.release import Release, State
from bot.core.stages import Stage
from bot.services.audit_trail import verify_records
from bot.storage import migrate
from bot.storage.audit_reader import iter_records
from bot.storage.database import create_engine, session_factory
from bot.storage.memory import MemoryDatabase
from bot.storage.tables import InboxRow, OutboxRow
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.databases import postgres_database, sqlite_database
from tests.support.peers import missing, postgres_available


@dataclass
class Store:
    """A unit of work factory, and what a test reads back of the tables it wrote."""

    clock: ManualClock
    unit_of_work: Callable[[], UnitOfWork]
    audit: Callable[[], Awaitable[list[AuditRecord]]]
    outbox_keys: Callable[[], Awaitable[list[str]]]
    receive: Callable[[str], Awaitable[int]]


def memory_store() -> Store:
    clock = ManualClock()
    database = MemoryDatabase(clock)

    async def audit() -> list[AuditRecord]:
        return database.audit

    async def outbox_keys() -> list[str]:
        return [entry.message.key for entry in database.outbox]

    async def receive(key: str) -> int:
        item_id = await database.receive(key)
        assert item_id is not None
        return item_id

    return Store(clock, database.unit_of_work, audit, outbox_keys, receive)


async def sql_store(url: str) -> AsyncIterator[Store]:
    clock = ManualClock()
    engine = create_engine(url)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)

    async def audit() -> list[AuditRecord]:
        return [record async for record in iter_records(engine)]

    async def outbox_keys() -> list[str]:
        query = select(OutboxRow.key).where(OutboxRow.sent_at.is_(None)).order_by(OutboxRow.id)
        async with engine.connect() as connection:
            return list((await connection.execute(query)).scalars())

    async def receive(key: str) -> int:
        values = {"key": key, "payload": {}, "received_at": clock.now(), "due_at": clock.now()}
        async with engine.begin() as connection:
            result = await connection.execute(
                insert(InboxRow).values(**values).returning(InboxRow.id)
            )
            return result.scalar_one()

    try:
        yield Store(clock, lambda: SqlUnitOfWork(sessions, clock), audit, outbox_keys, receive)
    finally:
        await engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield memory_store()
        return
    if request.param == "sqlite":
        with sqlite_database(tmp_path) as url:
            async for made in sql_store(url):
                yield made
        return
    if (why := postgres_available()) is not None:
        missing(why)
    with postgres_database() as url:
        async for made in sql_store(url):
            yield made


def release(store: Store, service="checkout", environment="production", **changes) -> Release:
    made = Release(
        service=service,
        environment=environment,
        strategy=StrategyName.CANARY,
        version_to="v2",
        version_from="v1",
        requested_by="U0ALICE",
        channel="C0DEPLOYS",
        stages=(Stage.step("weight", "100%", 100),),
        created_at=store.clock.now(),
        state=State.AWAITING_CI,
    )
    return replace(made, **changes)


def finished(store: Store, made: Release, state: State, *, traffic: bool = True) -> Release:
    stages = tuple(replace(s, started_at=store.clock.now()) if traffic else s for s in made.stages)
    return replace(made, state=state, stages=stages, finished_at=store.clock.now())


async def add(store: Store, *releases: Release) -> list[Release]:
    async with store.unit_of_work() as work:
        added = [await work.releases.add(r) for r in releases]
        await work.commit()
    return added


async def test_a_release_round_trips(store: Store):
    (saved,) = await add(store, release(store))
    async with store.unit_of_work() as work:
        loaded = await work.releases.get(saved.id)
    assert loaded == replace(saved, updated_at=saved.created_at)


async def test_one_active_release_per_service_and_environment(store: Store):
    await add(store, release(store))
    async with store.unit_of_work() as work:
        with pytest.raises(LockHeld):
            await work.releases.add(release(store))
        other = await work.releases.add(release(store, environment="staging"))
        await work.commit()
    assert other.id is not None


async def test_a_release_that_is_not_exclusive_takes_no_lock(store: Store):
    await add(store, release(store))
    (shared,) = await add(store, release(store, exclusive=False))
    assert shared.id is not None


async def test_finished_releases_free_the_lock(store: Store):
    (first,) = await add(store, release(store))
    async with store.unit_of_work() as work:
        loaded = await work.releases.get(first.id, for_update=True)
        await work.releases.save(replace(loaded, state=State.SUCCEEDED))
        second = await work.releases.add(release(store))
        await work.commit()
    async with store.unit_of_work() as work:
        active = await work.releases.active_for(second.service, second.environment)
    assert second.id != first.id and active is not None and active.id == second.id


async def test_a_release_saved_without_being_read_is_refused(store: Store):
    (saved,) = await add(store, release(store))
    async with store.unit_of_work() as work:
        with pytest.raises(ConcurrentUpdate):
            await work.releases.save(replace(saved, state=State.RUNNING))


async def test_a_save_keeps_the_status_message_the_outbox_stored(store: Store):
    (saved,) = await add(store, release(store, message_ts="1700.1"))
    async with store.unit_of_work() as work:
        loaded = await work.releases.get(saved.id)
        await work.releases.save(replace(loaded, message_ts=None, state=State.RUNNING))
        await work.commit()
    async with store.unit_of_work() as work:
        again = await work.releases.get(saved.id)
    assert again.message_ts == "1700.1" and again.state is State.RUNNING


async def test_releases_are_found_as_the_services_ask(store: Store):
    a = finished(store, release(store), State.SUCCEEDED)
    store.clock.advance(60)
    b = finished(store, release(store, version_to="v3"), State.REJECTED, traffic=False)
    store.clock.advance(60)
    c = finished(store, release(store, version_to="v4"), State.FAILED)
    d = release(store, environment="staging", version_to="v5")
    a, b, c, d = await add(store, a, b, c, d)
    async with store.unit_of_work() as work:
        repo = work.releases
        assert (await repo.active_for("checkout", "production")) is None
        assert (await repo.active_for("checkout", "staging")).id == d.id
        assert (await repo.latest_for("checkout", "production")).id == c.id
        assert (await repo.deployed_for("checkout", "production")).id == c.id
        assert await repo.has_succeeded("checkout", "production", "v2")
        assert not await repo.has_succeeded("checkout", "production", "v4")
        assert await repo.last_good_version("checkout", "production") == "v2"
        assert await repo.last_good_version("checkout", "staging") is None
        assert [r.id for r in await repo.active()] == [d.id]
        assert [r.id for r in await repo.history(None, None, 3)] == [d.id, c.id, b.id]
        assert [r.id for r in await repo.history("checkout", "production", 10)] == [
            c.id,
            b.id,
            a.id,
        ]
        assert [r.id for r in await repo.history("billing", None, 10)] == []
        since = a.finished_at + timedelta(seconds=1)
        assert [r.id for r in await repo.finished_in(["production"], since, None)] == [b.id, c.id]
        assert set((await repo.get_many([a.id, d.id, 999])).keys()) == {a.id, d.id}


async def test_dora_figures_agree(store: Store):
    store.clock.advance(86400)
    lead = timedelta(hours=3)
    made = [
        (release(store, committed_at=store.clock.now() - lead), State.SUCCEEDED),
        (release(store, version_to="v3"), State.ROLLED_BACK),
        (release(store, version_to="v4"), State.SUCCEEDED),
        (release(store, environment="staging"), State.SUCCEEDED),
    ]
    for unfinished, state in made:
        await add(store, finished(store, unfinished, state))
        store.clock.advance(3600)
    since, until = store.clock.now() - timedelta(days=7), store.clock.now()
    async with store.unit_of_work() as work:
        totals = await work.releases.dora_totals(["production"], since, until, None)
        weeks = await work.releases.dora_weeks(["production"], since, until, "checkout")
    assert (totals.succeeded, totals.deployed, totals.failed) == (2, 3, 1)
    assert totals.lead_hours.median() == pytest.approx(3.0)
    assert totals.restore_hours.median() == pytest.approx(1.0)
    assert sum(w["succeeded"] for w in weeks) == 2 and sum(w["failed"] for w in weeks) == 1


async def test_concurrent_audit_appends_form_one_unbroken_chain(store: Store):
    async def append(n: int) -> None:
        async with store.unit_of_work() as work:
            await work.audit.append(
                AuditEvent(at=store.clock.now(), actor_id=f"U{n}", action="test")
            )
            await work.commit()

    await asyncio.gather(*(append(n) for n in range(20)))
    records = await store.audit()

    async def replay() -> AsyncIterator[AuditRecord]:
        for record in records:
            yield record

    report = await verify_records(replay())
    assert report.ok and report.count == 20 and report.head_seq == 20
    assert sorted(r.event.actor_id for r in records) == sorted(f"U{n}" for n in range(20))


async def test_text_no_database_keeps_is_replaced_before_it_is_hashed(store: Store):
    """NUL (PostgreSQL refuses it) and a lone surrogate (not UTF-8) from any caller: the row is
    written, reads back as hashed, and the chain holds."""
    odd = "a\x00b\ud800c"
    async with store.unit_of_work() as work:
        event = AuditEvent(
            at=store.clock.now(),
            actor_id="U0BOB",
            action="test",
            reason=odd,
            details={"text": odd, odd: [odd]},
            approvers=(odd,),
        )
        await work.audit.append(event)
        await work.commit()
    (record,) = await store.audit()
    kept = "a\ufffdb\ufffdc"
    assert record.event.reason == kept and record.event.details == {"text": kept, kept: [kept]}
    assert record.event.approvers == (kept,)


async def test_an_outbox_key_is_written_once(store: Store):
    message = Outbound("thread", "thread:1:x", "thread_fact", {"summary": "hi"}, release_id=1)
    async with store.unit_of_work() as work:
        await work.outbox.enqueue(message)
        await work.outbox.enqueue(message)
        await work.commit()
    async with store.unit_of_work() as work:
        await work.outbox.enqueue(message)
        await work.commit()
    assert await store.outbox_keys() == ["thread:1:x"]


async def test_a_newer_status_row_replaces_the_untried_ones(store: Store):
    async with store.unit_of_work() as work:
        await work.outbox.enqueue(Outbound("status", "status:1:a", release_id=1))
        await work.outbox.enqueue(Outbound("status", "status:2:a", release_id=2))
        await work.commit()
    async with store.unit_of_work() as work:
        await work.outbox.enqueue(Outbound("status", "status:1:b", release_id=1))
        await work.outbox.enqueue(Outbound("thread", "thread:1:x", release_id=1))
        await work.outbox.enqueue(Outbound("status", "status:1:c", release_id=1))
        await work.commit()
    assert await store.outbox_keys() == ["status:2:a", "thread:1:x", "status:1:c"]


async def test_nothing_is_kept_when_the_transaction_fails_midway(store: Store):
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.unit_of_work() as work:
            await work.releases.add(release(store))
            await work.outbox.enqueue(Outbound("status", "status:1", release_id=1))
            await work.audit.append(AuditEvent(at=store.clock.now(), actor_id="U1", action="x"))
            raise Boom
    async with store.unit_of_work() as work:
        assert await work.releases.active() == []
    assert await store.audit() == [] and await store.outbox_keys() == []


async def test_uncommitted_work_is_dropped(store: Store):
    async with store.unit_of_work() as work:
        await work.releases.add(release(store))
        await work.locks.add(
            "checkout", "production", "U0BOB", "x", store.clock.now(), store.clock.now()
        )
    async with store.unit_of_work() as work:
        assert await work.releases.active() == []


async def test_an_accepted_request_is_handled_once(store: Store):
    first, second = await store.receive("command:1"), await store.receive("command:2")
    async with store.unit_of_work() as work:
        assert await work.inbox.take(first)
        await work.commit()
    async with store.unit_of_work() as work:
        assert not await work.inbox.take(first)
        assert await work.inbox.take_all([first, second, 999_999]) == {second}
        await work.commit()


async def test_an_environment_lock_holds_until_lifted_or_expired(store: Store):
    now = store.clock.now()
    async with store.unit_of_work() as work:
        lock = await work.locks.add(
            "checkout", "production", "U0BOB", "db migration", now, now + timedelta(hours=1)
        )
        with pytest.raises(LockHeld):
            await work.locks.add(
                "checkout", "production", "U0CAROL", "mine", now, now + timedelta(hours=1)
            )
        longer = await work.locks.extend(lock, "longer", now + timedelta(hours=2))
        await work.commit()
    async with store.unit_of_work() as work:
        assert await work.locks.active("checkout", "production", now) == longer
        assert await work.locks.active("checkout", "staging", now) is None
        assert await work.locks.active("checkout", "production", now + timedelta(hours=3)) is None
        later = now + timedelta(hours=3)
        again = await work.locks.add(
            "checkout", "production", "U0CAROL", "mine", later, later + timedelta(hours=1)
        )
        await work.locks.lift(again, "U0CAROL", later)
        await work.commit()
    async with store.unit_of_work() as work:
        assert await work.locks.active("checkout", "production", later) is None


async def test_freezes_apply_to_their_environment_or_all(store: Store):
    now = store.clock.now()
    async with store.unit_of_work() as work:
        await work.freezes.add("production", "incident", "U0BOB", now, None)
        await work.freezes.add(None, "holiday", "U0BOB", now, now + timedelta(hours=1))
        await work.commit()
    async with store.unit_of_work() as work:
        assert [f.reason for f in await work.freezes.active("production", now)] == [
            "incident",
            "holiday",
        ]
        assert [f.reason for f in await work.freezes.active("staging", now)] == ["holiday"]
        assert [f.reason for f in await work.freezes.active(None, now)] == ["incident", "holiday"]
        later = now + timedelta(hours=2)
        assert [f.reason for f in await work.freezes.active("staging", later)] == []
        assert await work.freezes.lift("production", "U0CAROL", now) == 1
        assert await work.freezes.lift("production", "U0CAROL", now) == 0
        await work.commit()
    async with store.unit_of_work() as work:
        (left,) = await work.freezes.active("production", now)
    assert left.reason == "holiday" and left.name == "stop-the-line (every environment)"


async def test_api_tokens_are_made_found_used_and_revoked(store: Store):
    now = store.clock.now()
    async with store.unit_of_work() as work:
        first = await work.api_tokens.add("ci", "U0BOB", "a" * 64, now, None)
        second = await work.api_tokens.add(
            "auditor", "U0CAROL", "b" * 64, now, now + timedelta(days=1)
        )
        await work.commit()
    later = now + timedelta(hours=1)
    async with store.unit_of_work() as work:
        assert (await work.api_tokens.by_sha256("b" * 64)) == second
        assert await work.api_tokens.by_sha256("c" * 64) is None
        await work.api_tokens.used(first.id, later)
        await work.api_tokens.revoke(second.id, later)
        await work.api_tokens.revoke(second.id, later + timedelta(hours=1))  # the first time stands
        await work.commit()
    async with store.unit_of_work() as work:
        tokens = await work.api_tokens.all()
        assert await work.api_tokens.get(999_999) is None
    assert [t.name for t in tokens] == ["ci", "auditor"]
    assert tokens[0].last_used_at == later and tokens[1].revoked_at == later
