"""Where a "who knows" answer was posted for others to see (search log access for channel members)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posted_channel_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("search_logs", schema=None) as batch_op:
        batch_op.drop_column("posted_channel_id")
