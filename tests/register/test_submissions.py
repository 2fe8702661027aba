"""Practices from chat in the core: submit, edit, moderation, authorization, audit, index (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.actors import Actor, NotAuthorized
from bot.knowledge import KnowledgeBase
from bot.register import submissions
from bot.register.submissions import AlreadyModerated, InvalidRecord
from bot.register.themes import ThemeResolver, ensure_default_themes
from bot.register.validation import BAD_URL_ALLOWING_HTTP, validate_practice
from bot.text import shown_value
from storage import register_repo
from storage.db import Database
from storage.models import AuditLog, OutboxKind, OutboxMessage, Practice, RecordStatus
from tests.register.conftest import PRACTICE_HEADER, Write, import_errors

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRIET = Actor.slack("U0GRIET01", is_staff=False)
SAM = Actor.slack("U0SAM0001", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)

FORM = {
    "title": "Kangoeroewonen in leegstaande panden",
    "summary": "Ouderen delen hun te grote woning met een jong gezin; de stad bemiddelt.",
    "city": "Leuven",
    "organisation": "Stad Leuven",
    "themes": "wonen",
    "tags": "kangoeroewonen; vergrijzing",
    "outcome": "goed",
    "lessons": "Begeleiding van de eerste gesprekken is nodig.",
    "contact_email": "wonen@leuven.be",
    "url": "https://www.leuven.be/kangoeroewonen",
    "year": "2024",
}


@pytest.fixture
def db(database: Database) -> Database:
    with database.session() as session:
        ensure_default_themes(session, now=NOW)
    return database


def submit(db: Database, actor: Actor = GRIET, **changes: str) -> int:
    with db.session() as session:
        return submissions.submit_practice(session, actor=actor, values={**FORM, **changes}, now=NOW).id


def practice(db: Database, practice_id: int) -> Practice:
    with db.session() as session:
        found = session.get(Practice, practice_id)
        assert found is not None
        return found


def outbox(db: Database, kind: OutboxKind) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def audit(db: Database) -> list[tuple[str, str, str]]:
    with db.session() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.entity_type == "practice").order_by(AuditLog.id))
        return [(a.actor, a.action, a.entity_key) for a in rows]


# --- submitting ------------------------------------------------------------------------------------------------------


def test_a_submission_waits_for_staff_and_is_announced_in_triage(db: Database) -> None:
    practice_id = submit(db)
    p = practice(db, practice_id)
    assert (p.status, p.submitted_by, p.title, p.year) == (RecordStatus.PENDING, GRIET.slack_id, FORM["title"], 2024)
    assert [t.key for t in p.themes] == ["wonen"] and p.tags == ["kangoeroewonen", "vergrijzing"]
    assert p.outcome is not None and p.outcome.value == "good"
    [review] = outbox(db, OutboxKind.PRACTICE_REVIEW)
    assert review.recipient_slack_id is None and review.channel_id is None  # the triage channel
    assert review.payload["practice_id"] == practice_id and review.payload["submitted_by"] == GRIET.slack_id
    assert review.payload["theme_labels"]["wonen"]["nl"]
    assert audit(db) == [(GRIET.slack_id, "submit", "Kangoeroewonen in leegstaande panden (Leuven)")]


BAD = {"year": "twintig", "url": "www.leuven.be", "outcome": "goedd", "themes": "wonnen", "title": " "}


def test_a_submission_is_validated_exactly_like_the_import(db: Database, write: Write, tmp_path: Path) -> None:
    values = {**FORM, **BAD}
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        submissions.submit_practice(session, actor=GRIET, values=values, now=NOW)
    got = [(e.column, e.code, e.message, e.suggestion) for e in err.value.errors]
    with db.session() as session:
        _record, direct = validate_practice(values, themes=ThemeResolver.for_session(session), today=NOW.date())
    assert got == [(e.column, e.code, e.message, e.suggestion) for e in direct]
    assert {c for c, *_ in got} == {"title", "year", "url", "outcome", "themes"}
    # the file import refuses the same row with the same words, but for the link: the file may also hold http links
    row = ",".join(f'"{values[c]}"' for c in PRACTICE_HEADER.split(","))
    errors = import_errors(db, "practices", write("p.csv", f"{PRACTICE_HEADER}\n{row}\n"))
    for column, _code, message, _suggestion in got:
        expected = BAD_URL_ALLOWING_HTTP.format(url=shown_value(values["url"])) if column == "url" else message
        assert any(expected in line for line in errors), expected
    # nothing half-saved: no practice, no audit row, no message for staff
    with db.session() as session:
        assert session.scalars(select(Practice)).all() == []
    assert audit(db) == [] and outbox(db, OutboxKind.PRACTICE_REVIEW) == []


def test_the_same_title_and_city_is_refused_on_the_title_unless_it_was_rejected(db: Database) -> None:
    first = submit(db)
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        submissions.submit_practice(session, actor=SAM, values={**FORM, "title": FORM["title"].upper()}, now=NOW)
    assert [(e.column, e.code) for e in err.value.errors] == [("title", "practice_taken")]
    with db.session() as session:
        submissions.reject_practice(session, actor=STAFF, practice_id=first, version=None, reason="onvolledig", now=NOW)
    again = submit(db, SAM)
    assert again == first
    p = practice(db, again)
    assert (p.status, p.submitted_by, p.moderation_note) == (RecordStatus.PENDING, SAM.slack_id, "")


def test_a_contact_address_of_a_registered_expert_links_the_expert(db: Database) -> None:
    from storage import register_repo as repo  # noqa: PLC0415

    with db.session() as session:
        repo.create_expert(session, email="an@leuven.be", name="An", organisation="Stad Leuven", source="test", now=NOW)
    practice_id = submit(db, contact_email="An@Leuven.be")
    with db.session() as session:
        p = session.get(Practice, practice_id)
        assert p is not None and p.contact_expert is not None and p.contact_expert.email == "an@leuven.be"


# --- editing and authorization ------------------------------------------------------------------------------------


def test_a_field_the_form_left_out_as_too_long_is_kept_as_stored(db: Database) -> None:
    summary = "Ouderen delen hun te grote woning met een jong gezin. " * 80  # over 4,000 characters, from a file
    practice_id = submit(db, summary=summary)
    edited = {k: v for k, v in FORM.items() if k != "summary"} | {"year": "2023"}
    with db.session() as session:
        submissions.update_practice(
            session, actor=GRIET, practice_id=practice_id, values=edited, now=NOW, keep={"summary"}
        )
    kept = practice(db, practice_id)
    assert kept.summary == summary.strip() and kept.year == 2023


def test_the_submitter_edits_while_pending_and_staff_at_any_time(db: Database) -> None:
    practice_id = submit(db)
    with db.session() as session:
        submissions.update_practice(
            session, actor=GRIET, practice_id=practice_id, values={**FORM, "year": "2023"}, now=NOW
        )
    assert practice(db, practice_id).year == 2023
    with db.session() as session:
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=None, now=NOW)
    with db.session() as session, pytest.raises(AlreadyModerated):
        submissions.update_practice(session, actor=GRIET, practice_id=practice_id, values=FORM, now=NOW)
    with db.session() as session, pytest.raises(AlreadyModerated):
        submissions.get_practice_for_edit(session, actor=GRIET, practice_id=practice_id)
    with db.session() as session:
        submissions.update_practice(
            session, actor=STAFF, practice_id=practice_id, values={**FORM, "lessons": "Bijgewerkt."}, now=NOW
        )
    assert practice(db, practice_id).lessons == "Bijgewerkt."
    actions = [a for _actor, a, _key in audit(db)]
    assert actions == ["submit", "update", "approve", "update"]


def test_someone_else_may_not_edit_or_moderate(db: Database) -> None:
    practice_id = submit(db)
    with db.session() as session:
        with pytest.raises(NotAuthorized) as err:
            submissions.update_practice(session, actor=SAM, practice_id=practice_id, values=FORM, now=NOW)
        assert err.value.code == "not_authorized"
        with pytest.raises(NotAuthorized):
            submissions.get_practice_for_edit(session, actor=SAM, practice_id=practice_id)
        for call in (
            lambda: submissions.approve_practice(session, actor=GRIET, practice_id=practice_id, version=None, now=NOW),
            lambda: submissions.reject_practice(
                session, actor=GRIET, practice_id=practice_id, version=None, reason="x", now=NOW
            ),
            lambda: submissions.remove_practice(session, actor=GRIET, practice_id=practice_id, now=NOW),
        ):
            with pytest.raises(NotAuthorized) as staff_err:
                call()
            assert staff_err.value.code == "not_staff"
    p = practice(db, practice_id)
    assert p.status is RecordStatus.PENDING and p.summary == FORM["summary"]
    assert [a for _actor, a, _key in audit(db)] == ["submit"]


def test_an_imported_practice_has_no_submitter_so_only_staff_edit_it(db: Database) -> None:
    with db.session() as session:
        p = register_repo.create_practice(
            session, title="Oud", city="Gent", summary="x", submitted_by=None, status=RecordStatus.PUBLISHED, now=NOW
        )
        session.flush()
        practice_id = p.id
    with db.session() as session, pytest.raises(NotAuthorized):
        submissions.update_practice(session, actor=GRIET, practice_id=practice_id, values=FORM, now=NOW)


# --- moderation ----------------------------------------------------------------------------------------------------


def test_approval_tells_the_submitter_and_is_decided_once(db: Database) -> None:
    practice_id = submit(db)
    with db.session() as session:
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=None, now=NOW)
    assert practice(db, practice_id).status is RecordStatus.PUBLISHED
    [notice] = outbox(db, OutboxKind.SUBMISSION_OUTCOME)
    assert notice.recipient_slack_id == GRIET.slack_id
    assert notice.payload == {
        "outcome": "practice_approved",
        "title": FORM["title"],
        "note": "",
        "channel_id": "",
        "ref": "",
    }
    with db.session() as session:
        with pytest.raises(AlreadyModerated):
            submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=None, now=NOW)
        with pytest.raises(AlreadyModerated):
            submissions.reject_practice(
                session, actor=STAFF, practice_id=practice_id, version=None, reason="te laat", now=NOW
            )
    assert len(outbox(db, OutboxKind.SUBMISSION_OUTCOME)) == 1
    assert (STAFF.slack_id, "approve", "Kangoeroewonen in leegstaande panden (Leuven)") in audit(db)


def test_rejection_keeps_the_reason_and_tells_the_submitter(db: Database) -> None:
    practice_id = submit(db)
    with db.session() as session:
        submissions.reject_practice(
            session, actor=STAFF, practice_id=practice_id, version=None, reason="  Staat al in het register.  ", now=NOW
        )
    p = practice(db, practice_id)
    assert (p.status, p.moderation_note) == (RecordStatus.REJECTED, "Staat al in het register.")
    [notice] = outbox(db, OutboxKind.SUBMISSION_OUTCOME)
    assert notice.payload == {
        "outcome": "practice_rejected",
        "title": FORM["title"],
        "note": "Staat al in het register.",
        "channel_id": "",
        "ref": "",
    }
    with db.session() as session, pytest.raises(AlreadyModerated):
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=None, now=NOW)
    with db.session() as session:
        assert submissions.list_pending_practices(session) == []


def test_removal_is_staff_only_and_audited(db: Database) -> None:
    practice_id = submit(db)
    with db.session() as session:
        label = submissions.remove_practice(session, actor=STAFF, practice_id=practice_id, now=NOW)
    assert label == "Kangoeroewonen in leegstaande panden (Leuven)"
    with db.session() as session:
        assert session.get(Practice, practice_id) is None
        row = session.scalars(select(AuditLog).where(AuditLog.action == "delete")).one()
        assert row.before is not None and row.before["status"] == "pending" and row.after is None


def test_pending_practices_are_listed_oldest_first(db: Database) -> None:
    first = submit(db)
    second = submit(db, SAM, title="Tweede praktijk")
    with db.session() as session:
        assert [p.id for p in submissions.list_pending_practices(session)] == [first, second]
        payload = submissions.practice_payload(submissions.get_practice(session, practice_id=second))
        assert payload.status == "pending" and payload.submitted_by == SAM.slack_id
        assert submissions.form_values(session.get(Practice, first))["year"] == "2024"


# --- the matching index --------------------------------------------------------------------------------------------


def test_only_an_approved_practice_is_searchable_and_at_once(db: Database) -> None:
    knowledge = KnowledgeBase(db)
    knowledge.load()

    def found(query: str) -> list[str]:
        return [hit.doc.title for hit in knowledge.search(query, now=NOW, limit=10).practices]

    try:
        approved = submit(db)
        rejected = submit(db, SAM, title="Zorgzame buurten met kangoeroewoningen", city="Gent")
        assert found("kangoeroewonen") == []  # pending: not searchable
        with db.session() as session:
            submissions.approve_practice(session, actor=STAFF, practice_id=approved, version=None, now=NOW)
            submissions.reject_practice(
                session, actor=STAFF, practice_id=rejected, version=None, reason="dubbel", now=NOW
            )
        assert found("kangoeroewonen") == [FORM["title"]]
        with db.session() as session:
            outcome = knowledge.ask(session, query="wie weet iets over kangoeroewonen?", now=NOW)
            assert [h.doc.title for h in outcome.result.practices] == [FORM["title"]]
        with db.session() as session:
            submissions.remove_practice(session, actor=STAFF, practice_id=approved, now=NOW)
        assert found("kangoeroewonen") == []
    finally:
        knowledge.close()


def test_the_triage_message_is_found_once_it_was_sent(db: Database) -> None:
    from bot.outbox import mark_outbox_sent  # noqa: PLC0415

    practice_id = submit(db)
    [review] = outbox(db, OutboxKind.PRACTICE_REVIEW)
    with db.session() as session:
        assert submissions.review_message_ref(session, practice_id=practice_id) == {}
        mark_outbox_sent(session, message_id=review.id, ts="1700.01", channel="C0TRIAGE1", now=NOW)
    with db.session() as session:
        ref = submissions.review_message_ref(session, practice_id=practice_id)
        assert ref == {"channel_id": "C0TRIAGE1", "message_ts": "1700.01"}
        assert submissions.review_message_ref(session, practice_id=practice_id + 1) == {}
