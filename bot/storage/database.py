"""Engine creation: one DATABASE_URL, SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.core.ports import StorageUnavailable
from bot.storage.defaults import DEFAULT_URL as DEFAULT_URL  # re-exported


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
        if target.database not in (None, "", ":memory:"):
            # One writer at a time: transactions queue for the one connection, in order,
            # instead of racing for SQLite's lock and sleeping in its busy handler (tens of
            # milliseconds a time, which an ack to Slack would wait through).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 30)
        engine = create_async_engine(target, connect_args={"timeout": 30}, **kwargs)
        _serialize_sqlite_writers(engine)
        return engine
    kwargs.setdefault("pool_timeout", 10)
    # Enough for every worker's concurrent transactions at once (stages 10, outbox 8, the
    # inbox, the web side), so none waits for another's connection.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(target, pool_pre_ping=True, **kwargs)


def unavailable(exc: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable that `exc` means, or None when it is something else (a bug, a
    constraint): a lost or refused connection, a server shutting down, a full pool, a lock
    that could not be had (SQLite busy, a PostgreSQL deadlock or serialization failure)."""
    if isinstance(exc, StorageUnavailable):
        return exc
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        cause = getattr(exc, "orig", None) or exc
        return StorageUnavailable(f"database unavailable ({type(cause).__name__})")
    return None


@contextlib.asynccontextmanager
async def translated_errors() -> AsyncIterator[None]:
    """Database outages leave as StorageUnavailable (raised from the driver's error)."""
    try:
        yield
    except Exception as exc:
        if (translated := unavailable(exc)) is not None and translated is not exc:
            raise translated from exc
        raise


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
