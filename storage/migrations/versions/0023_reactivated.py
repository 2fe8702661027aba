"""outbox: one message kind, ``expert_reactivated`` (staff are told that an expert marked away because Slack said
their account was gone has an active account again and is available again)

Downgrade: the queued or sent ``expert_reactivated`` messages go, and so do their DM copies to staff (``staff_dm``
keyed ``staff_dm:expert_reactivated:…``).

Revision ID: 0023_reactivated
Revises: 0022_channelcheck
Create Date: 2026-12-06 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_reactivated"
down_revision: str | None = "0022_channelcheck"
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
    "staff_dm",
    "digest_stopped",
    "channel_check_failed",
)
NEW_KINDS = (*OLD_KINDS, "expert_reactivated")
CHECK = "outbox_kind"


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_outbox_messages_{CHECK}"), type_="check")
        batch_op.create_check_constraint(CHECK, sa.column("kind").in_(kinds))


def upgrade() -> None:
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    outbox = sa.table("outbox_messages", sa.column("kind", sa.String), sa.column("dedupe_key", sa.String))
    op.execute(outbox.delete().where(outbox.c.kind.not_in(OLD_KINDS)))
    op.execute(outbox.delete().where(outbox.c.dedupe_key.like("staff_dm:expert_reactivated:%")))
    _replace_kind_check(OLD_KINDS)
