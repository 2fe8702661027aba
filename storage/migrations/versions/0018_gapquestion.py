"""a routing gap knows its question: a withdrawn question's words are not quoted through its gap

Routing records a knowledge gap with the question's own text when nobody fits. Withdrawing the question hid the
question but not that gap, so the knowledge needs and the digest could still quote it. ``knowledge_gaps.question_id``
links a gap recorded from now on to its question; withdrawing the question marks its gaps private. Gaps recorded
before this revision stay without a link; those of a question withdrawn already (a routing gap with its asker,
channel and text) are made private here.

On SQLite the gaps table is rebuilt with foreign key enforcement off (``storage.migrations.sqlite_rebuild``):
with it on, dropping the old table deleted every need item made from a gap (``ON DELETE CASCADE``).

Downgrade drops the column (the same way).

Revision ID: 0018_gapquestion
Revises: 0017_erasedids
Create Date: 2026-12-05 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0018_gapquestion"
down_revision: str | None = "0017_erasedids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with foreign_keys_off((down_revision, revision)):
        with op.batch_alter_table("knowledge_gaps", schema=None) as batch_op:
            batch_op.add_column(sa.Column("question_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f("ix_knowledge_gaps_question_id"), ["question_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f("fk_knowledge_gaps_question_id_questions"),
                "questions",
                ["question_id"],
                ["id"],
                ondelete="SET NULL",
            )
        gaps = sa.table(
            "knowledge_gaps",
            sa.column("query", sa.Text),
            sa.column("asker_slack_id", sa.String),
            sa.column("channel_id", sa.String),
            sa.column("channel_is_private", sa.Boolean),
            sa.column("source", sa.String),
        )
        questions = sa.table(
            "questions",
            sa.column("text", sa.Text),
            sa.column("asker_slack_id", sa.String),
            sa.column("channel_id", sa.String),
            sa.column("status", sa.String),
        )
        withdrawn = (
            sa.select(sa.literal(1))
            .select_from(questions)
            .where(
                questions.c.status == "cancelled",
                questions.c.asker_slack_id == gaps.c.asker_slack_id,
                sa.or_(
                    questions.c.channel_id == gaps.c.channel_id,
                    sa.and_(questions.c.channel_id.is_(None), gaps.c.channel_id.is_(None)),
                ),
                sa.func.substr(questions.c.text, 1, 2000) == gaps.c.query,
            )
            .exists()
        )
        op.get_bind().execute(
            sa.update(gaps)
            .where(gaps.c.source == "routing", gaps.c.channel_is_private.is_(False), withdrawn)
            .values(channel_is_private=True)
        )


def downgrade() -> None:
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("knowledge_gaps", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_knowledge_gaps_question_id_questions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_knowledge_gaps_question_id"))
        batch_op.drop_column("question_id")
