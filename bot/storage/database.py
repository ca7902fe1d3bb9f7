"""Engine creation: one DATABASE_URL, SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

DEFAULT_URL = "sqlite:///releasebot.db"


class DatabaseUrlError(ValueError):
    pass


def async_url(url: str) -> URL:
    """`sqlite:///x.db` / `postgresql://...` -> the async driver's URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    raise DatabaseUrlError(
        f"unsupported database {backend!r}: use sqlite:///FILE or postgresql://USER@HOST/DB"
    )


def sync_url(url: str) -> URL:
    parsed = async_url(url)
    return parsed.set(drivername="sqlite") if parsed.get_backend_name() == "sqlite" else parsed


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, connect_args={"timeout": 30}, **kwargs)
        _serialize_sqlite_writers(engine)
        return engine
    return create_async_engine(target, pool_pre_ping=True, **kwargs)


def _serialize_sqlite_writers(engine: AsyncEngine) -> None:
    """SQLite has no SELECT ... FOR UPDATE: every transaction starts with BEGIN IMMEDIATE, so a
    read-then-write never races another writer (one process, one writer)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
