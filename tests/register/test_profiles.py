"""Expert self-service in the core: join, edit, availability, consent, re-confirmation, staff (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.actors import Actor, NotAuthorized
from bot.knowledge import KnowledgeBase
from bot.register import consent, profile_decisions, profiles
from bot.register.profiles import InvalidRecord, ProfileStateError
from bot.register.themes import ensure_default_themes
from storage import register_repo as repo
from storage.db import Database
from storage.models import (
    AuditLog,
    Availability,
    Consent,
    Expert,
    OutboxKind,
    OutboxMessage,
    RecordStatus,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
GRIET = Actor.slack("U0GRIET01", is_staff=False)
SAM = Actor.slack("U0SAM0001", is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)

FORM = {
    "name": "Griet Verhoeven",
    "email": "Griet.Verhoeven@Leuven.be",
    "organisation": "Stad Leuven",
    "city": "Leuven",
    "role": "beleidsmedewerker wonen",
    "expertise": "leegstandsheffing; conceptvastgoed",
    "themes": "wonen",
    "languages": "nl; en",
    "bio": "Tien jaar woonbeleid.",
}


@pytest.fixture
def db(database: Database) -> Database:
    with database.session() as session:
        ensure_default_themes(session, now=NOW)
    return database


SLACK_EMAILS = {  # the address Slack holds for each account
    GRIET.slack_id: "griet.verhoeven@leuven.be",
    SAM.slack_id: "sam@leuven.be",
    STAFF.slack_id: "staff@kenniscentrum.be",
}


def save(session: Session, actor: Actor, **kwargs: Any) -> profiles.SavedProfile:
    """``save_profile`` as Slack would have it called: with the address Slack holds for the actor's account."""
    kwargs.setdefault("slack_email", SLACK_EMAILS[actor.slack_id or ""])
    return profiles.save_profile(session, actor=actor, **kwargs)


def join(db: Database, actor: Actor = GRIET, **kwargs: object) -> int:
    kwargs.setdefault("slack_email", SLACK_EMAILS[actor.slack_id or ""])
    with db.session() as session:
        saved = profiles.save_profile(session, actor=actor, values=FORM, now=NOW, **kwargs)  # type: ignore[arg-type]
        return saved.expert.id


def expert(db: Database, expert_id: int) -> Expert:
    with db.session() as session:
        found = session.get(Expert, expert_id)
        assert found is not None
        return found


def test_join_creates_a_confirmed_profile_linked_to_the_slack_account(db: Database) -> None:
    expert_id = join(db)
    e = expert(db, expert_id)
    assert (e.email, e.slack_user_id, e.source) == ("griet.verhoeven@leuven.be", GRIET.slack_id, "slack")
    assert e.consent is Consent.CONFIRMED and e.last_confirmed_at == NOW and e.status is RecordStatus.PUBLISHED
    assert e.expertise == ["leegstandsheffing", "conceptvastgoed"] and [t.key for t in e.themes] == ["wonen"]
    with db.session() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.entity_key == e.email)).one()
        assert (audit.actor, audit.action, audit.before) == (GRIET.slack_id, "create", None)


def test_a_new_profile_is_searchable_at_once(db: Database) -> None:
    knowledge = KnowledgeBase(db)
    knowledge.load()
    try:
        assert "griet.verhoeven@leuven.be" not in [
            x.doc.email for x in knowledge.search("conceptvastgoed", now=NOW).experts
        ]
        join(db)
        assert knowledge.search("conceptvastgoed", now=NOW).experts[0].doc.email == "griet.verhoeven@leuven.be"
    finally:
        knowledge.close()


def test_join_uses_the_import_validation_and_reports_every_field(db: Database) -> None:
    bad = {**FORM, "email": "griet@", "themes": "wonnen", "languages": "Nederlands", "name": " "}
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        save(session, GRIET, values=bad, now=NOW)
    codes = {e.column: e.code for e in err.value.errors}
    assert codes == {"name": "missing", "email": "bad_email", "themes": "unknown_theme", "languages": "bad_language"}
    suggestions = {e.column: e.suggestion for e in err.value.errors}
    assert suggestions["themes"] == "wonen" and suggestions["languages"] == "nl"
    with db.session() as session:
        assert session.scalars(select(Expert)).all() == []


