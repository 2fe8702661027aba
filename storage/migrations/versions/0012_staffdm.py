"""outbox: one message kind, ``staff_dm`` (any other message for the triage channel that it never got - a practice
or profile waiting for review, a proposed work session, an expert marked away - reaches each staff member by DM)

Revision ID: 0012_staffdm
Revises: 0011_triagedm
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_staffdm"
down_revision: str | None = "0011_triagedm"
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
    "needs_proposal",
    "expertise_request",
    "delivery_failed",
    "triage_undelivered",
)
NEW_KINDS = (*OLD_KINDS, "staff_dm")
CHECK = "outbox_kind"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_outbox_messages_{CHECK}"), type_="check")
        batch_op.create_check_constraint(CHECK, sa.column("kind").in_(kinds))


def upgrade() -> None:
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    outbox = sa.table("outbox_messages", sa.column("kind", sa.String))
    op.execute(outbox.delete().where(outbox.c.kind.not_in(OLD_KINDS)))
    _replace_kind_check(OLD_KINDS)
