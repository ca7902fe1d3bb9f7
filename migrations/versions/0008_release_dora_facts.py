"""Releases keep what the DORA metrics need as columns (whether traffic moved, when the
oldest commit shipped was made), filled from each release's data, with indexes for the
window and for the next success of a service, so the metrics are SQL aggregates.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from bot.storage.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases", recreate="never") as batch:
        batch.add_column(
            sa.Column("moved_traffic", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("committed_at", UTCDateTime()))
    _fill()
    op.create_index(
        "ix_releases_environment_finished_at", "releases", ["environment", "finished_at"]
    )
    op.create_index(
        "ix_releases_service_state_finished_at", "releases", ["service", "state", "finished_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_releases_service_state_finished_at", "releases")
    op.drop_index("ix_releases_environment_finished_at", "releases")
    with op.batch_alter_table("releases", recreate="never") as batch:
        batch.drop_column("committed_at")
        batch.drop_column("moved_traffic")


def _fill() -> None:
    """As bot.storage.release_codec.fill_row sets them from then on."""
    releases = sa.table(
        "releases",
        sa.column("id", sa.Integer),
        sa.column("data", sa.JSON),
        sa.column("moved_traffic", sa.Boolean),
        sa.column("committed_at", UTCDateTime()),
    )
    bind = op.get_bind()
    updates = []
    for id_, data in bind.execute(sa.select(releases.c.id, releases.c.data)):
        moved = any(s.get("kind") == "step" and s.get("started_at") for s in data.get("stages", ()))
        committed = data.get("committed_at")
        when = datetime.fromisoformat(committed) if committed else None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if moved or when is not None:
            updates.append({"key": id_, "moved": moved, "committed": when})
    if updates:
        bind.execute(
            releases.update()
            .where(releases.c.id == sa.bindparam("key"))
            .values(moved_traffic=sa.bindparam("moved"), committed_at=sa.bindparam("committed")),
            updates,
        )
