"""The audit table is append-only in the database itself: UPDATE and DELETE are refused on
both backends, TRUNCATE too on PostgreSQL (where row triggers do not see it)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.storage import migrate
from bot.storage.database import create_engine, session_factory
from bot.storage.unit_of_work import SqlUnitOfWork


async def one_event(engine) -> None:
    async with SqlUnitOfWork(session_factory(engine), ManualClock()) as work:
        await work.audit.append(AuditEvent(at=ManualClock().now(), actor_id="U1", action="x"))
        await work.commit()


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"]
)
async def test_update_and_delete_are_refused(engine, statement):
    await one_event(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement))


async def test_truncate_is_refused_on_postgres(postgres_url):
    engine = create_engine(postgres_url)
    try:
        await migrate.upgrade(engine)
        await one_event(engine)
        with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
            async with engine.begin() as connection:
                await connection.execute(text("TRUNCATE audit_events"))
    finally:
        await engine.dispose()
