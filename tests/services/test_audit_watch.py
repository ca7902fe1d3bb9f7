"""AuditWatch over a real database (SQLite and PostgreSQL): the chain is checked from the last
signed checkpoint, then only the rows written since; an edit, a removal or a missing trigger
turns the verdict, and a broken chain stays broken."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.core.audit import AuditEvent
from bot.core.clock import ManualClock
from bot.services.audit_manifests import make_checkpoint
from bot.services.audit_signing import HmacSigner
from bot.services.audit_watch import AuditUnprotected, AuditWatch, Verdict
from bot.storage import audit_checkpoints, migrate
from bot.storage.audit_integrity import SqlAuditIntegrity, missing_triggers, restore_triggers
from bot.storage.database import create_engine, session_factory
from bot.storage.unit_of_work import SqlUnitOfWork
from tests.support.audit import tamper

FORGED = "a" * 64  # no real hash
SIGNER = HmacSigner(b"audit-key-for-tests-0123456789")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator:
    engine = create_engine(database_url)
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def append(engine, count: int, clock: ManualClock = ManualClock()) -> None:
    for n in range(count):
        async with SqlUnitOfWork(session_factory(engine), clock) as work:
            await work.audit.append(
                AuditEvent(at=clock.now(), actor_id="U0BOB", actor_name="bob", action=f"t.{n}")
            )
            await work.commit()


def watch(engine, verdicts: list[Verdict] | None = None) -> AuditWatch:
    return AuditWatch(
        SqlAuditIntegrity(engine),
        SIGNER,
        max_age_s=0,
        on_verdict=verdicts.append if verdicts is not None else None,
    )


async def test_an_intact_trail_is_ok_and_stays_ok_as_it_grows(engine):
    await append(engine, 3)
    watcher = watch(engine)
    assert (await watcher.current()).ok
    await append(engine, 2)
    assert (await watcher.current()) == Verdict(True, "ok")


async def test_an_edit_after_the_last_check_breaks_it_at_that_row_for_good(engine):
    verdicts: list[Verdict] = []
    await append(engine, 3)
    watcher = watch(engine, verdicts)
    assert (await watcher.current()).ok
    await append(engine, 2)
    await tamper(engine, "UPDATE audit_events SET actor_id = 'U0EVE' WHERE seq = 5")
    broken = await watcher.current()
    assert not broken.ok and broken.broken_at == 5
    assert broken.text.startswith("broken at sequence 5: ")
    await append(engine, 1)
    assert await watcher.current() == broken, "a broken chain does not heal"
    assert [v.ok for v in verdicts] == [True, False], "each change is told once"


async def test_an_edit_of_a_row_already_checked_is_found_at_the_last_checked_row(engine):
    await append(engine, 3)
    watcher = watch(engine)
    assert (await watcher.current()).ok
    await tamper(engine, f"UPDATE audit_events SET hash = '{FORGED}' WHERE seq = 3")
    verdict = await watcher.current()
    assert verdict.broken_at == 3 and "since it was last verified" in verdict.text


async def test_an_edit_before_the_last_signed_checkpoint_is_found_by_it(engine):
    await append(engine, 4)
    head = await audit_checkpoints.head(engine)
    await audit_checkpoints.add(engine, make_checkpoint(head, ManualClock().now(), SIGNER))
    await tamper(engine, f"UPDATE audit_events SET hash = '{FORGED}' WHERE seq = 4")
    verdict = await watch(engine).current()
    assert verdict.broken_at == 4 and "checkpoint" in verdict.text


async def test_rows_removed_from_the_end_are_found(engine):
    await append(engine, 4)
    await tamper(engine, "DELETE FROM audit_events WHERE seq = 4")
    verdict = await watch(engine).current()
    assert verdict.broken_at == 4 and "removed from the end" in verdict.text


async def test_a_dropped_or_disabled_trigger_is_named_and_recreated_by_restore(engine):
    if engine.dialect.name == "postgresql":
        statement, name = (
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate",
            ("audit_events_no_truncate"),
        )
    else:
        statement, name = "DROP TRIGGER audit_events_no_update", "audit_events_no_update"
    async with engine.begin() as connection:
        await connection.execute(text(statement))
    assert await missing_triggers(engine) == [name]
    watcher = watch(engine)
    with pytest.raises(AuditUnprotected, match=name):
        await watcher.refuse_if_unprotected()
    verdict = await watcher.current()
    assert not verdict.ok and name in verdict.text
    assert await restore_triggers(engine) == [name]
    assert await missing_triggers(engine) == []
    assert (await watcher.current()).ok
    await append(engine, 1)
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE audit_events SET actor_id = 'U0EVE'"))


async def test_a_trigger_rewritten_to_let_changes_through_counts_as_missing(engine):
    """Present and enabled, but no longer refusing: on PostgreSQL the function it calls is
    replaced, on SQLite a trigger of the same name does nothing."""
    if engine.dialect.name == "postgresql":
        rewrite = [
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS "
            "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"
        ]
        named = ["audit_events_no_truncate", "audit_events_no_update_delete"]
    else:
        rewrite = [
            "DROP TRIGGER audit_events_no_delete",
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT 1; END",
        ]
        named = ["audit_events_no_delete"]
    async with engine.begin() as connection:
        for statement in rewrite:
            await connection.execute(text(statement))
    assert await missing_triggers(engine) == named
    assert await restore_triggers(engine) == named
    assert await missing_triggers(engine) == []
    await append(engine, 1)
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM audit_events"))
