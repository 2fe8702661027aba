"""self-service: consent requests on experts, new outbox message kinds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models
from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0002"
down_revision: str | None = "0001"
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
)
NEW_KINDS = (*OLD_KINDS, "consent_request", "practice_review", "profile_review", "submission_outcome")
CHECK = "outbox_kind"  # named ck_outbox_messages_outbox_kind by the naming convention


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_outbox_messages_{CHECK}"), type_="check")
        batch_op.create_check_constraint(CHECK, sa.column("kind").in_(kinds))


def upgrade() -> None:
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_requested_at", storage.models.UTCDateTime(), nullable=True))
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    outbox = sa.table("outbox_messages", sa.column("kind", sa.String))
    op.execute(outbox.delete().where(outbox.c.kind.not_in(OLD_KINDS)))
    _replace_kind_check(OLD_KINDS)
    with foreign_keys_off((revision, down_revision)), op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.drop_column("consent_requested_at")
