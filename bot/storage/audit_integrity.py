"""What the database offers to check the audit trail's integrity while the bot runs: whether
the append-only triggers are in place (and to put them back), the last signed checkpoint, and
the chain's rows after a point."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit_manifest import ChainPoint, Checkpoint
from bot.storage import audit_checkpoints
from bot.storage.audit_reader import iter_rows

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
# The triggers migration 0001 creates, by dialect: name -> the statement that creates it.
TRIGGERS = {
    "postgresql": {
        "audit_events_no_update_delete": (
            "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON "
            "audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        ),
        "audit_events_no_truncate": (
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        ),
    },
    "sqlite": {
        f"audit_events_no_{verb.lower()}": (
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {verb} refused'); END"
        )
        for verb in ("UPDATE", "DELETE")
    },
}


async def missing_triggers(engine: AsyncEngine) -> list[str]:
    """The append-only triggers that are not there, are disabled (PostgreSQL's `ALTER TABLE
    ... DISABLE TRIGGER`), or no longer refuse (a same-named trigger, or on PostgreSQL the
    function it calls, rewritten to let changes through)."""
    expected = TRIGGERS[engine.dialect.name]
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = await connection.execute(
                text(
                    "SELECT t.tgname, p.prosrc FROM pg_trigger t JOIN pg_proc p "
                    "ON p.oid = t.tgfoid WHERE t.tgrelid = 'audit_events'::regclass "
                    "AND NOT t.tgisinternal AND t.tgenabled <> 'D' "
                    "AND p.proname = 'audit_events_append_only'"
                )
            )
            refusing = "RAISE EXCEPTION"
        else:
            found = await connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                    "AND tbl_name = 'audit_events'"
                )
            )
            refusing = "RAISE(ABORT"
        present = {name for name, body in found if refusing in " ".join(body.upper().split())}
    return sorted(set(expected) - present)


async def restore_triggers(engine: AsyncEngine) -> list[str]:
    """Create again the append-only triggers that are missing, disabled or changed (and on
    PostgreSQL the function they call); returns their names."""
    missing = await missing_triggers(engine)
    if not missing:
        return []
    postgres = engine.dialect.name == "postgresql"
    async with engine.begin() as connection:
        if postgres:
            await connection.execute(text(_POSTGRES_FUNCTION))
        for name in missing:
            on_table = " ON audit_events" if postgres else ""
            await connection.execute(text(f"DROP TRIGGER IF EXISTS {name}{on_table}"))
            await connection.execute(text(TRIGGERS[engine.dialect.name][name]))
    return missing


class SqlAuditIntegrity:
    """bot.core.ports.AuditIntegrity over the bot's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def missing_triggers(self) -> list[str]:
        return await missing_triggers(self._engine)

    async def last_checkpoint(self) -> Checkpoint | None:
        return await audit_checkpoints.last(self._engine)

    async def hash_at(self, seq: int) -> str | None:
        return await audit_checkpoints.hash_at(self._engine, seq)

    async def head(self) -> ChainPoint:
        return await audit_checkpoints.head(self._engine)

    def rows_after(self, seq: int) -> AsyncIterator[Sequence[Sequence[Any]]]:
        return iter_rows(self._engine, after=seq)
