"""Reading and tampering with the audit trail the way an auditor (or an attacker) would."""

from __future__ import annotations

import csv
import io

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.audit_trail import VerifyReport, verify_rows, write_export_rows
from bot.storage.audit_reader import AuditFilter, iter_rows


async def export_rows(
    engine: AsyncEngine, where: AuditFilter = AuditFilter()
) -> list[dict[str, str]]:
    out = io.StringIO()
    await write_export_rows(iter_rows(engine, where), "csv", out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


async def verify(engine: AsyncEngine) -> VerifyReport:
    return await verify_rows(iter_rows(engine))


async def tamper(engine: AsyncEngine, statement: str, **params) -> None:
    """`statement` may hold several statements separated by `;`."""
    """Run a statement against audit_events with its append-only triggers out of the way, as
    the table's owner could."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            for part in statement.split(";"):
                await connection.execute(text(part), params)
            await connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        else:
            triggers = (
                await connection.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type='trigger' AND tbl_name='audit_events'"
                    )
                )
            ).all()
            for name, _ in triggers:
                await connection.execute(text(f"DROP TRIGGER {name}"))
            for part in statement.split(";"):
                await connection.execute(text(part), params)
            for _, sql in triggers:
                await connection.execute(text(sql))
