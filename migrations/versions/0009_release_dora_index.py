"""The DORA report reads production releases by (environment, finished_at) and needs only
their service, state, moved_traffic and committed_at: one index holding all of them lets it
scan the index alone (an index-only scan on PostgreSQL, a covering index on SQLite) instead
of the table's wide rows. It replaces the (environment, finished_at) index, its prefix.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ["environment", "finished_at", "service", "state", "moved_traffic", "committed_at"]


def upgrade() -> None:
    op.create_index("ix_releases_dora", "releases", COLUMNS)
    op.drop_index("ix_releases_environment_finished_at", "releases")


def downgrade() -> None:
    op.create_index(
        "ix_releases_environment_finished_at", "releases", ["environment", "finished_at"]
    )
    op.drop_index("ix_releases_dora", "releases")
