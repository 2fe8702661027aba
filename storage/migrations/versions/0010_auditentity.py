"""audit log: an index on (entity_type, id), so the index's sync finds the newest erasure in one look-up instead of
scanning the log every pass

Revision ID: 0010_auditentity
Revises: 0009_undelivered
Create Date: 2026-12-05 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_auditentity"
down_revision: str | None = "0009_undelivered"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_log_entity_type_id", "audit_log", ["entity_type", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity_type_id", table_name="audit_log")
