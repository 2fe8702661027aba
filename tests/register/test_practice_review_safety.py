"""What staff approve is what they saw (practices and profiles); titles of work session notes and links are not a
member's to take or bend (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.register import profile_decisions, profiles, submissions
from bot.register.profiles import ProfileChanged
from bot.register.submissions import InvalidRecord, PracticeChanged
from bot.register.themes import ensure_default_themes
from storage import register_repo
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, RecordStatus
from tests.register.test_profiles import FORM as PROFILE
from tests.register.test_profiles import expert as profile
from tests.register.test_profiles import join, save
from tests.register.test_submissions import FORM, GRIET, NOW, SAM, STAFF, outbox, practice, submit


@pytest.fixture(name="db")
def themed_database(database: Database) -> Database:
    with database.session() as session:
        ensure_default_themes(session, now=NOW)
    return database


def shown_version(db: Database, practice_id: int) -> str:
    """The version the staff's review message was rendered with (the outbox payload)."""
    [review] = [m for m in outbox(db, OutboxKind.PRACTICE_REVIEW) if m.payload["practice_id"] == practice_id]
    version = review.payload["version"]
    assert isinstance(version, str) and version
    return version


def edit(db: Database, practice_id: int, **changes: str) -> None:
    with db.session() as session:
        submissions.update_practice(session, actor=GRIET, practice_id=practice_id, values={**FORM, **changes}, now=NOW)


def test_approve_refuses_a_practice_edited_after_staff_read_it(db: Database) -> None:
    practice_id = submit(db, url="https://gent.be/wonen")
    seen = shown_version(db, practice_id)
    edit(db, practice_id, url="https://evil.example/wonen")  # after staff read the review
    with db.session() as session, pytest.raises(PracticeChanged):
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=seen, now=NOW)
    stored = practice(db, practice_id)
    assert stored.status is RecordStatus.PENDING and stored.url == "https://evil.example/wonen"
    assert outbox(db, OutboxKind.SUBMISSION_OUTCOME) == []
    with db.session() as session:  # a button made before versions were shown carries none: refused too
        with pytest.raises(PracticeChanged):
            submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version="", now=NOW)
        current = submissions.practice_payload(submissions.get_practice(session, practice_id=practice_id)).version
    assert current != seen
    with db.session() as session:  # the version staff are shown now
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=current, now=NOW)
    assert practice(db, practice_id).status is RecordStatus.PUBLISHED


def test_reject_refuses_a_practice_edited_after_staff_read_it(db: Database) -> None:
    practice_id = submit(db)
    seen = shown_version(db, practice_id)
    edit(db, practice_id, summary="Een andere beschrijving, na de review.")
    with db.session() as session, pytest.raises(PracticeChanged):
        submissions.reject_practice(session, actor=STAFF, practice_id=practice_id, version=seen, reason="x", now=NOW)
    assert practice(db, practice_id).status is RecordStatus.PENDING
    with db.session() as session:
        version = submissions.practice_version(submissions.get_practice(session, practice_id=practice_id))
        submissions.reject_practice(session, actor=STAFF, practice_id=practice_id, version=version, reason="x", now=NOW)
    assert practice(db, practice_id).status is RecordStatus.REJECTED


def test_an_unchanged_practice_keeps_its_version(db: Database) -> None:
    practice_id = submit(db)
    seen = shown_version(db, practice_id)
    edit(db, practice_id)  # saved again as it was
    with db.session() as session:
        submissions.approve_practice(session, actor=STAFF, practice_id=practice_id, version=seen, now=NOW)
    assert practice(db, practice_id).status is RecordStatus.PUBLISHED


def test_only_staff_may_use_a_work_session_title(db: Database) -> None:
    title = submissions.work_session_title(4, date(2026, 3, 2), "Leegstand", "nl")
    assert title == "Werksessie #4 (2 mrt 2026): Leegstand"
    english = submissions.work_session_title(4, date(2026, 3, 2), "Vacancy", "en")
    assert english == "Work session #4 (2 Mar 2026): Vacancy"
    for taken in (title, "werksessie  #5: iets", " WERKSESSIE#6", english, "work  session#7"):
        with db.session() as session, pytest.raises(InvalidRecord) as raised:
            submissions.submit_practice(session, actor=GRIET, values={**FORM, "title": taken}, now=NOW)
        assert [(e.column, e.code) for e in raised.value.errors] == [("title", "title_reserved")]
    own = submit(db)
    with pytest.raises(InvalidRecord) as raised:
        edit(db, own, title=title)
    assert [e.code for e in raised.value.errors] == ["title_reserved"]
    assert practice(db, submit(db, STAFF, title=title)).title == title
    assert practice(db, submit(db, title="Werksessies in Gent")).status is RecordStatus.PENDING


