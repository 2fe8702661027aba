"""Migrations: upgrade from empty creates the models' schema exactly (no drift); down and up again works."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.db import Database, alembic_config, current_revision, downgrade, head_revision, upgrade
from storage.models import Base, Question, QuestionStatus


def assert_schema_matches_models(database: Database) -> None:
    with database.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations drifted apart: {diff}"
        # what `alembic check` does in CI: autogenerate against the migrated database must find nothing to do
        command.check(alembic_config(conn))


def test_upgrade_from_empty_matches_models(database: Database) -> None:
    downgrade(database.engine, "base")
    with database.engine.connect() as conn:
        assert current_revision(conn) is None
        assert not set(Base.metadata.tables) & set(inspect(conn).get_table_names())
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_a_new_sqlite_file_is_created_at_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        assert_schema_matches_models(database)
    finally:
        database.dispose()


def test_constraints_the_registers_rely_on_exist(database: Database) -> None:
    with database.engine.connect() as conn:
        inspector = inspect(conn)
        uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("practices")}
        assert ("title", "city") in uniques
        expert_uniques = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("experts")}
        assert {("email",), ("slack_user_id",)} <= expert_uniques
        for table in ("expert_themes", "practice_themes"):
            theme_fk = next(fk for fk in inspector.get_foreign_keys(table) if fk["referred_table"] == "themes")
            assert theme_fk["options"].get("onupdate", "").upper() == "CASCADE", table
            assert theme_fk["options"].get("ondelete", "").upper() == "CASCADE", table


def test_downgrade_to_base_and_up_again_twice(database: Database) -> None:
    for _ in range(2):
        downgrade(database.engine, "base")
        with database.engine.connect() as conn:
            assert current_revision(conn) is None
        upgrade(database.engine)
    assert_schema_matches_models(database)


def test_second_open_does_not_migrate_again(database: Database) -> None:
    again = Database(database.url)
    with again.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    again.dispose()


def _insert_outbox(database: Database, kind: str, key: str) -> None:
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox_messages (kind, payload, dedupe_key, created_at, next_attempt_at, attempts, "
                "last_error) VALUES (:kind, '{}', :key, '2026-01-05 09:00:00', '2026-01-05 09:00:00', 0, '')"
            ),
            {"kind": kind, "key": key},
        )


def test_0002_keeps_data_and_allows_the_self_service_message_kinds(database: Database) -> None:
    downgrade(database.engine, "0001")
    _insert_outbox(database, "triage", "kept")
    with pytest.raises(IntegrityError):
        _insert_outbox(database, "consent_request", "too-early")
    upgrade(database.engine)
    assert_schema_matches_models(database)
    _insert_outbox(database, "consent_request", "new-kind")
    with pytest.raises(IntegrityError):
        _insert_outbox(database, "no_such_kind", "refused")
    with database.engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox_messages")).scalars())
    assert keys == {"kept", "new-kind"}
    # and back: messages of kinds 0001 does not know are dropped, the others stay
    downgrade(database.engine, "0001")
    with database.engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox_messages")).scalars())
    assert keys == {"kept"}
    upgrade(database.engine)


def test_0013_decodes_the_questions_known_to_come_from_slack_and_nothing_else(database: Database) -> None:
    downgrade(database.engine, "0012_staffdm")
    encoded = "wie weet iets over R&amp;D &lt;5 jaar? <!here> <#C0WONEN01|wonen> &amp;lt;"
    with database.engine.begin() as conn:
        for query, user in [(encoded, "U0NLUSER1"), (encoded, None), ("zonder tekens", "U0NLUSER1")]:
            conn.execute(
                text(
                    "INSERT INTO search_logs (query, user_slack_id, gap, results, created_at) "
                    "VALUES (:query, :user, false, '{}', '2026-12-01 09:00:00')"
                ),
                {"query": query, "user": user},
            )
        for source in ("slack", "routing", "cli"):
            conn.execute(
                text(
                    "INSERT INTO knowledge_gaps (query, normalized, themes, channel_is_private, source, created_at) "
                    "VALUES (:query, 'amp jaar lt', '[]', false, :source, '2026-12-01 09:00:00')"
                ),
                {"query": encoded, "source": source},
            )
    upgrade(database.engine)
    typed = "wie weet iets over R&D <5 jaar? \uff20here #wonen &lt;"
    with database.engine.connect() as conn:
        logs = conn.execute(text("SELECT query FROM search_logs ORDER BY id")).scalars().all()
        gaps = conn.execute(text("SELECT query, normalized FROM knowledge_gaps ORDER BY id")).all()
    assert logs == [typed, encoded, "zonder tekens"]  # the command line's log is no Slack text: left alone
    assert [tuple(g) for g in gaps] == [(typed, "amp jaar lt"), (encoded, "amp jaar lt"), (encoded, "amp jaar lt")]
    assert_schema_matches_models(database)


def test_0015_makes_the_gaps_of_searches_nobody_else_saw_private(database: Database) -> None:
    downgrade(database.engine, "0014_onestaffdm")
    rows = [  # (source, asker, channel, minute, the search's answer posted in)
        ("slack", "U0NLUSER1", "C0PUBLIC1", 1, None),  # /wieweet in a public channel, answered to the asker alone
        ("slack", "U0NLUSER1", "C0PUBLIC1", 2, "C0PUBLIC1"),  # a mention, answered in its thread
        ("slack", "U0NLUSER2", "C0PUBLIC1", 3, "C0PUBLIC1"),  # a command its asker shared in the channel
        ("slack", "U0NLUSER2", "C0PUBLIC1", 4, None),  # the same asker, another command not shared
        ("routing", "U0NLUSER1", "C0PUBLIC1", 5, None),  # a question put to experts, shown in the channel
        ("cli", None, None, 6, None),
    ]
    with database.engine.begin() as conn:
        for source, user, channel, minute, posted in rows:
            at = f"2026-12-01 09:0{minute}:00"
            conn.execute(
                text(
                    "INSERT INTO knowledge_gaps (query, normalized, themes, asker_slack_id, channel_id, "
                    "channel_is_private, source, created_at) "
                    "VALUES ('wie weet', 'wie weet', '[]', :user, :channel, false, :source, :at)"
                ),
                {"user": user, "channel": channel, "source": source, "at": at},
            )
            if source == "slack":
                conn.execute(
                    text(
                        "INSERT INTO search_logs (query, user_slack_id, channel_id, posted_channel_id, gap, results, "
                        "created_at) VALUES ('wie weet', :user, :channel, :posted, true, '{}', :at)"
                    ),
                    {"user": user, "channel": channel, "posted": posted, "at": at},
                )
    upgrade(database.engine)
    with database.engine.connect() as conn:
        private = conn.execute(text("SELECT channel_is_private FROM knowledge_gaps ORDER BY id")).scalars().all()
    assert [bool(p) for p in private] == [True, False, False, True, False, False]
    assert_schema_matches_models(database)


def test_0016_downgrade_keeps_an_ended_message_unsent_as_a_given_up_one(database: Database) -> None:
    _insert_outbox(database, "staff_dm", "ended")
    _insert_outbox(database, "staff_dm", "waiting")
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE outbox_messages SET ended_at = '2026-01-05 09:05:00', ended_reason = 'no_longer_waits' "
                "WHERE dedupe_key = 'ended'"
            )
        )
    downgrade(database.engine, "0015_unseengaps")
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT dedupe_key, failed_at, last_error FROM outbox_messages ORDER BY id")).all()
    assert [(r.dedupe_key, r.failed_at is not None, r.last_error) for r in rows] == [
        ("ended", True, "no_longer_waits"),  # the older version never sends it either
        ("waiting", False, ""),
    ]
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_0017_gives_each_database_its_own_erasure_key(database: Database, tmp_path: Path) -> None:
    downgrade(database.engine, "0016_endedcopies")
    with database.engine.connect() as conn:
        assert not {"erased_identities", "erasure_key"} & set(inspect(conn).get_table_names())
    upgrade(database.engine)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        keys = []
        for db in (database, other):
            with db.engine.connect() as conn:
                keys.append(conn.execute(text("SELECT id, secret FROM erasure_key")).all())
    finally:
        other.dispose()
    assert [[row[0] for row in k] for k in keys] == [[1], [1]]
    assert len(keys[0][0][1]) == 64 and keys[0][0][1] != keys[1][0][1]  # random, not shared by deployments
    assert_schema_matches_models(database)


def test_0018_makes_the_routing_gaps_of_questions_withdrawn_already_private(database: Database) -> None:
    downgrade(database.engine, "0017_erasedids")
    questions = [  # (asker, channel, text, status)
        ("U0NLUSER1", "C0PUBLIC1", "wie weet iets over drones?", "cancelled"),
        ("U0NLUSER2", "C0PUBLIC1", "wie weet iets over drones?", "escalated"),
        ("U0NLUSER1", None, "wie weet iets over daken?", "cancelled"),
    ]
    gaps = [  # (source, asker, channel, query)
        ("routing", "U0NLUSER1", "C0PUBLIC1", "wie weet iets over drones?"),  # the withdrawn question's
        ("routing", "U0NLUSER2", "C0PUBLIC1", "wie weet iets over drones?"),  # another asker's, still open
        ("routing", "U0NLUSER1", None, "wie weet iets over daken?"),  # withdrawn, asked outside a channel
        ("slack", "U0NLUSER1", "C0PUBLIC1", "wie weet iets over drones?"),  # a search, not the question
    ]
    with Session(database.engine) as session, session.begin():  # the questions table is the same at 0017
        session.add_all(
            Question(
                asker_slack_id=asker,
                text=body,
                language="nl",
                status=QuestionStatus(status),
                channel_id=channel,
                created_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
                updated_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
            )
            for asker, channel, body, status in questions
        )
    with database.engine.begin() as conn:
        for source, asker, channel, query in gaps:
            conn.execute(
                text(
                    "INSERT INTO knowledge_gaps (query, normalized, themes, asker_slack_id, channel_id, "
                    "channel_is_private, source, created_at) "
                    "VALUES (:query, :normalized, '[]', :asker, :channel, false, :source, '2026-12-01 09:00:00')"
                ),
                {"query": query, "normalized": query, "asker": asker, "channel": channel, "source": source},
            )
    upgrade(database.engine)
    with database.engine.connect() as conn:
        private = conn.execute(text("SELECT channel_is_private FROM knowledge_gaps ORDER BY id")).scalars().all()
    assert [bool(p) for p in private] == [True, False, True, False]
    assert_schema_matches_models(database)


def test_0019_cleans_practice_titles_stored_before_the_title_rule_and_keeps_them_unique(database: Database) -> None:
    downgrade(database.engine, "0018_gapquestion")
    long = "Lange titel " + "x" * 287  # 299 characters, clean: its dirty copy (300) needs a suffix within 300
    practices = [  # (title, city) as stored before the rule
        ("Pop-upwinkels", "Aalst"),  # clean: keeps its title
        ("Heffing\u200b op leegstand", "Gent"),  # a zero-width space
        ("\u202eGroendaken\u202c", "Gent"),  # bidi controls
        ("Pop-up\u00adwinkels", "Aalst"),  # a soft hyphen: then the same as the clean one, gets a suffix
        ("POP-UP\u2060WINKELS", "aalst"),  # the same again by the register's key (case-insensitive)
        ("Fiets\x07straten \t\u200f  plan", "Brugge"),  # a control character and a whitespace run
        ("\u200b\ufeff", "Leuven"),  # nothing but format characters
        ("Zwerfkatten", "Gent"),  # clean
        (long, "Gent"),
        (long[:150] + "\u200b" + long[150:], "gent"),
    ]
    with database.engine.begin() as conn:
        for title, city in practices:
            conn.execute(
                text(
                    "INSERT INTO practices (title, city, summary, organisation, tags, lessons, contact_email, url, "
                    "status, moderation_note, created_at, updated_at) VALUES (:title, :city, 'Samenvatting', '', "
                    "'[]', '', '', '', 'published', '', '2026-01-05 09:00:00', '2026-01-05 09:00:00')"
                ),
                {"title": title, "city": city},
            )
    upgrade(database.engine)
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, title FROM practices ORDER BY id")).all()
    titles = [title for _, title in rows]
    assert titles[:8] == [
        "Pop-upwinkels",
        "Heffing op leegstand",
        "Groendaken",
        "Pop-upwinkels (2)",
        "POP-UPWINKELS (3)",
        "Fietsstraten plan",
        f"Praktijk {rows[6][0]}",
        "Zwerfkatten",
    ]
    assert titles[8] == long and titles[9] == long[:296].rstrip() + " (2)" and len(titles[9]) <= 300
    downgrade(database.engine, "0018_gapquestion")  # a no-op: nothing is put back
    upgrade(database.engine)  # and nothing is left to clean
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM practices ORDER BY id")).scalars().all() == titles
    assert_schema_matches_models(database)


def test_0023_allows_the_reactivation_notice_and_its_downgrade_drops_it_with_its_staff_copies(
    database: Database,
) -> None:
    downgrade(database.engine, "0022_channelcheck")
    _insert_outbox(database, "channel_check_failed", "kept")
    _insert_outbox(database, "staff_dm", "staff_dm:channel_check_failed:1:U0STAFF01")
    with pytest.raises(IntegrityError):
        _insert_outbox(database, "expert_reactivated", "too-early")
    upgrade(database.engine)
    assert_schema_matches_models(database)
    _insert_outbox(database, "expert_reactivated", "expert_reactivated:x1:2026-01-05T09:00:00+00:00")
    _insert_outbox(database, "staff_dm", "staff_dm:expert_reactivated:2:U0STAFF01")
    downgrade(database.engine, "0022_channelcheck")
    with database.engine.connect() as conn:
        keys = set(conn.execute(text("SELECT dedupe_key FROM outbox_messages")).scalars())
    assert keys == {"kept", "staff_dm:channel_check_failed:1:U0STAFF01"}
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_0024_adds_the_invitation_hold_and_its_downgrade_drops_it_keeping_the_proposals(database: Database) -> None:
    downgrade(database.engine, "0023_reactivated")
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO need_topics (label, label_item, created_at, updated_at) VALUES ('t', '', :at, :at)"), AT
        )
        topic = conn.execute(text("SELECT id FROM need_topics")).scalar_one()
        for status, channel in (("open", None), ("invited", "C0WORK001")):
            conn.execute(
                text(
                    "INSERT INTO need_proposals (topic_id, status, window_start, window_end, organisations, "
                    "questions, claimed_by, channel_id, notes_url, decided_by, note, created_at, updated_at) VALUES "
                    "(:topic, :status, :at, :at, 3, 4, 'w', :channel, '', '', '', :at, :at)"
                ),
                {"topic": topic, "status": status, "channel": channel, **AT},
            )
    upgrade(database.engine)
    assert_schema_matches_models(database)
    with database.engine.begin() as conn:
        rows = conn.execute(
            text("SELECT status, channel_id, invite_held_by, invite_held_until FROM need_proposals ORDER BY id")
        ).all()
        assert [tuple(r) for r in rows] == [("open", None, None, None), ("invited", "C0WORK001", None, None)]
        conn.execute(text("UPDATE need_proposals SET invite_held_by = 'needs_invite:V1', invite_held_until = :at"), AT)
    downgrade(database.engine, "0023_reactivated")
    with database.engine.connect() as conn:
        assert "invite_held_by" not in {c["name"] for c in inspect(conn).get_columns("need_proposals")}
        kept = conn.execute(text("SELECT status, channel_id FROM need_proposals ORDER BY id")).all()
    assert [tuple(r) for r in kept] == [("open", None), ("invited", "C0WORK001")]
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_0025_keeps_who_holds_an_invitation_and_its_downgrade_drops_only_that(database: Database) -> None:
    downgrade(database.engine, "0024_invitehold")
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO need_topics (label, label_item, created_at, updated_at) VALUES ('t', '', :at, :at)"), AT
        )
        topic = conn.execute(text("SELECT id FROM need_topics")).scalar_one()
        for status, holder in (("open", "needs_invite:V1"), ("invited", None)):
            conn.execute(
                text(
                    "INSERT INTO need_proposals (topic_id, status, window_start, window_end, organisations, "
                    "questions, claimed_by, channel_id, invite_held_by, invite_held_until, notes_url, decided_by, "
                    "note, created_at, updated_at) VALUES "
                    "(:topic, :status, :at, :at, 3, 4, 'w', NULL, :holder, :until, '', '', '', :at, :at)"
                ),
                {"topic": topic, "status": status, "holder": holder, "until": AT["at"] if holder else None, **AT},
            )
    upgrade(database.engine)
    assert_schema_matches_models(database)
    with database.engine.begin() as conn:
        rows = conn.execute(text("SELECT status, invite_held_by, invite_held_for FROM need_proposals ORDER BY id"))
        assert [tuple(r) for r in rows] == [("open", "needs_invite:V1", None), ("invited", None, None)]
        conn.execute(text("UPDATE need_proposals SET invite_held_for = 'USTAFF' WHERE status = 'open'"))
    downgrade(database.engine, "0024_invitehold")
    with database.engine.connect() as conn:
        assert "invite_held_for" not in {c["name"] for c in inspect(conn).get_columns("need_proposals")}
        kept = conn.execute(text("SELECT status, invite_held_by FROM need_proposals ORDER BY id")).all()
    assert [tuple(r) for r in kept] == [("open", "needs_invite:V1"), ("invited", None)]
    upgrade(database.engine)
    assert_schema_matches_models(database)


def test_0027_keeps_when_a_digest_post_was_refused_and_its_downgrade_drops_only_that(database: Database) -> None:
    downgrade(database.engine, "0026_sqliteids")
    with database.engine.begin() as conn:
        for channel, status in (("C1", "claimed"), ("C2", "sent")):
            conn.execute(
                text(
                    "INSERT INTO digest_runs (channel_id, period, status, claimed_by, claimed_at, sent_at, "
                    "parts_total, parts_sent, error) VALUES (:channel, '2026-W49', :status, 'w1', :at, NULL, 1, "
                    "'[]', 'OperatorRefusalError: no_permission')"
                ),
                {"channel": channel, "status": status, **AT},
            )
    upgrade(database.engine)
    assert_schema_matches_models(database)
    with database.engine.begin() as conn:
        rows = conn.execute(text("SELECT channel_id, status, refused_at FROM digest_runs ORDER BY id"))
        assert [tuple(r) for r in rows] == [("C1", "claimed", None), ("C2", "sent", None)]
        conn.execute(text("UPDATE digest_runs SET refused_at = :at WHERE channel_id = 'C1'"), AT)
    downgrade(database.engine, "0026_sqliteids")
    with database.engine.connect() as conn:
        assert "refused_at" not in {c["name"] for c in inspect(conn).get_columns("digest_runs")}
        kept = conn.execute(text("SELECT channel_id, status, claimed_by, error FROM digest_runs ORDER BY id")).all()
    refused = "OperatorRefusalError: no_permission"
    assert [tuple(r) for r in kept] == [("C1", "claimed", "w1", refused), ("C2", "sent", "w1", refused)]
    upgrade(database.engine)
    assert_schema_matches_models(database)


AT = {"at": datetime(2026, 12, 6, 8, 0, tzinfo=UTC).replace(tzinfo=None)}