def test_an_email_of_another_profile_is_refused_on_the_field(db: Database) -> None:
    join(db)
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        save(session, SAM, values={**FORM, "name": "Sam"}, now=NOW)
    assert [(e.column, e.code) for e in err.value.errors] == [("email", "email_not_yours")]  # not Sam's address
    # even when Slack gives Sam's account that address (changed in Slack since): another profile has it
    with db.session() as session, pytest.raises(InvalidRecord) as err:
        save(session, SAM, values={**FORM, "name": "Sam"}, now=NOW, slack_email=FORM["email"])
    assert [(e.column, e.code) for e in err.value.errors] == [("email", "email_taken")]


def test_joining_again_edits_the_own_profile(db: Database) -> None:
    expert_id = join(db)
    with db.session() as session:
        saved = save(session, GRIET, values={**FORM, "role": "diensthoofd"}, now=NOW)
        assert not saved.created and saved.expert.id == expert_id
    assert expert(db, expert_id).role == "diensthoofd"


def test_a_field_the_form_left_out_as_too_long_is_kept_as_stored(db: Database) -> None:
    long_topics = [f"onderwerp {n:03d} over ruimtelijke ordening en wonen" for n in range(80)]  # over 3,000
    with db.session() as session:
        values = {**FORM, "expertise": "; ".join(long_topics)}
        expert_id = save(session, GRIET, values=values, now=NOW).expert.id
    assert expert(db, expert_id).expertise == long_topics
    edited = {k: v for k, v in FORM.items() if k != "expertise"} | {"role": "diensthoofd"}
    with db.session() as session:
        save(session, GRIET, values=edited, now=NOW, expert_id=expert_id, keep={"expertise"})
    kept = expert(db, expert_id)
    assert kept.expertise == long_topics and kept.role == "diensthoofd"
    # without ``keep`` the field is what the form says (here: emptied), as before
    with db.session() as session:
        save(session, GRIET, values=edited, now=NOW, expert_id=expert_id)
    assert expert(db, expert_id).expertise == []


def test_expertise_to_add_is_appended_to_the_kept_or_typed_expertise_each_topic_once(db: Database) -> None:
    long_topics = [f"onderwerp {n:03d} over ruimtelijke ordening en wonen" for n in range(80)]  # over 3,000
    with db.session() as session:
        values = {**FORM, "expertise": "; ".join(long_topics)}
        expert_id = save(session, GRIET, values=values, now=NOW).expert.id
    edited = {k: v for k, v in FORM.items() if k != "expertise"}
    add = "leegstandsheffing op winkelpanden;  Onderwerp 001 over ruimtelijke ordening en wonen | huurpremie"
    with db.session() as session:
        save(session, GRIET, values=edited, now=NOW, expert_id=expert_id, keep={"expertise"}, add_expertise=add)
    assert expert(db, expert_id).expertise == [*long_topics, "leegstandsheffing op winkelpanden", "huurpremie"]
    # empty (or only separators): nothing appended, the stored list stays
    with db.session() as session:
        save(session, GRIET, values=edited, now=NOW, expert_id=expert_id, keep={"expertise"}, add_expertise=" ; ")
    assert len(expert(db, expert_id).expertise) == 82
    # not kept: appended to what the form says
    with db.session() as session:
        typed = {**edited, "expertise": "koten; huurpremie"}
        save(session, GRIET, values=typed, now=NOW, expert_id=expert_id, add_expertise="Koten; wonen")
    assert expert(db, expert_id).expertise == ["koten", "huurpremie", "wonen"]


def test_expertise_to_add_to_someone_elses_profile_needs_the_edit_right(db: Database) -> None:
    expert_id = join(db)
    before = expert(db, expert_id).expertise
    edited = {k: v for k, v in FORM.items() if k != "expertise"}
    with db.session() as session, pytest.raises(NotAuthorized):  # a forged submission by someone else
        save(session, SAM, values=edited, now=NOW, expert_id=expert_id, keep={"expertise"}, add_expertise="spam")
    assert expert(db, expert_id).expertise == before
    with db.session() as session:
        save(session, STAFF, values=edited, now=NOW, expert_id=expert_id, keep={"expertise"}, add_expertise="huur")
    assert expert(db, expert_id).expertise == [*before, "huur"]


