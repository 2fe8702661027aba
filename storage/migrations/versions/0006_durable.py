"""The inbox: every acknowledged Slack request, recorded before its ack

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("user_slack_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("post_started_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("posted_channel_id", sa.String(length=32), nullable=True),
        sa.Column("posted_ts", sa.String(length=32), nullable=True),
        sa.Column("done_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("failed_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_requests")),
        sa.UniqueConstraint("request_key", name="uq_inbox_requests_request_key"),
    )
    op.create_index("ix_inbox_requests_pending", "inbox_requests", ["done_at", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_inbox_requests_received_at"), "inbox_requests", ["received_at"], unique=False)
    op.create_index(op.f("ix_inbox_requests_user_slack_id"), "inbox_requests", ["user_slack_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_requests_user_slack_id"), table_name="inbox_requests")
    op.drop_index(op.f("ix_inbox_requests_received_at"), table_name="inbox_requests")
    op.drop_index("ix_inbox_requests_pending", table_name="inbox_requests")
    op.drop_table("inbox_requests")
