"""SQLModel tables. The schema itself is created only by the Alembic migrations in migrations/;
tests/storage/test_migrations.py checks that these classes and the migrations agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlmodel import Field, SQLModel

from bot.core.audit import canonical_json


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CanonicalJSON(TypeDecorator[Any]):
    """JSON stored as the audit chain hashes it (bot.core.audit.canonical_json) instead of
    the driver's json.dumps: read back the same; `audit verify` hashes the text unconverted."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            from psycopg.types.json import Json

            return lambda value: None if value is None else Json(value, canonical_json)
        return lambda value: None if value is None else canonical_json(value)


def _time(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class ReleaseRow(SQLModel, table=True):
    __tablename__ = "releases"
    __table_args__ = (
        Index(  # the DORA report's, covering (migration 0009)
            "ix_releases_dora",
            "environment",
            "finished_at",
            "service",
            "state",
            "moved_traffic",
            "committed_at",
        ),
        Index("ix_releases_service_state_finished_at", "service", "state", "finished_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    service: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    environment: str = Field(sa_column=Column(String(64), nullable=False))
    strategy: str = Field(sa_column=Column(String(32), nullable=False))
    state: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    version_from: str | None = Field(default=None, sa_column=Column(String(128)))
    version_to: str = Field(sa_column=Column(String(128), nullable=False))
    requested_by: str = Field(sa_column=Column(String(32), nullable=False))
    channel: str = Field(sa_column=Column(String(32), nullable=False))
    message_ts: str | None = Field(default=None, sa_column=Column(String(32)))
    lock_key: str | None = Field(default=None, sa_column=Column(String(160), unique=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime | None = _time()
    due_at: datetime | None = _time(index=True)
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = _time()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Copies of what the DORA metrics need from `data`, so they are SQL aggregates.
    moved_traffic: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    committed_at: datetime | None = _time()


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    release_id: int | None = Field(default=None, sa_column=Column(Integer, index=True))
    channel: str | None = Field(default=None, sa_column=Column(String(32)))
    user_id: str | None = Field(default=None, sa_column=Column(String(32)))
    response_url: str | None = Field(default=None, sa_column=Column(Text))
    replace_original: bool = Field(default=False)
    template: str = Field(
        default="", sa_column=Column(String(64), nullable=False, server_default="")
    )
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime | None = _time(index=True)
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = _time()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    sent_at: datetime | None = _time()
    message_ts: str | None = Field(default=None, sa_column=Column(String(32)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_events"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_id: str = Field(sa_column=Column(String(64), nullable=False))
    actor_name: str = Field(default="", sa_column=Column(String(128), nullable=False))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    service: str = Field(default="", sa_column=Column(String(64), nullable=False))
    environment: str = Field(default="", sa_column=Column(String(64), nullable=False))
    release_id: int | None = Field(default=None, sa_column=Column(Integer))
    version_from: str = Field(default="", sa_column=Column(String(128), nullable=False))
    version_to: str = Field(default="", sa_column=Column(String(128), nullable=False))
    rule: str = Field(default="", sa_column=Column(String(64), nullable=False))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(CanonicalJSON, nullable=False)
    )
    approvers: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditHeadRow(SQLModel, table=True):
    """One row: the last sequence number and hash. Appending locks it, serializing the chain."""

    __tablename__ = "audit_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class InboxRow(SQLModel, table=True):
    """A command, click or submission, written before Slack got its OK. `key` (Slack's own
    identifiers) makes a retry of the same request one row; `done_at` is set in the
    transaction that handled it."""

    __tablename__ = "inbox"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_at: datetime | None = _time(index=True)
    claimed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    lease_until: datetime | None = _time()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    done_at: datetime | None = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ChatHoldRow(SQLModel, table=True):
    """Nothing is sent in `scope` before `until`: a rate limit's Retry-After for one method, or
    one status message's update throttle. In the database, so every replica keeps it."""

    __tablename__ = "chat_holds"

    scope: str = Field(sa_column=Column(String(200), primary_key=True))
    until: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class LockRow(SQLModel, table=True):
    __tablename__ = "env_locks"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    service: str = Field(sa_column=Column(String(64), nullable=False))
    environment: str = Field(sa_column=Column(String(64), nullable=False))
    owner: str = Field(sa_column=Column(String(32), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    lifted_at: datetime | None = _time()
    lifted_by: str | None = Field(default=None, sa_column=Column(String(32)))
    active_key: str | None = Field(default=None, sa_column=Column(String(160), unique=True))


class FreezeRow(SQLModel, table=True):
    __tablename__ = "freezes"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    environment: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(String(32), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = _time()
    lifted_at: datetime | None = _time()
    lifted_by: str | None = Field(default=None, sa_column=Column(String(32)))


class OperationRow(SQLModel, table=True):
    """What a backend reported about an operation (e.g. a webhook deployer's callback)."""

    __tablename__ = "operations"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AuditCheckpointRow(SQLModel, table=True):
    """The audit chain's head at a moment, signed with a key kept outside the database."""

    __tablename__ = "audit_checkpoints"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    signed_at: str = Field(sa_column=Column(String(40), nullable=False))
    algorithm: str = Field(sa_column=Column(String(16), nullable=False))
    key_id: str = Field(sa_column=Column(String(64), nullable=False))
    signature: str = Field(sa_column=Column(String(256), nullable=False))


class ApiTokenRow(SQLModel, table=True):
    """A token a script presents over HTTP; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    name: str = Field(sa_column=Column(String(200), nullable=False))
    user_id: str = Field(sa_column=Column(String(32), nullable=False))
    token_sha256: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime | None = _time()
    revoked_at: datetime | None = _time()
    last_used_at: datetime | None = _time()
