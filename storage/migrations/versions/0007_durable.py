"""The outbox remembers that a post started: after a crash it looks in Slack before posting again

Revision ID: 0007_durable
Revises: 0006
Create Date: 2026-12-03 19:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0007_durable"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_started_at", storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("post_started_at")
