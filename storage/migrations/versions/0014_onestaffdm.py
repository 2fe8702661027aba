"""outbox: one kind for every staff DM - an escalated question the triage channel never got is a ``staff_dm`` too

Every ``triage_undelivered`` message (queued, sent or given up) becomes the ``staff_dm`` it is now: its payload the
question as the triage post carried it (``original``, of ``original_kind`` "triage") with the channel and Slack's
reason beside it, its key the one rule of every staff DM - ``staff_dm:<the triage post's key>:<person>``, the post
being the question's last triage post queued before it - so a queued one is sent after the upgrade as any staff DM
is, the same failure noticed again queues nothing more, and a sent one is updated with the others when staff assign
or close the question. Then the kind is dropped.

Downgrade: a ``staff_dm`` standing in for a triage post becomes a ``triage_undelivered`` again (once per question
and person, as that kind was: the first kept). It loses what that kind could not hold: the copies of a question's
later escalations are deleted, sent ones too, and a copy sent because the triage channel was shared with another
organisation reads as any undelivered triage post.

Revision ID: 0014_onestaffdm
Revises: 0013_slacktext
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014_onestaffdm"
down_revision: str | None = "0013_slacktext"
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
    "staff_dm",
)
NEW_KINDS = tuple(k for k in OLD_KINDS if k != "triage_undelivered")
CHECK = "outbox_kind"
# what a triage_undelivered payload had beside the triage post's fields
_BESIDE = ("triage_channel_id", "error")

outbox = sa.table(
    "outbox_messages",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("question_id", sa.Integer),
    sa.column("recipient_slack_id", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("dedupe_key", sa.String),
)


def _replace_kind_check(kinds: Sequence[str]) -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(f"ck_outbox_messages_{CHECK}"), type_="check")
        batch_op.create_check_constraint(CHECK, sa.column("kind").in_(kinds))


def staff_dm_payload(old: dict[str, Any]) -> dict[str, Any]:
    """A ``triage_undelivered`` payload as the ``staff_dm`` carrying the triage post."""
    original = {k: v for k, v in old.items() if k not in _BESIDE}
    return {
        "original_kind": "triage",
        "original": original,
        "triage_channel_id": old.get("triage_channel_id"),
        "error": str(old.get("error") or ""),
    }


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.question_id, outbox.c.recipient_slack_id, outbox.c.payload, outbox.c.dedupe_key)
        .where(outbox.c.kind == "triage_undelivered")
        .order_by(outbox.c.id)
    ).all()
    for row in rows:
        post = conn.execute(
            sa.select(outbox.c.dedupe_key)
            .where(outbox.c.kind == "triage", outbox.c.question_id == row.question_id, outbox.c.id < row.id)
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).scalar()
        # no triage post left (deleted with its data): still one key per question and person, never a clash
        key = f"staff_dm:{post}:{row.recipient_slack_id}" if post is not None else f"staff_dm:{row.dedupe_key}"
        conn.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(kind="staff_dm", payload=staff_dm_payload(dict(row.payload or {})), dedupe_key=key[:200])
        )
    _replace_kind_check(NEW_KINDS)


def downgrade() -> None:
    _replace_kind_check(OLD_KINDS)
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.question_id, outbox.c.recipient_slack_id, outbox.c.payload)
        .where(outbox.c.kind == "staff_dm")
        .order_by(outbox.c.id)
    ).all()
    seen: set[str] = set()
    for row in rows:
        payload = dict(row.payload or {})
        if payload.get("original_kind") != "triage":
            continue
        key = f"triage_undelivered:q{row.question_id}:{row.recipient_slack_id}"
        if key in seen:  # a later escalation's: that kind was once per question and person
            conn.execute(outbox.delete().where(outbox.c.id == row.id))
            continue
        seen.add(key)
        old = {**dict(payload.get("original") or {}), **{k: payload.get(k) for k in _BESIDE}}
        conn.execute(
            outbox.update().where(outbox.c.id == row.id).values(kind="triage_undelivered", payload=old, dedupe_key=key)
        )
