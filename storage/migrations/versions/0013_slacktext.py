"""search logs and knowledge gaps from Slack: the question as typed (Slack's ``&amp;``, ``&lt;``, ``&gt;`` decoded,
its mentions, channels and links made plain text), as the bot stores it from now on

Before, a question asked in Slack (a mention, a DM, ``/wieweet``, the "Wie weet dit?" shortcut) was stored as Slack
sent it: "R&D <5 jaar" as ``R&amp;D &lt;5 jaar``, searched on "amp" and "lt" and shown double-escaped. Only rows
known to hold that text are decoded: search logs with a Slack user (the Slack answers are their only writer; the
command line logs none) and knowledge gaps whose source is ``slack``. A question asked through the ask form, a
practice or a gap recorded by routing may hold typed text or text pre-filled from a message: they cannot be told
apart, so they are left as they are. The gaps' grouping key (``normalized``, the analysed terms) is left too: it is
made by the matcher, which a migration does not run; old and new gaps of one question may group apart until the old
ones age out.

The decoding is a copy of ``handlers.slack_text.from_slack`` as it was when this revision was written (a migration
does not import code that may change later). Downgrade leaves the text decoded (it reads as typed either way).

Revision ID: 0013_slacktext
Revises: 0012_staffdm
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_slacktext"
down_revision: str | None = "0012_staffdm"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
_SEQUENCE = re.compile(r"<([^<>]*)>")
_BROADCASTS = frozenset({"here", "channel", "everyone", "group"})
WIDE_AT = "\uff20"


def _render(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label}" if label else "@…"
    if target.startswith("#"):
        return f"#{label}" if label else "#…"
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        if word in _BROADCASTS or word == "subteam":
            return WIDE_AT + (label.removeprefix("@") or (word if word in _BROADCASTS else "…"))
        return label
    if label:
        return label
    return target.removeprefix("mailto:")


def from_slack(text: str) -> str:
    rendered = _SEQUENCE.sub(lambda m: _render(m.group(1)), text)
    return rendered.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _decode(table: sa.TableClause, *, column: sa.ColumnClause[str], where: sa.ColumnElement[bool]) -> None:
    conn = op.get_bind()
    marked = sa.or_(column.contains("&"), column.contains("<"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, column).where(where, marked, table.c.id > last).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row_id, value in rows:
            plain = from_slack(value or "")
            if plain != value:
                conn.execute(sa.update(table).where(table.c.id == row_id).values({column.name: plain}))
        last = rows[-1][0]


def upgrade() -> None:
    logs = sa.table("search_logs", sa.column("id", sa.Integer), sa.column("query", sa.Text), sa.column("user_slack_id"))
    _decode(logs, column=logs.c.query, where=logs.c.user_slack_id.is_not(None))
    gaps = sa.table("knowledge_gaps", sa.column("id", sa.Integer), sa.column("query", sa.Text), sa.column("source"))
    _decode(gaps, column=gaps.c.query, where=gaps.c.source == "slack")


def downgrade() -> None:
    pass  # the text stays as typed
