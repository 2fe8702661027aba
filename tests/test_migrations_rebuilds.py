"""The revisions that rebuild a table on SQLite (batch mode: copy, drop the old table, rename) keep every row that
refers to it: dropping the old table with foreign key enforcement on would delete (``ON DELETE CASCADE``) or unlink
(``SET NULL``) those rows, so each runs its rebuild with enforcement off (``storage.migrations.sqlite_rebuild``).
Up and down, on SQLite and PostgreSQL (where nothing is rebuilt)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.runtime.migration import HeadMaintainer
from sqlalchemy import Connection, inspect, text
from sqlalchemy.orm import Session

from storage.db import Database, current_revision, downgrade, head_revision, upgrade
from storage.models import ExpertDecline, Question
from tests.test_migrations import assert_schema_matches_models
from tests.test_migrations_sqliteids import NOW, _fill

# (revision, the one before it, the table it rebuilds on SQLite)
REBUILDS = [
    ("0002", "0001", "experts"),  # downgrade drops consent_requested_at
    ("0003", "0002", "search_logs"),  # downgrade drops posted_channel_id
    ("0018_gapquestion", "0017_erasedids", "knowledge_gaps"),  # both ways: the question_id column and its key
    ("0024_invitehold", "0023_reactivated", "need_proposals"),  # downgrade drops the invite hold
    ("0025_inviteholder", "0024_invitehold", "need_proposals"),  # downgrade drops the invite holder
]


def _referring(conn: Connection, table: str) -> list[str]:
    """The tables with a foreign key to ``table`` at the database's revision."""
    inspector = inspect(conn)
    return sorted(
        t
        for t in inspector.get_table_names()
        if t != table and any(fk["referred_table"] == table for fk in inspector.get_foreign_keys(t))
    )


def _rows(conn: Connection, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))] for t in tables}


def _ids(conn: Connection, table: str) -> list[int]:
    return list(conn.execute(text(f"SELECT id FROM {table} ORDER BY id")).scalars())


def _fill_all(database: Database) -> None:
    """A row in every table referring to a rebuilt one (written at head, kept by the downgrades)."""
    _fill(database)
    with Session(database.engine) as session, session.begin():
        question = session.query(Question).one()
        session.add(
            ExpertDecline(expert_id=1, theme_key="wonen", question_id=question.id, declined_at=NOW),
        )


@pytest.mark.parametrize(("revision", "before", "table"), REBUILDS, ids=[r[0] for r in REBUILDS])
def test_a_rebuild_keeps_the_rows_referring_to_the_table(
    database: Database, revision: str, before: str, table: str
) -> None:
    _fill_all(database)
    downgrade(database.engine, before)
    with database.engine.connect() as conn:
        referring = _referring(conn, table)
        assert referring, table
        rows, ids = _rows(conn, referring), _ids(conn, table)
    assert ids and all(rows[t] for t in referring), [t for t in referring if not rows[t]]

    upgrade(database.engine, revision)
    with database.engine.connect() as conn:
        assert _ids(conn, table) == ids
        assert _rows(conn, referring) == rows  # nothing deleted nor unlinked by dropping the old table
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    downgrade(database.engine, before)
    with database.engine.connect() as conn:
        assert _ids(conn, table) == ids
        assert _rows(conn, referring) == rows

    upgrade(database.engine)
    assert_schema_matches_models(database)
    with database.engine.connect() as conn:  # and on to head: every one of those rows is still there
        assert {t: len(r) for t, r in _rows(conn, referring).items()} == {t: len(r) for t, r in rows.items()}


# (revision, the one before it): the upgrades that rebuild a table on SQLite
UPGRADE_REBUILDS = [("0018_gapquestion", "0017_erasedids"), ("0026_sqliteids", "0025_inviteholder")]


@pytest.mark.parametrize(("revision", "before"), UPGRADE_REBUILDS, ids=[r[0] for r in UPGRADE_REBUILDS])
def test_an_upgrade_stopped_right_after_its_rebuild_can_be_run_again(
    database: Database, monkeypatch: pytest.MonkeyPatch, revision: str, before: str
) -> None:
    """The rebuild is committed before Alembic writes the version row: a process stopped in between (here: the
    version row's update fails) must not leave the schema a revision ahead of the row, or the next upgrade runs the
    revision again on the rebuilt table. Run again, the upgrade goes through and the schema is the models'."""
    _fill_all(database)
    downgrade(database.engine, before)

    def stopped(self: HeadMaintainer, step: Any) -> None:
        raise RuntimeError("stopped before the version row was written")

    with monkeypatch.context() as patch:
        patch.setattr(HeadMaintainer, "update_to_step", stopped)
        with pytest.raises(RuntimeError, match="stopped before"):
            upgrade(database.engine, revision)
    with database.engine.connect() as conn:  # at one revision or the other, never between
        assert current_revision(conn) in {before, revision}
    upgrade(database.engine)
    with database.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    assert_schema_matches_models(database)
