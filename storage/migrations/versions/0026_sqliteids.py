"""SQLite never gives an id twice (AUTOINCREMENT) for the tables whose ids travel outside their rows

SQLite reused the highest id after that row was deleted (an INTEGER PRIMARY KEY without AUTOINCREMENT): an erased
expert's id went to the next person who joined or was imported, a purged search log's to the next search, a
deleted topic's to the next topic. Every such id in a Slack button value, a modal's metadata, a message or a pending
request is a claim checked against the database, and a reused one passed that check and reached another person or
record. These tables are rebuilt with AUTOINCREMENT, so an id once given stays used (``sqlite_sequence``):

* experts, practices: staff's review buttons and modals, profile and practice edit forms, picks of experts;
* questions, routings: the asker's and the expert's buttons, DMs and timers;
* need_topics, need_items, need_proposals: the needs' buttons, work session invitations, expertise requests, and
  the grouping's refit watermark (``need_fits.last_item_id``);
* knowledge_gaps, search_logs: the answers' feedback, "more results" and share buttons, gaps quoted in the needs;
* outbox_messages: a staff copy is keyed by the id of the post it copies.

Every column, index, constraint, foreign key and row is kept; the rebuild runs with foreign key enforcement off
(``storage.migrations.sqlite_rebuild``: dropping the old table would otherwise delete or unlink the rows that refer
to it) and is checked with ``PRAGMA foreign_key_check`` before it is committed. PostgreSQL's sequences never reuse:
nothing to do there.

Downgrade rebuilds the same tables without AUTOINCREMENT (ids may then be reused again).

Revision ID: 0026_sqliteids
Revises: 0025_inviteholder
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from storage.migrations.sqlite_rebuild import foreign_keys_off

revision: str = "0026_sqliteids"
down_revision: str | None = "0025_inviteholder"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (  # parents before the tables that refer to them
    "experts",
    "practices",
    "questions",
    "routings",
    "knowledge_gaps",
    "search_logs",
    "need_topics",
    "need_items",
    "need_proposals",
    "outbox_messages",
)


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    step = (down_revision, revision) if autoincrement else (revision, down_revision)  # upgrade, else downgrade
    with foreign_keys_off(step):
        for table in TABLES:
            # nothing changes but the table's definition: copied as it is, rows and all
            with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
                pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
