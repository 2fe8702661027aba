"""digest_runs: when the week's post was last refused in a way that keeps the digest due (``refused_at``)

A digest pass stops posting after two ``no_permission`` refusals with nothing posted (it looks like the whole
token's refusal), and the next pass asks first the channels not refused yet that week. Which channels were refused
was kept in the posting process only, so ``wieweet digest --send-due`` from cron (a new process every run), a
restart or another replica asked the same two channels first every time, and the week's other digests never went
out. The run of that channel and week now keeps when Slack last refused its post so (asked, not held without
asking): every pass, in any process, asks the runs never refused first, then the longest refused.

Downgrade drops the column (the order is forgotten; the runs and their claims are kept).

Revision ID: 0027_digestrefused
Revises: 0026_sqliteids
Create Date: 2026-12-06 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0027_digestrefused"
down_revision: str | None = "0026_sqliteids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refused_at", storage.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("digest_runs", schema=None) as batch_op:
        batch_op.drop_column("refused_at")
