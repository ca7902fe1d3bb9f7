"""The inbox: commands, clicks and submissions are durable before Slack gets its OK; holds
shared by replicas (rate-limit pauses, update throttles). The inbox's unique key replaces
inbound_requests, whose keys are carried over as requests already handled.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime()),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_inbox_due_at", "inbox", ["due_at"])
    op.execute(
        "INSERT INTO inbox (key, payload, received_at, done_at, attempts) "
        "SELECT key, '{}', seen_at, seen_at, 0 FROM inbound_requests"
    )
    op.drop_index("ix_inbound_requests_seen_at", "inbound_requests")
    op.drop_table("inbound_requests")
    op.create_table(
        "chat_holds",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("until", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_holds")
    op.create_table(
        "inbound_requests",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_inbound_requests_seen_at", "inbound_requests", ["seen_at"])
    op.execute("INSERT INTO inbound_requests (key, seen_at) SELECT key, received_at FROM inbox")
    op.drop_index("ix_inbox_due_at", "inbox")
    op.drop_table("inbox")
