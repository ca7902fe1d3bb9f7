"""API tokens in the database: made, listed, revoked, and looked up by their SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.api_tokens import ApiToken
from bot.storage.tables import ApiTokenRow


class SqlApiTokens:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, name: str, user_id: str, sha256: str, now: datetime, expires_at: datetime | None
    ) -> ApiToken:
        row = ApiTokenRow(
            name=name, user_id=user_id, token_sha256=sha256, created_at=now, expires_at=expires_at
        )
        self._session.add(row)
        await self._session.flush()
        return _token(row)

    async def all(self) -> list[ApiToken]:
        rows = await self._session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))
        return [_token(row) for row in rows]

    async def get(self, token_id: int) -> ApiToken | None:
        row = await self._session.get(ApiTokenRow, token_id)
        return _token(row) if row else None

    async def by_sha256(self, sha256: str) -> ApiToken | None:
        row = await self._session.scalar(
            select(ApiTokenRow).where(ApiTokenRow.token_sha256 == sha256)
        )
        return _token(row) if row else None

    async def revoke(self, token_id: int, now: datetime) -> None:
        await self._session.execute(
            update(ApiTokenRow)
            .where(ApiTokenRow.id == token_id, ApiTokenRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def used(self, token_id: int, now: datetime) -> None:
        await self._session.execute(
            update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
        )


def _token(row: ApiTokenRow) -> ApiToken:
    assert row.id is not None
    return ApiToken(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
