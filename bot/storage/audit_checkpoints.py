"""Signed checkpoints of the chain head, and the stored hash at a sequence number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.audit_manifest import ChainPoint, Checkpoint, Signature
from bot.storage.database import session_factory
from bot.storage.repositories import audit_head
from bot.storage.tables import AuditCheckpointRow, AuditRow


async def head(engine: AsyncEngine) -> ChainPoint:
    async with session_factory(engine)() as session:
        seq, hash_ = await audit_head(session)
    return ChainPoint(seq, hash_)


async def hash_at(engine: AsyncEngine, seq: int) -> str | None:
    async with engine.connect() as connection:
        found = await connection.execute(select(AuditRow.hash).where(AuditRow.seq == seq))
        return found.scalar_one_or_none()


async def add(engine: AsyncEngine, checkpoint: Checkpoint) -> None:
    """One checkpoint per head: signing the same head again keeps the first."""
    values = {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "signed_at": checkpoint.signed_at,
        "algorithm": checkpoint.signature.algorithm,
        "key_id": checkpoint.signature.key_id,
        "signature": checkpoint.signature.value,
    }
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    async with engine.begin() as connection:
        await connection.execute(
            insert(AuditCheckpointRow).values(**values).on_conflict_do_nothing()
        )


async def all_checkpoints(engine: AsyncEngine) -> list[Checkpoint]:
    async with engine.connect() as connection:
        rows = (
            await connection.execute(select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq))
        ).all()
    return [_checkpoint(row) for row in rows]


async def last(engine: AsyncEngine) -> Checkpoint | None:
    """The checkpoint of the highest sequence number, if any."""
    query = select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq.desc()).limit(1)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return _checkpoint(row) if row is not None else None


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        row.seq, row.hash, row.signed_at, Signature(row.algorithm, row.key_id, row.signature)
    )
