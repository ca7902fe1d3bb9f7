"""The migrations are the schema's only source; the SQLModel classes must agree with them."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from bot.storage import migrate, tables  # noqa: F401  (registers the tables)
from bot.storage.database import create_engine


def _differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [
        d
        for d in compare_metadata(context, SQLModel.metadata)
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


async def test_models_match_the_migrated_schema(engine):
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []


async def test_a_fresh_database_has_nothing_pending_after_upgrade(database_url):
    db = create_engine(database_url)
    try:
        assert await migrate.pending(db) == [
            "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008",
            "0009",
        ]  # fmt: skip
        await migrate.upgrade(db)
        assert await migrate.pending(db) == []
        await migrate.upgrade(db)  # idempotent
    finally:
        await db.dispose()


async def test_downgrade_to_base_and_up_again(engine):
    config = migrate.alembic_config()

    def _down_up(connection):
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_down_up)
    assert await migrate.pending(engine) == []
