"""need_proposals: who holds an invitation under way (``invite_held_for``, the staff member's Slack user id)

The hold named only the submission (its request key), so a second staff member refused meanwhile was told the work
session is being invited, not by whom; a Dismiss refused while it is under way could not say whom to ask either.
The hold now keeps the staff member who submitted it, set and cleared with the hold itself.

Downgrade drops the column (a hold under way keeps its submission and time limit; only the name is forgotten).

Revision ID: 0025_inviteholder
Revises: 0024_invitehold
Create Date: 2026-12-06 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0025_inviteholder"
down_revision: str | None = "0024_invitehold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_held_for", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.drop_column("invite_held_for")
