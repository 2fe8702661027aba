"""Knowledge needs: the grouping's collection statistics are refitted only when the collection has grown by a set
share; ``need_fits`` records each refit (the last item it was fitted on) so every process rebuilds the same ones

Revision ID: 0008_needsinc
Revises: 0007_durable
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0008_needsinc"
down_revision: str | None = "0007_durable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "need_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_item_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_fits")),
    )


def downgrade() -> None:
    op.drop_table("need_fits")
