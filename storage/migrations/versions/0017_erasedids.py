"""erased people stay erased: a keyed hash of each erased e-mail address and Slack id

"Forget me" deletes the expert profile, so nothing was left for a later import to match: an old register file
imported again listed the person again (confirmed, with ``--consent-on-paper``) — while a withdrawn person stays
withdrawn. An erasure now leaves ``erased_identities``: HMAC-SHA-256 digests of the person's normalised e-mail
addresses and Slack id, keyed with this database's own random key (``erasure_key``, one row, made here). No personal
data is stored: a digest cannot be read back, and without the key it cannot be tested against a list of guesses.

Downgrade drops both tables (people erased before then could be imported again).

Revision ID: 0017_erasedids
Revises: 0016_endedcopies
Create Date: 2026-12-05 15:00:00
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.base import UTCDateTime

revision: str = "0017_erasedids"
down_revision: str | None = "0016_endedcopies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_identities",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_erased_identities")),
    )
    keys = op.create_table(
        "erasure_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_key")),
    )
    op.bulk_insert(keys, [{"id": 1, "secret": secrets.token_hex(32), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("erasure_key")
    op.drop_table("erased_identities")