@pytest.mark.parametrize(
    "title",
    [
        "\uff37\uff45\uff52\uff4b\uff53\uff45\uff53\uff53\uff49\uff45 \uff03 1",  # full-width letters and sign
        "Werksessie \ufe5f1",  # small number sign
        "Werk\u206asessie #1",  # a deprecated format character
        "Werk\U000e0020sessie #1",  # a tag character
        "Wer\u00adk\u200bsessie\u2003#1",  # soft hyphen, zero-width space, em space
    ],
)
def test_a_work_session_title_cannot_be_disguised(db: Database, title: str) -> None:
    with db.session() as session, pytest.raises(InvalidRecord) as raised:
        submissions.submit_practice(session, actor=GRIET, values={**FORM, "title": title}, now=NOW)
    assert [(e.column, e.code) for e in raised.value.errors] == [("title", "title_reserved")]


def test_a_title_loses_its_format_characters_and_disguised_duplicates_are_refused(db: Database) -> None:
    """Format characters (Unicode Cf) never reach a stored title; a title written in full-width letters or with a
    different case is the same practice."""
    first = submit(db, title="Leeg\u206astand in de\U000e0020 kern")
    assert practice(db, first).title == "Leegstand in de kern"
    for same in ("\uff2c\uff45\uff45\uff47\uff53\uff54\uff41\uff4e\uff44 in de kern", "LEEGSTAND  IN DE KERN"):
        with db.session() as session, pytest.raises(InvalidRecord) as raised:
            submissions.submit_practice(session, actor=SAM, values={**FORM, "title": same}, now=NOW)
        assert [e.code for e in raised.value.errors] == ["practice_taken"]


@pytest.mark.parametrize(
    ("url", "code"),
    [("http://www.leuven.be/x", "insecure_url"), ("https://leuven.be@evil.example/x", "url_credentials")],
)
def test_chat_links_must_be_https_without_a_user_name(db: Database, url: str, code: str) -> None:
    with db.session() as session, pytest.raises(InvalidRecord) as raised:
        submissions.submit_practice(session, actor=GRIET, values={**FORM, "url": url}, now=NOW)
    assert [(e.column, e.code) for e in raised.value.errors] == [("url", code)]


def test_an_http_link_stored_before_stays_until_it_is_changed(db: Database) -> None:
    with db.session() as session:  # imported from the register file, which may hold http links
        old = register_repo.create_practice(session, title="Oud", city="Gent", summary="Van vroeger.", now=NOW)
        old.url = "http://intranet.gent.be/oud"
        session.flush()
        old_id = old.id
    values = {**FORM, "title": "Oud", "city": "Gent", "url": "http://intranet.gent.be/oud"}
    with db.session() as session:  # staff change the summary: the stored link may stay
        submissions.update_practice(session, actor=STAFF, practice_id=old_id, values=values, now=NOW)
    assert practice(db, old_id).url == "http://intranet.gent.be/oud"
    with db.session() as session, pytest.raises(InvalidRecord) as raised:  # another http link: refused
        values = {**values, "url": "http://intranet.gent.be/nieuw"}
        submissions.update_practice(session, actor=STAFF, practice_id=old_id, values=values, now=NOW)
    assert [e.code for e in raised.value.errors] == ["insecure_url"]


# --- profiles waiting for approval: the same rule ------------------------------------------------------------------


def test_a_profile_edited_after_staff_read_it_is_not_decided_unseen(db: Database) -> None:
    expert_id = join(db, approval_required=True)
    with db.session() as session:
        review = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PROFILE_REVIEW)).one()
        seen = review.payload["version"]
    with db.session() as session:  # the owner changes their expertise after staff read the review
        values = {**PROFILE, "expertise": "iets heel anders"}
        save(session, GRIET, values=values, now=NOW, expert_id=expert_id, approval_required=True)
    with db.session() as session:
        with pytest.raises(ProfileChanged):
            profile_decisions.approve_profile(session, actor=STAFF, expert_id=expert_id, version=seen, now=NOW)
        with pytest.raises(ProfileChanged):
            profile_decisions.reject_profile(
                session, actor=STAFF, expert_id=expert_id, version=seen, reason="x", now=NOW
            )
        with pytest.raises(ProfileChanged):  # a button from before versions were shown
            profile_decisions.approve_profile(session, actor=STAFF, expert_id=expert_id, version="", now=NOW)
    assert profile(db, expert_id).status is RecordStatus.PENDING
    with db.session() as session:
        current = profiles.profile_payload(profiles.get_expert(session, expert_id=expert_id)).version
        assert current != seen
        profile_decisions.approve_profile(session, actor=STAFF, expert_id=expert_id, version=current, now=NOW)
    assert profile(db, expert_id).status is RecordStatus.PUBLISHED
