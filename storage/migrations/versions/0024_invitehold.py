"""need_proposals: an invitation is reserved before its channel is made (``invite_held_by``, ``invite_held_until``)

Two staff members submitting the invite modal of one proposal at the same moment both created a channel and invited
the people; the one recorded second had its channel archived. The invitation is now reserved when it is planned, by
a conditional update naming the submission and how long the hold lasts: another submission is refused before any
Slack call, a retry of the same one keeps its hold, and an expired hold (a crashed attempt) can be taken over.

Downgrade drops both columns (a hold under way is forgotten: the record's conditional update still keeps one
invitation).

Revision ID: 0024_invitehold
Revises: 0023_reactivated
Create Date: 2026-12-06 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0024_invitehold"
down_revision: str | None = "0023_reactivated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_held_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("invite_held_until", storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.drop_column("invite_held_until")
        batch_op.drop_column("invite_held_by")
