"""outbox: one message kind, ``channel_check_failed`` (staff are told that the day's check of which channels turned
private was refused for good: a bad token, a missing scope)

Downgrade: the queued or sent ``channel_check_failed`` messages go, and so do their DM copies to staff (``staff_dm``
keyed ``staff_dm:channel_check_failed:…``).

Revision ID: 0022_channelcheck
Revises: 0021_digeststopped
Create Date: 2026-12-06 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_channelcheck"
down_revision: str | None = "0021_digeststopped"
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
)
NEW_KINDS = (*OLD_KINDS, "channel_check_failed")
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
    op.execute(outbox.delete().where(outbox.c.dedupe_key.like("staff_dm:channel_check_failed:%")))
    _replace_kind_check(OLD_KINDS)
