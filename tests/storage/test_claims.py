"""Due work is claimed by one engine at a time: SKIP LOCKED on PostgreSQL, one writer on
SQLite; leases let another replica take over a crashed claim; only the owner finishes it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.core.catalog import StrategyName
from bot.core.clock import ManualClock
from bot.core.ports import Outbound
from bot.core.release import Release
from bot.core.stages import Stage
from bot.storage.claims import InboxClaims, OutboxClaims, ReleaseClaims
from bot.storage.database import session_factory
from bot.storage.inbox_door import InboxDoor
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


async def test_a_new_status_row_supersedes_untried_ones_and_is_claimed_once(engine):
    clock = ManualClock()
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, clock) as work:
        for n in range(3):
            await work.outbox.enqueue(Outbound("status", f"status:1:{n}", "status", release_id=1))
        await work.commit()
    a, b = OutboxClaims(sessions, clock, "a"), OutboxClaims(sessions, clock, "b")
    first, second = await asyncio.gather(a.claim_due(), b.claim_due())
    assert [i.key for i in first + second] == ["status:1:2"], "only the newest is worth sending"
    newest = (first + second)[0]
    await (a if first else b).sent(newest, "1.0")
    clock.advance(120)
    assert await a.claim_due() == [], "superseded rows are never sent"


async def test_a_release_s_status_and_thread_rows_go_one_at_a_time_across_replicas(engine):
    """While replica a holds a release's thread post (or status post), replica b takes
    nothing of that release's thread (or status) but may take another release's; the next
    one goes once the held one is sent, or given up."""
    clock = ManualClock()
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, clock) as work:
        for n in range(3):
            await work.outbox.enqueue(Outbound("thread", f"thread:1:{n}", "t", release_id=1))
        await work.outbox.enqueue(Outbound("thread", "thread:2:0", "t", release_id=2))
        await work.outbox.enqueue(Outbound("status", "status:1:a", "status", release_id=1))
        await work.commit()
    a, b = OutboxClaims(sessions, clock, "a"), OutboxClaims(sessions, clock, "b")
    held = await a.claim_due(limit=1)
    assert [i.key for i in held] == ["thread:1:0"]
    assert sorted(i.key for i in await b.claim_due()) == ["status:1:a", "thread:2:0"]
    async with SqlUnitOfWork(sessions, clock) as work:  # a change while the status is out
        await work.outbox.enqueue(Outbound("status", "status:1:b", "status", release_id=1))
        await work.commit()
    assert await b.claim_due() == [], "thread:1:1 waits for thread:1:0, status:1:b for :a"
    await a.sent(held[0], "1.1")
    (after,) = await b.claim_due()
    assert after.key == "thread:1:1"
    await b.give_up(after, "channel_not_found")
    assert [i.key for i in await a.claim_due()] == ["thread:1:2"], "a given-up row blocks none"


async def test_a_status_row_tried_once_is_not_superseded_and_goes_first(engine):
    """Its post may have reached Slack unanswered: only it looks that up, so a newer row must
    wait for it rather than post a second status message."""
    clock = ManualClock()
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, clock) as work:
        await work.outbox.enqueue(Outbound("status", "status:1:a", "status", release_id=1))
        await work.commit()
    claims = OutboxClaims(sessions, clock, "a")
    (tried,) = await claims.claim_due()
    await claims.retry_at(tried, clock.now() + timedelta(seconds=5), "Slack did not answer")
    async with SqlUnitOfWork(sessions, clock) as work:
        await work.outbox.enqueue(Outbound("status", "status:1:b", "status", release_id=1))
        await work.commit()
    assert await claims.claim_due() == [], "the newer row waits; the tried one is not due yet"
    clock.advance(5)
    (again,) = await claims.claim_due()
    assert (again.key, again.attempts) == ("status:1:a", 2)


async def test_a_rate_limit_wait_is_not_an_attempt_and_its_hold_is_shared(engine):
    clock = ManualClock()
    sessions = session_factory(engine)
    async with SqlUnitOfWork(sessions, clock) as work:
        await work.outbox.enqueue(Outbound("post", "post:1", "t", channel="C1"))
        await work.commit()
    a, b = OutboxClaims(sessions, clock, "a"), OutboxClaims(sessions, clock, "b")
    until = clock.now() + timedelta(seconds=30)
    for _ in range(5):
        (item,) = await a.claim_due()
        hold = ("method:chat.postMessage", until)
        await a.retry_at(item, clock.now(), "rate limited", attempt=False, hold=hold)
    assert item.attempts == 1, "five rate-limited tries, each claimed as the first attempt"
    assert await b.holds() == {"method:chat.postMessage": until}
    await b.retry_at(  # a shorter pause never shortens a longer one
        (await b.claim_due())[0],
        clock.now(),
        attempt=False,
        hold=("method:chat.postMessage", clock.now() + timedelta(seconds=1)),
    )
    assert await a.holds() == {"method:chat.postMessage": until}
    clock.advance(31)
    assert await a.holds() == {}


async def test_the_inbox_takes_a_request_once_and_hands_claims_back(engine):
    clock = ManualClock()
    sessions = session_factory(engine)
    a, b = InboxClaims(sessions, clock, "a"), InboxClaims(sessions, clock, "b")
    door = InboxDoor(engine, clock)
    assert await door.accept("command:T1", {"kind": "command"}) is True
    assert await door.accept("command:T1", {"kind": "command"}) is False, "a Slack retry"
    await door.close()
    first, second = await asyncio.gather(a.claim_due(), b.claim_due())
    assert len(first + second) == 1
    holder = a if first else b
    assert await holder.release_claims() == 1  # a graceful stop hands it back at once
    (item,) = await (b if holder is a else a).claim_due()
    async with SqlUnitOfWork(sessions, clock) as one:
        assert await one.inbox.take(item.id) is True
        await one.commit()
    async with SqlUnitOfWork(sessions, clock) as two:
        assert await two.inbox.take(item.id) is False, "handled once, whoever asks"
    clock.advance(120)
    assert await a.claim_due() == [] and await b.claim_due() == []


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


async def test_the_door_writes_what_arrives_together_in_one_transaction(engine):
    """Requests that arrive while a batch commits go in together; a key sent twice in one
    batch (a Slack retry racing its original) is new once."""
    clock = ManualClock()
    door = InboxDoor(engine, clock)
    commits = []
    from sqlalchemy import event

    def count(_connection):
        commits.append(1)

    event.listen(engine.sync_engine, "commit", count)
    try:
        keys = [f"command:T{n}" for n in range(50)] + ["command:T7"]
        answers = await asyncio.gather(*(door.accept(key, {"n": key}) for key in keys))
    finally:
        event.remove(engine.sync_engine, "commit", count)
        await door.close()
    assert answers.count(True) == 50 and answers[-1] is False
    assert len(commits) <= 2, "fifty requests, one or two commits"
    sessions = session_factory(engine)
    (item, *rest) = await InboxClaims(sessions, clock, "a").claim_due(limit=100)
    assert len(rest) == 49 and item.payload == {"n": "command:T0"}


async def test_a_call_budget_is_shared_by_replicas_and_refills_with_time(engine):
    """A budget of one call every 10 s, 3 at once: replicas taking at the same moment get 3
    between them, the others are told when the next one is free; time refills it."""
    clock = ManualClock()
    sessions = session_factory(engine)
    replicas = [OutboxClaims(sessions, clock, f"replica-{n}") for n in range(3)]
    every = timedelta(seconds=10)
    answers = [await r.take_budget("budget:chat.update", every, 3) for r in replicas * 2]
    assert answers[:3] == [None, None, None]
    assert answers[3:] == [clock.now() + every] * 3, "the 4th is free in 10 s"
    clock.advance(10)
    assert await replicas[0].take_budget("budget:chat.update", every, 3) is None
    assert await replicas[1].take_budget("budget:chat.update", every, 3) is not None
    clock.advance(3600)  # a long quiet time refills it to its burst, not beyond
    taken = [await replicas[2].take_budget("budget:chat.update", every, 3) for _ in range(4)]
    assert taken[:3] == [None] * 3 and taken[3] is not None
    other = await replicas[0].take_budget("budget:other", every, 3)
    assert other is None, "each budget is its own"
