"""Alembic environment. `releasebot migrate` hands over a live connection; the plain `alembic`
command (alembic.ini at the top level) reads DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from bot.storage.database import DEFAULT_URL, sync_url

config = context.config


def run_with(connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", DEFAULT_URL)
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        run_with(conn)
    engine.dispose()
