"""knowledge needs: topics, their questions and gaps, proposed work sessions; two outbox message kinds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "expert_request",
    "expert_reminder",
    "routing_closed",
    "question_updated",
    "answer_to_asker",
    "question_answered",
    "asker_update",
    "triage",
    "consent_request",
    "practice_review",
    "profile_review",
    "submission_outcome",
)
NEW_KINDS = (*OLD_KINDS, "needs_proposal", "expertise_request")
CHECK = "outbox_kind"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_outbox_messages_{CHECK}"), type_="check")
        batch_op.create_check_constraint(CHECK, sa.column("kind").in_(kinds))


def upgrade() -> None:
    op.create_table(
        "need_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("label_item", sa.String(length=40), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_topics")),
    )
    op.create_table(
        "need_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("gap_id", sa.Integer(), nullable=True),
        sa.Column("asked_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("assigned_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gap_id"], ["knowledge_gaps.id"], name=op.f("fk_need_items_gap_id_knowledge_gaps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_need_items_question_id_questions"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["need_topics.id"], name=op.f("fk_need_items_topic_id_need_topics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_items")),
        sa.UniqueConstraint("gap_id", name=op.f("uq_need_items_gap_id")),
        sa.UniqueConstraint("question_id", name=op.f("uq_need_items_question_id")),
    )
    with op.batch_alter_table("need_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_items_asked_at"), ["asked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_items_topic_id"), ["topic_id"], unique=False)
    op.create_table(
        "need_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("open_topic_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "invited",
                "dismissed",
                "done",
                name="proposal_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("window_start", storage.models.UTCDateTime(), nullable=False),
        sa.Column("window_end", storage.models.UTCDateTime(), nullable=False),
        sa.Column("organisations", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("notes_url", sa.String(length=2000), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"], ["practices.id"], name=op.f("fk_need_proposals_practice_id_practices"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["need_topics.id"], name=op.f("fk_need_proposals_topic_id_need_topics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need_proposals")),
        sa.UniqueConstraint("open_topic_id", name=op.f("uq_need_proposals_open_topic_id")),
    )
    with op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_need_proposals_topic_id"), ["topic_id"], unique=False)
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    outbox = sa.table("outbox_messages", sa.column("kind", sa.String))
    op.execute(outbox.delete().where(outbox.c.kind.not_in(OLD_KINDS)))
    _replace_kind_check(OLD_KINDS)
    with op.batch_alter_table("need_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_proposals_topic_id"))
    op.drop_table("need_proposals")
    with op.batch_alter_table("need_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_items_topic_id"))
        batch_op.drop_index(batch_op.f("ix_need_items_asked_at"))
    op.drop_table("need_items")
    op.drop_table("need_topics")