def test_only_the_owner_or_staff_edit_a_profile(db: Database) -> None:
    expert_id = join(db)
    with db.session() as session, pytest.raises(NotAuthorized):
        save(session, SAM, values={**FORM, "role": "hacked"}, now=NOW, expert_id=expert_id)
    with db.session() as session:
        save(session, STAFF, values={**FORM, "role": "door staff"}, now=NOW, expert_id=expert_id)
    e = expert(db, expert_id)
    assert e.role == "door staff" and e.slack_user_id == GRIET.slack_id  # staff editing does not take the profile
    with db.session() as session:
        actors = [a.actor for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actors == [GRIET.slack_id, STAFF.slack_id]


def test_with_approval_a_new_profile_waits_for_staff(db: Database) -> None:
    expert_id = join(db, approval_required=True)
    e = expert(db, expert_id)
    assert e.status is RecordStatus.PENDING
    with db.session() as session:
        review = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PROFILE_REVIEW)).one()
        assert review.payload["expert_id"] == expert_id and review.channel_id is None
        with pytest.raises(NotAuthorized):
            profile_decisions.approve_profile(session, actor=GRIET, expert_id=expert_id, version=None, now=NOW)
    with db.session() as session:
        profile_decisions.approve_profile(session, actor=STAFF, expert_id=expert_id, version=None, now=NOW)
    assert expert(db, expert_id).status is RecordStatus.PUBLISHED
    with db.session() as session:
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SUBMISSION_OUTCOME)).one()
        assert told.recipient_slack_id == GRIET.slack_id and told.payload["outcome"] == "profile_approved"
        with pytest.raises(ProfileStateError):
            profile_decisions.approve_profile(session, actor=STAFF, expert_id=expert_id, version=None, now=NOW)


def test_staff_reject_a_new_profile_with_a_reason(db: Database) -> None:
    expert_id = join(db, approval_required=True)
    with db.session() as session:
        profile_decisions.reject_profile(
            session, actor=STAFF, expert_id=expert_id, version=None, reason="Geen medewerker", now=NOW
        )
    with db.session() as session:
        assert session.get(Expert, expert_id) is None
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SUBMISSION_OUTCOME)).one()
        assert told.payload == {
            "outcome": "profile_rejected",
            "title": "Griet Verhoeven",
            "note": "Geen medewerker",
            "channel_id": "",
            "ref": "",
        }


def test_availability_away_and_opt_out(db: Database) -> None:
    expert_id = join(db)
    with db.session() as session:
        with pytest.raises(ProfileStateError):
            profiles.set_availability(
                session,
                actor=GRIET,
                expert_id=expert_id,
                availability=Availability.AWAY,
                until=TODAY - timedelta(days=1),
                today=TODAY,
                now=NOW,
            )
        with pytest.raises(NotAuthorized):
            profiles.set_availability(
                session, actor=SAM, expert_id=expert_id, availability=Availability.OPTED_OUT, today=TODAY, now=NOW
            )
        profiles.set_availability(
            session,
            actor=GRIET,
            expert_id=expert_id,
            availability=Availability.AWAY,
            until=TODAY + timedelta(days=7),
            today=TODAY,
            now=NOW,
        )
    assert (expert(db, expert_id).availability, expert(db, expert_id).away_until) == (
        Availability.AWAY,
        TODAY + timedelta(days=7),
    )
    with db.session() as session:
        profiles.set_availability(
            session, actor=GRIET, expert_id=expert_id, availability=Availability.OPTED_OUT, today=TODAY, now=NOW
        )
    assert (expert(db, expert_id).availability, expert(db, expert_id).away_until) == (Availability.OPTED_OUT, None)


def imported(db: Database, *, slack_id: str | None = "U0IMPORT1", confirmed_days_ago: int | None = None) -> int:
    with db.session() as session:
        e = repo.create_expert(
            session,
            email=f"{slack_id or 'x'}@gent.be".lower(),
            name="Ilse Import",
            organisation="Stad Gent",
            source="import",
            now=NOW,
        )
        e.slack_user_id = slack_id
        if confirmed_days_ago is not None:
            e.consent = Consent.CONFIRMED
            e.last_confirmed_at = NOW - timedelta(days=confirmed_days_ago)
        session.flush()
        return e.id


