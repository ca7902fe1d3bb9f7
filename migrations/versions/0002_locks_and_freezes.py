"""Environment locks and stop-the-line freezes declared in chat.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "env_locks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("lifted_at", UTCDateTime()),
        sa.Column("lifted_by", sa.String(32)),
        # Set while the lock holds, so the database allows one lock per service/environment.
        sa.Column("active_key", sa.String(160), unique=True),
    )
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("environment", sa.String(64), nullable=False),  # a name, or "*" for all
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("lifted_at", UTCDateTime()),
        sa.Column("lifted_by", sa.String(32)),
    )
    op.create_index("ix_freezes_environment", "freezes", ["environment"])


def downgrade() -> None:
    op.drop_index("ix_freezes_environment", "freezes")
    op.drop_table("freezes")
    op.drop_table("env_locks")
