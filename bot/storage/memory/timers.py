"""Releases whose time has come, claimed from the in-memory tables: the ReleaseTimers port as
bot/storage/claims.py keeps it in SQL, for one engine (no leases to expire)."""

from __future__ import annotations

from datetime import datetime

from bot.core.ports import Claim
from bot.storage.memory.database import MemoryDatabase
from bot.storage.memory.releases import decode


class MemoryReleaseTimers:
    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    async def claim_due(self, limit: int = 20) -> list[Claim]:
        now = self._database.clock.now()
        async with self._database.turn() as tables:
            due = sorted(
                (r for r in tables.releases.values() if _waiting(r) and r["due_at"] <= now),
                key=lambda r: (r["due_at"], r["id"]),
            )[:limit]
            claims = []
            for row in due:
                row = {**row, "claimed": True, "attempts": row["attempts"] + 1}
                tables.releases[row["id"]] = row
                claims.append(Claim(row["id"], row["attempts"], row["due_at"], decode(row)))
            return sorted(claims, key=lambda c: c.id)

    async def next_due(self) -> datetime | None:
        async with self._database.turn() as tables:
            return min((r["due_at"] for r in tables.releases.values() if _waiting(r)), default=None)

    async def done(self, release_id: int) -> None:
        await self._finish(release_id, attempts=0)

    async def retry_at(self, claim: Claim, due_at: datetime, *, attempt: bool = True) -> None:
        async with self._database.turn() as tables:
            row = tables.releases.get(claim.id)
            if row is None or not row["claimed"]:
                return
            if row["due_at"] != claim.due_at:  # rescheduled since: that time stands
                tables.releases[claim.id] = {**row, "claimed": False, "attempts": 0}
                return
            attempts = row["attempts"] if attempt else max(row["attempts"] - 1, 0)
            tables.releases[claim.id] = {
                **row,
                "claimed": False,
                "due_at": due_at,
                "attempts": attempts,
            }

    async def release_claims(self) -> int:
        async with self._database.turn() as tables:
            held = [i for i, r in tables.releases.items() if r["claimed"]]
            for release_id in held:
                tables.releases[release_id] = {**tables.releases[release_id], "claimed": False}
            return len(held)

    async def _finish(self, release_id: int, **values: object) -> None:
        async with self._database.turn() as tables:
            row = tables.releases.get(release_id)
            if row is not None and row["claimed"]:
                tables.releases[release_id] = {**row, "claimed": False, **values}


def _waiting(row: dict) -> bool:
    return row["due_at"] is not None and not row["claimed"]
