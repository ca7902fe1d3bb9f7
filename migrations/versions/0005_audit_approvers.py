"""Audit rows name who had approved the release when they were written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new column with a default touches no row, so the append-only triggers stay quiet.
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.add_column(sa.Column("approvers", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.drop_column("approvers")
