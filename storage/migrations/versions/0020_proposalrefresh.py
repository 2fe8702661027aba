"""a proposal's posts waiting to be rendered again are recorded: a failed update is tried again after a restart

When a question of a proposed work session's topic is withdrawn or made private, the proposal's posts are updated
(counted, no longer quoted). An update that met a passing failure was only tried again in the process's memory. The
change now records the proposal in ``need_proposal_refreshes`` in its own transaction; the job runner of any
process updates the posts and removes the row.

Downgrade drops the table (updates still waiting are not made).

Revision ID: 0020_proposalrefresh
Revises: 0019_cleantitles
Create Date: 2026-12-05 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0020_proposalrefresh"
down_revision: str | None = "0019_cleantitles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "need_proposal_refreshes",
        sa.Column("proposal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("mark", sa.Integer(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["need_proposals.id"],
            name=op.f("fk_need_proposal_refreshes_proposal_id_need_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_need_proposal_refreshes")),
    )
    with op.batch_alter_table("need_proposal_refreshes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_proposal_refreshes_due_at"), ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("need_proposal_refreshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_proposal_refreshes_due_at"))
    op.drop_table("need_proposal_refreshes")