def consent_requests(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        kind = OutboxMessage.kind == OutboxKind.CONSENT_REQUEST
        return list(session.scalars(select(OutboxMessage).where(kind).order_by(OutboxMessage.id)))


def test_pending_experts_are_asked_once_to_confirm(db: Database) -> None:
    pending = imported(db)
    imported(db, slack_id=None)  # no Slack account: cannot be asked, staff see them as stale
    fresh = imported(db, slack_id="U0FRESH01", confirmed_days_ago=10)
    with db.session() as session:
        assert consent.request_confirmations(session, now=NOW, reconfirm_days=182) == 1
    with db.session() as session:
        assert consent.request_confirmations(session, now=NOW + timedelta(hours=1), reconfirm_days=182) == 0
    [message] = consent_requests(db)
    assert (message.recipient_slack_id, message.payload["request"]) == ("U0IMPORT1", "initial")
    assert expert(db, pending).consent_requested_at == NOW
    with db.session() as session:
        stale = profiles.list_stale_profiles(session, now=NOW, reconfirm_days=182)
        assert pending in [e.id for e in stale] and fresh not in [e.id for e in stale]
        counts = profiles.count_profiles_to_review(session, now=NOW, reconfirm_days=182)
        assert counts == (len(stale), 0) == (2, 0)  # the Home tab's counts agree with the lists
        by_email = profiles.find_expert(session, email=" U0FRESH01@Gent.be ")
        by_slack = profiles.find_expert(session, slack_user_id="U0FRESH01")
        assert by_email is not None and by_slack is not None and by_email.id == by_slack.id == fresh
        assert profiles.find_expert(session, email="nobody@gent.be") is None
    # someone else pressing the button (a forged payload) changes nothing; the person themselves confirms
    with db.session() as session, pytest.raises(NotAuthorized):
        consent.confirm_listing(session, actor=STAFF, expert_id=pending, now=NOW)
    with db.session() as session:
        consent.confirm_listing(session, actor=Actor.slack("U0IMPORT1", is_staff=False), expert_id=pending, now=NOW)
    e = expert(db, pending)
    assert e.consent is Consent.CONFIRMED and e.last_confirmed_at == NOW and e.consent_changed_at == NOW


def test_reconfirmation_every_period(db: Database) -> None:
    old = imported(db, slack_id="U0OLDIE01", confirmed_days_ago=150)
    with db.session() as session:
        assert consent.request_confirmations(session, now=NOW, reconfirm_days=182) == 0
    later = NOW + timedelta(days=40)  # now 190 days since the last confirmation
    with db.session() as session:
        assert consent.request_confirmations(session, now=later, reconfirm_days=182) == 1
        assert consent.request_confirmations(session, now=later + timedelta(days=1), reconfirm_days=182) == 0
        assert [e.id for e in profiles.list_stale_profiles(session, now=later, reconfirm_days=182)] == [old]
    assert consent_requests(db)[0].payload["request"] == "reconfirm"
    with db.session() as session:
        consent.confirm_listing(session, actor=Actor.slack("U0OLDIE01", is_staff=False), expert_id=old, now=later)
    with db.session() as session:
        assert profiles.list_stale_profiles(session, now=later, reconfirm_days=182) == []
        # and the next cycle asks again, once
        next_cycle = later + timedelta(days=183)
        assert consent.request_confirmations(session, now=next_cycle, reconfirm_days=182) == 1
    assert len(consent_requests(db)) == 2


def test_withdrawn_experts_are_never_asked_or_shown(db: Database) -> None:
    expert_id = imported(db)
    with db.session() as session, pytest.raises(NotAuthorized):
        consent.withdraw_listing(session, actor=SAM, expert_id=expert_id, now=NOW)
    with db.session() as session:
        consent.withdraw_listing(session, actor=Actor.slack("U0IMPORT1", is_staff=False), expert_id=expert_id, now=NOW)
    with db.session() as session:
        assert consent.request_confirmations(session, now=NOW, reconfirm_days=182) == 0
        assert profiles.list_stale_profiles(session, now=NOW, reconfirm_days=182) == []
    assert expert(db, expert_id).consent is Consent.WITHDRAWN


def test_only_staff_remove_an_expert(db: Database) -> None:
    expert_id = join(db)
    with db.session() as session, pytest.raises(NotAuthorized):
        profile_decisions.remove_expert(session, actor=GRIET, expert_id=expert_id, now=NOW)
    with db.session() as session:
        profile_decisions.remove_expert(session, actor=STAFF, expert_id=expert_id, now=NOW)
    with db.session() as session:
        assert session.get(Expert, expert_id) is None
        last = session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
        assert last is not None and (last.action, last.actor, last.after) == ("delete", STAFF.slack_id, None)


def test_the_index_ranks_a_profile_lower_once_it_is_stale(db: Database) -> None:
    knowledge = KnowledgeBase(db, reconfirm_days=30)
    knowledge.load()
    try:
        join(db)
        later = NOW + timedelta(days=31)
        hit = knowledge.search("conceptvastgoed", now=NOW).experts[0]
        assert hit.stale is False and profiles.is_stale(expert(db, hit.doc.id), now=NOW, reconfirm_days=30) is False
        hit = knowledge.search("conceptvastgoed", now=later).experts[0]
        assert hit.stale is True and profiles.is_stale(expert(db, hit.doc.id), now=later, reconfirm_days=30) is True
        assert hit.reasons[-1].render("nl") == f"profiel niet bevestigd sinds {NOW.date().isoformat()}"
    finally:
        knowledge.close()
