"""What only the SQL repositories do: optimistic revisions against a row another transaction
changed. The rest of the contract, shared with the in-memory unit of work, is in
test_unit_of_work_contract.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.catalog import StrategyName
from bot.core.clock import ManualClock
from bot.core.ports import ConcurrentUpdate
from bot.core.release import Release, State
from bot.core.stages import Stage
from bot.storage.database import session_factory
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
