"""outbox: a message can end without being sent (``ended_at``, ``ended_reason``) - a staff DM copy of a post whose
record was decided while it waited in the queue (the question assigned, closed, withdrawn or answered; the review or
proposal decided) is not posted with buttons nobody may use any more

Downgrade: an ended message becomes a given-up one (``failed_at`` its end, ``last_error`` its reason), which the older
version never sends either.

Revision ID: 0016_endedcopies
Revises: 0015_unseengaps
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0016_endedcopies"
down_revision: str | None = "0015_unseengaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

outbox = sa.table(
    "outbox_messages",
    sa.column("ended_at", storage.models.UTCDateTime()),
    sa.column("ended_reason", sa.String),
    sa.column("failed_at", storage.models.UTCDateTime()),
    sa.column("last_error", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", storage.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("ended_reason", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.execute(
        outbox.update()
        .where(outbox.c.ended_at.is_not(None), outbox.c.failed_at.is_(None))
        .values(failed_at=outbox.c.ended_at, last_error=sa.func.coalesce(outbox.c.ended_reason, "ended"))
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("ended_reason")
        batch_op.drop_column("ended_at")
