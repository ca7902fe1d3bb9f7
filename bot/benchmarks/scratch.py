"""Where a benchmark writes its generated data: a schema of its own on PostgreSQL, dropped
after, or a SQLite file."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

from bot.storage.database import create_engine


@dataclass(frozen=True)
class Scratch:
    url: str  # the database to write to
    schema: str | None = None  # PostgreSQL: the scratch schema's name


@contextlib.asynccontextmanager
async def scratch_database(
    database_url: str, sqlite_file: str | None = None
) -> AsyncIterator[Scratch]:
    """PostgreSQL at `database_url`: a schema made now and dropped after. Otherwise SQLite:
    `sqlite_file` when given, else a file in a temporary folder removed after."""
    if not database_url.startswith("postgres"):
        if sqlite_file is not None:
            yield Scratch(sqlite_file)
            return
        with tempfile.TemporaryDirectory() as folder:
            yield Scratch(f"sqlite:///{Path(folder) / 'bench.db'}")
        return
    schema = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(database_url)
    try:
        async with admin.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in database_url else "?"
        yield Scratch(
            f"{database_url}{separator}options={quote(f'-csearch_path={schema}')}", schema
        )
    finally:
        with contextlib.suppress(Exception):
            async with admin.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()
