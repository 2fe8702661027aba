"""Revision 0026_sqliteids: the tables whose ids travel are rebuilt on SQLite with AUTOINCREMENT, keeping every
column, index, constraint, foreign key and row (the rows that refer to them too), and back again (SQLite and
PostgreSQL, where it changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.orm import Session

from bot.register.themes import ensure_default_themes
from storage.db import Database, downgrade, upgrade
from storage.models import (
    Answer,
    Base,
    Expert,
    Feedback,
    KnowledgeGap,
    NeedItem,
    NeedProposal,
    NeedProposalRefresh,
    NeedTopic,
    OutboxKind,
    OutboxMessage,
    Practice,
    ProposalStatus,
    Question,
    QuestionEvent,
    Routing,
    SearchLog,
    Theme,
    Timer,
    TimerKind,
)
from tests.test_migrations import assert_schema_matches_models

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
REBUILT = (
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
# every table referring to a rebuilt one: (table, a column to read) — its rows and references must all stay
REFERRING = {
    "expert_themes": "expert_id",
    "practices": "contact_expert_id",
    "routings": "expert_id",
    "answers": "expert_id",
    "timers": "routing_id",
    "question_events": "routing_id",
    "knowledge_gaps": "question_id",
    "feedback": "search_log_id",
    "need_items": "gap_id",
    "need_proposals": "practice_id",
    "need_proposal_refreshes": "proposal_id",
    "outbox_messages": "routing_id",
}


def _structure(conn: Connection) -> dict[str, Any]:
    """Everything the database says about each table but its rows: columns, keys, indexes, constraints."""
    inspector = inspect(conn)
    out: dict[str, Any] = {}
    for table in sorted(Base.metadata.tables):
        out[table] = (
            [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table),
            sorted(map(repr, inspector.get_foreign_keys(table))),
            sorted(map(repr, inspector.get_indexes(table))),
            sorted(map(repr, inspector.get_unique_constraints(table))),
            sorted(map(repr, inspector.get_check_constraints(table))),
        )
    return out


def _rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables = set(REBUILT) | set(REFERRING)
    return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))] for t in sorted(tables)}


def _autoincrement(conn: Connection) -> set[str]:
    if conn.dialect.name != "sqlite":
        return set()
    rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
    return {name for name, sql in rows if "AUTOINCREMENT" in sql.upper()}


def _fill(database: Database) -> None:
    """One row in each rebuilt table and in each table referring to one (the schema at 0025 is the models' but for
    AUTOINCREMENT, so the models write it)."""
    with Session(database.engine) as session, session.begin():
        ensure_default_themes(session, now=NOW)
        theme = session.get(Theme, "wonen")
        griet = Expert(email="griet@leuven.be", name="Griet", organisation="Leuven", themes=[theme])
        sam = Expert(email="sam@gent.be", name="Sam", organisation="Gent", themes=[theme])
        session.add_all([griet, sam])
        session.flush()
        practice = Practice(title="Woonwinkel", summary="Eén loket.", contact_expert_id=sam.id)
        question = Question(text="wie weet iets over leegstand?", created_at=NOW, updated_at=NOW)
        session.add_all([practice, question])
        session.flush()
        routing = Routing(question_id=question.id, expert_id=sam.id)
        search = SearchLog(query="leegstand", created_at=NOW)
        session.add_all([routing, search])
        session.flush()
        gap = KnowledgeGap(query="drones", normalized="drones", question_id=question.id, created_at=NOW)
        topic = NeedTopic(label="drones")
        session.add_all([gap, topic, Feedback(search_log_id=search.id, vote=1)])
        session.flush()
        proposal = NeedProposal(
            topic_id=topic.id,
            open_topic_id=topic.id,
            status=ProposalStatus.OPEN,
            window_start=NOW,
            window_end=NOW,
            practice_id=practice.id,
        )
        session.add_all(
            [
                proposal,
                NeedItem(topic_id=topic.id, gap_id=gap.id, asked_at=NOW),
                Answer(question_id=question.id, expert_id=sam.id, text="Ik weet het."),
                Timer(kind=TimerKind.REMIND, due_at=NOW, question_id=question.id, routing_id=routing.id),
                QuestionEvent(question_id=question.id, routing_id=routing.id, to_status="asked"),
                OutboxMessage(
                    kind=OutboxKind.EXPERT_REQUEST, dedupe_key="ask:1", question_id=question.id, routing_id=routing.id
                ),
            ]
        )
        session.flush()
        session.add(NeedProposalRefresh(proposal_id=proposal.id, due_at=NOW))


def test_0026_rebuilds_with_autoincrement_keeping_every_row_reference_and_constraint(database: Database) -> None:
    sqlite = database.engine.dialect.name == "sqlite"
    downgrade(database.engine, "0025_inviteholder")
    _fill(database)
    with database.engine.connect() as conn:
        before, rows = _structure(conn), _rows(conn)
        assert _autoincrement(conn) == set()
    assert all(rows[t] for t in rows), [t for t in rows if not rows[t]]  # every table has a row to keep

    upgrade(database.engine, "0026_sqliteids")  # the revisions after it may add columns (checked at head below)
    with database.engine.connect() as conn:
        assert _structure(conn) == before
        assert _rows(conn) == rows  # nothing deleted nor unlinked by dropping the old tables
        assert _autoincrement(conn) == (set(REBUILT) if sqlite else set())
        if sqlite:  # the connection enforces foreign keys again
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1

    # the highest id deleted after the upgrade is not given again
    with Session(database.engine) as session, session.begin():
        highest = max(e.id for e in session.query(Expert))
        session.query(NeedProposalRefresh).delete()
        session.query(NeedProposal).delete()
        session.delete(session.get(Expert, highest))
    with Session(database.engine) as session, session.begin():
        newcomer = Expert(email="new@aalst.be", name="Nieuw", organisation="Aalst")
        session.add(newcomer)
        session.flush()
        assert newcomer.id > highest
        session.delete(newcomer)

    with database.engine.connect() as conn:
        rows_after = _rows(conn)
    downgrade(database.engine, "0025_inviteholder")
    with database.engine.connect() as conn:
        assert _structure(conn) == before
        assert _rows(conn) == rows_after
        assert _autoincrement(conn) == set()
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_a_new_database_has_autoincrement_on_the_tables_whose_ids_travel(database: Database) -> None:
    with database.engine.connect() as conn:
        assert _autoincrement(conn) == (set(REBUILT) if conn.dialect.name == "sqlite" else set())
    assert {t.name for t in Base.metadata.sorted_tables if t.kwargs.get("sqlite_autoincrement")} == set(REBUILT)
