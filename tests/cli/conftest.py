"""Fixtures for the command line's tests."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.unit_of_work import SqlUnitOfWork


@pytest.fixture
def audited_database(database_url):
    async def seed():
        engine = create_engine(database_url)
        await migrate.upgrade(engine)
        clock = ManualClock()
        for n, (service, env) in enumerate(
            [("checkout", "production"), ("search", "staging"), ("checkout", "staging")]
        ):
            async with SqlUnitOfWork(session_factory(engine), clock) as work:
                await work.audit.append(
                    AuditEvent(
                        at=clock.now(),
                        actor_id="U0BOB",
                        actor_name="bob",
                        action=f"test.{n}",
                        service=service,
                        environment=env,
                        reason='a, "quoted" reason',
                        details={"n": n},
                    )
                )
                await work.commit()
            clock.advance(3600)
        await engine.dispose()

    asyncio.run(seed())
    return database_url
