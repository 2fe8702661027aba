"""knowledge gaps: one left by a search nobody else saw is private text

A gap's ``channel_is_private`` says whether its text may be quoted (digests, work-session proposals, a topic's label
and the session channel named after it) and its asker named as having asked in public. Before, a ``/wieweet`` search
typed in a public channel, answered to the asker alone, left a gap counted as public. From now on such a gap is
stored private; this revision does the same for the gaps stored before.

Which old gaps were seen is read from their search log: a Slack search logs its result set in the same transaction,
with the same asker, channel and time (``created_at``), and the log's ``posted_channel_id`` is set once the answer,
question and all, stands in a conversation (a mention's or shortcut's answer in its thread, a command's answer the
asker shared). A gap from Slack (``source`` ``slack``) with no such posted log is made private: the searches typed to
the bot alone, and, on the safe side, the few whose answer could not be posted. Gaps from routing, the command line
or the console are left as they are (routing already stored private questions' gaps private; the others have no
channel, which is never public).

Downgrade leaves them private: which were changed is not recorded, and private is the safe reading.

Revision ID: 0015_unseengaps
Revises: 0014_onestaffdm
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_unseengaps"
down_revision: str | None = "0014_onestaffdm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    gaps = sa.table(
        "knowledge_gaps",
        sa.column("id", sa.Integer),
        sa.column("asker_slack_id", sa.String),
        sa.column("channel_id", sa.String),
        sa.column("channel_is_private", sa.Boolean),
        sa.column("source", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    logs = sa.table(
        "search_logs",
        sa.column("user_slack_id", sa.String),
        sa.column("channel_id", sa.String),
        sa.column("posted_channel_id", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    seen = (
        sa.select(sa.literal(1))
        .select_from(logs)
        .where(
            logs.c.user_slack_id == gaps.c.asker_slack_id,
            logs.c.channel_id == gaps.c.channel_id,
            logs.c.created_at == gaps.c.created_at,
            logs.c.posted_channel_id.is_not(None),
        )
        .exists()
    )
    op.get_bind().execute(
        sa.update(gaps)
        .where(gaps.c.source == "slack", gaps.c.channel_is_private.is_(False), ~seen)
        .values(channel_is_private=True)
    )


def downgrade() -> None:
    pass  # the gaps stay private
