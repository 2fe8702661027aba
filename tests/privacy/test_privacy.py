"""Privacy rights in the core: export, erasure (then nothing of the person anywhere), retention, authorization."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from bot.actors import Actor, NotAuthorized
from bot.privacy import REDACTED, RetentionPolicy, erase_person, export_json, export_personal_data, purge_expired
from storage import erased_repo, privacy_repo
from storage.db import Database
from storage.models import (
    Answer,
    AuditLog,
    Base,
    Expert,
    Feedback,
    KnowledgeGap,
    OutboxMessage,
    Practice,
    ProcessedEvent,
    Question,
    Routing,
    SearchLog,
    SlackUser,
    Timer,
    Visibility,
)
from tests.factories import add_question
from tests.privacy.conftest import BRAM, LATER, LIEVE, LIEVE_EMAIL, LIEVE_NAME, NOW, Ids, question
from tests.routing.conftest import ASKER, World

SELF = Actor.slack(LIEVE, is_staff=False)
OTHER = Actor.slack(BRAM, is_staff=False)
STAFF = Actor.slack("U0STAFF01", is_staff=True)
CLI = Actor.cli("tester")


def export(db: Database, actor: Actor = SELF, **who: Any) -> dict[str, Any]:
    who = who or {"slack_user_id": LIEVE}
    with db.session() as s:
        return export_personal_data(session=s, actor=actor, now=LATER, **who)


def occurrences(session: Session, needles: list[str]) -> list[str]:
    """Every text column of every table (JSON as text) that still holds one of ``needles``, case-insensitively."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if python_type(column) not in (str, dict, list):
                continue
            as_text = cast(column, Text)
            for needle in needles:
                hits = session.scalar(
                    select(func.count()).select_from(table).where(func.lower(as_text).contains(needle.lower()))
                )
                if hits:
                    found.append(f"{table.name}.{column.name} ~ {needle}")
    return found


def python_type(column: Any) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def test_export_contains_every_kind_of_data(world: World, lieve: Ids) -> None:
    data = export(world.db)
    text = export_json(data)
    json.loads(text)  # valid JSON
    assert data["person"] == {"slack_user_id": LIEVE, "email": LIEVE_EMAIL}
    assert data["expert_profile"]["name"] == LIEVE_NAME and data["expert_profile"]["themes"] == ["wonen"]
    assert data["slack_user_cache"]["name"] == LIEVE_NAME
    asked = {q["id"] for q in data["questions_asked"]}
    assert asked == {lieve.own_public, lieve.own_private}
    own_public = next(q for q in data["questions_asked"] if q["id"] == lieve.own_public)
    assert own_public["answers"][0]["text"] == "Met een register."
    assert [a["question_id"] for a in data["answers_given"]] == [lieve.answered_public]
    routed = {r["question_id"] for r in data["questions_routed_to_you"]}
    assert {lieve.answered_public, lieve.declined_private} <= routed
    assert any(e["actor"] == LIEVE for e in data["question_events_by_you"])
    assert data["searches"][0]["query"] == "leegstandsheffing"
    assert data["feedback"][0]["vote"] == 1
    assert "zuurdesem" in {g["query"] for g in data["knowledge_gaps"]}
    assert data["messages_to_you"]  # expert requests and asker updates queued for her
    assert data["digest_subscriptions_created"][0]["channel_id"] == "C0DIGEST1"
    assert data["practices"][0]["title"] == "Leegstandsregister"
    assert data["audit_log"][0]["entity_key"] == LIEVE_EMAIL
    assert data["expert_declines"]  # she declined a housing question


def test_export_by_email_for_staff_equals_export_by_slack_id(world: World, lieve: Ids) -> None:
    by_email = export(world.db, CLI, email=LIEVE_EMAIL.upper())
    by_id = export(world.db, SELF)
    # her own export shows the staff's one before it (an audit entry about her), and is otherwise the same
    staff_export = [a for a in by_id["audit_log"] if a["action"] == "export"]
    assert [(a["actor"], a["entity_key"]) for a in staff_export] == [(CLI.audit_label, LIEVE)]
    by_id["audit_log"] = [a for a in by_id["audit_log"] if a["action"] != "export"]
    assert by_email == by_id


def test_export_of_someone_else_is_refused(world: World, lieve: Ids) -> None:
    with pytest.raises(NotAuthorized):
        export(world.db, OTHER)
    with pytest.raises(NotAuthorized):
        export(world.db, OTHER, email=LIEVE_EMAIL)


def test_erasure_leaves_neither_name_nor_email_anywhere(world: World, lieve: Ids) -> None:
    with world.db.session() as s:
        before = occurrences(s, [LIEVE_NAME, LIEVE_EMAIL, LIEVE])
    assert len(before) > 15  # the scan does see her: profile, questions, answers, payloads, audit, ...
    with world.db.session() as s:
        report = erase_person(session=s, actor=SELF, slack_user_id=LIEVE, now=LATER)
    assert report.counts["expert_profiles_deleted"] == 1
    with world.db.session() as s:
        assert occurrences(s, [LIEVE_NAME, LIEVE_EMAIL, LIEVE]) == []
        assert s.get(Expert, lieve.expert) is None
        assert s.get(SlackUser, LIEVE) is None
        assert s.scalars(select(Feedback)).all() == []
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.recipient_slack_id == LIEVE)).all() == []
        assert s.scalars(select(SearchLog)).one().user_slack_id is None
        assert all(g.asker_slack_id != LIEVE for g in s.scalars(select(KnowledgeGap)))
        practice = s.get(Practice, lieve.practice)
        assert practice is not None
        assert practice.contact_email == "" and practice.contact_expert_id is None and practice.submitted_by is None
        assert practice.summary == f"Contact: {REDACTED}."
        erase_entry = s.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
        assert erase_entry.actor == "self" and erase_entry.entity_key == "erased"
        assert erase_entry.before is None and erase_entry.after == report.counts
        # what stays of her: a keyed hash of her address and of her Slack id, so no import lists her again
        assert report.counts["erased_identities_kept"] == 2
        assert erased_repo.list_erased(s, emails=[LIEVE_EMAIL.upper()], slack_user_ids=[LIEVE]) == {
            LIEVE_EMAIL.upper(),
            LIEVE,
        }


def test_erasure_keeps_public_answered_knowledge_anonymised(world: World, lieve: Ids) -> None:
    with world.db.session() as s:
        open_to_her = select(Routing.id).where(
            Routing.recipient_slack_id == LIEVE, Routing.question_id == lieve.still_open
        )
        assert s.scalars(select(Timer).where(Timer.routing_id.in_(open_to_her), Timer.done_at.is_(None))).all()
    with world.db.session() as s:
        erase_person(session=s, actor=STAFF, email=LIEVE_EMAIL, now=LATER)
    own_public = question(world.db, lieve.own_public)
    assert own_public is not None
    assert own_public.asker_slack_id is None and own_public.asker_name == ""
    assert own_public.answers[0].text == "Met een register."  # Bram's answer to it stays as it was
    assert question(world.db, lieve.own_private) is None  # her private question is gone
    answered = question(world.db, lieve.answered_public)
    assert answered is not None
    answer = answered.answers[0]
    assert answer.answered_by_name == "" and answer.answered_by_slack_id is None and answer.expert_id is None
    assert answer.organisation == "Stad Gent"
    assert answer.text == f"In Gent doen we dat zo. Groeten, {REDACTED} ({REDACTED})"
    assert answered.text.endswith(f"Vraag het aan {REDACTED}.")
    assert answered.asker_slack_id == ASKER  # the other person's question is theirs, untouched
    declined = question(world.db, lieve.declined_private)
    assert declined is not None
    assert all(r.recipient_slack_id != LIEVE and r.decline_reason == "" for r in declined.routings)
    still_open = question(world.db, lieve.still_open)
    assert still_open is not None
    (routing,) = [r for r in still_open.routings if r.recipient_slack_id is None]
    assert routing.status.value == "expired"  # nobody left to remind
    with world.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "erase")).one()
        assert entry.actor == "U0STAFF01"
        pending = s.scalars(select(Timer).where(Timer.routing_id == routing.id, Timer.done_at.is_(None))).all()
        assert pending == []
    # the matching index follows: her answer is still found, without her name
    hits = world.kb.search("leegstandsheffing winkelpanden", now=LATER).answers
    assert hits and all(LIEVE_NAME not in json.dumps(h.doc.answered_by) for h in hits)


def test_erasure_of_someone_else_is_refused_and_changes_nothing(world: World, lieve: Ids) -> None:
    with pytest.raises(NotAuthorized), world.db.session() as s:
        erase_person(session=s, actor=OTHER, slack_user_id=LIEVE, now=LATER)
    with pytest.raises(NotAuthorized), world.db.session() as s:
        erase_person(session=s, actor=OTHER, email=LIEVE_EMAIL, now=LATER)
    with world.db.session() as s:
        assert s.get(Expert, lieve.expert) is not None
        assert s.scalars(select(AuditLog).where(AuditLog.action == "erase")).all() == []


def test_a_person_without_a_profile_can_be_forgotten_too(world: World, lieve: Ids) -> None:
    asker = Actor.slack(ASKER, is_staff=False)
    with world.db.session() as s:
        erase_person(session=s, actor=asker, slack_user_id=ASKER, now=LATER)
    answered = question(world.db, lieve.answered_public)
    assert answered is not None and answered.asker_slack_id is None and answered.asker_name == ""
    assert question(world.db, lieve.declined_private) is None  # unanswered and private: deleted
    with world.db.session() as s:
        assert occurrences(s, ["Griet Verhoeven", ASKER]) == []


def test_purge_respects_each_retention(world: World, lieve: Ids) -> None:
    policy = RetentionPolicy()
    with world.db.session() as s:
        # nothing is old yet
        assert set(purge_expired(session=s, pending=(), now=LATER, policy=policy).values()) == {0}
    with world.db.session() as s:
        s.query(OutboxMessage).update({OutboxMessage.sent_at: NOW})
        s.query(Timer).update({Timer.done_at: NOW})
    # 31 days: request events only
    with world.db.session() as s:
        counts = purge_expired(session=s, pending=(), now=NOW + timedelta(days=31), policy=policy)
    assert counts["request_events"] == 1
    assert counts["sent_messages"] == counts["done_timers"] == counts["slack_users"] == counts["searches"] == 0
    # 91 days: sent messages, done timers, cached Slack users
    with world.db.session() as s:
        counts = purge_expired(session=s, pending=(), now=NOW + timedelta(days=91), policy=policy)
        assert counts["sent_messages"] > 0 and counts["done_timers"] > 0 and counts["slack_users"] == 1
        assert counts["searches"] == counts["feedback"] == counts["gap_askers"] == 0
        assert s.scalars(select(Timer)).all() == [] and s.scalars(select(OutboxMessage)).all() == []
    # 366 days: searches, feedback, the asker of a knowledge gap (the gap stays)
    with world.db.session() as s:
        counts = purge_expired(session=s, pending=(), now=NOW + timedelta(days=366), policy=policy)
        assert counts["searches"] == 1 and counts["feedback"] == 1 and counts["gap_askers"] >= 1
        gap = s.scalars(select(KnowledgeGap).where(KnowledgeGap.query == "zuurdesem")).one()
        assert gap.asker_slack_id is None
        assert s.scalars(select(ProcessedEvent)).all() == []
        # questions, answers and the register are not touched by retention
        assert s.scalars(select(Answer)).all() and s.scalars(select(Question)).all()


def test_unsent_messages_are_never_purged(world: World, lieve: Ids) -> None:
    with world.db.session() as s:
        pending = len(s.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all())
        purge_expired(session=s, pending=(), now=NOW + timedelta(days=1000))
    with world.db.session() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == pending


def test_text_attributes_cover_every_text_column() -> None:
    covered = {(cls.__table__.name, attr) for cls, attr, _ in privacy_repo.list_text_attributes()}  # type: ignore[attr-defined]
    assert ("answers", "answered_by_name") in covered
    assert ("outbox_messages", "payload") in covered
    assert ("audit_log", "before") in covered
    assert ("questions", "status") not in covered  # enumerations are not free text


def test_a_namesake_in_the_register_is_left_alone(world: World, lieve: Ids) -> None:
    with world.db.session() as s:
        namesake = Expert(email="lieve.vermeulen@leuven.be", name=LIEVE_NAME, organisation="Stad Leuven")
        s.add(namesake)
        s.flush()
        namesake_id = namesake.id
    with world.db.session() as s:
        report = erase_person(session=s, actor=SELF, slack_user_id=LIEVE, now=LATER)
    assert report.counts["names_shared_not_swept"] == 1
    with world.db.session() as s:
        other = s.get(Expert, namesake_id)
        assert other is not None and other.name == LIEVE_NAME
        assert occurrences(s, [LIEVE_EMAIL, LIEVE]) == []
        # her own name fields are cleared all the same
        answered = s.get(Question, lieve.answered_public)
        assert answered is not None and answered.answers[0].answered_by_name == ""


def _gaps(database: Database) -> dict[str, str | None]:
    with database.session() as s:
        return {g.query: g.asker_slack_id for g in s.scalars(select(KnowledgeGap))}


def test_erasure_deletes_the_gaps_recorded_from_her_private_text(world: World, lieve: Ids) -> None:
    """A question nobody fitted becomes a gap with its text. Her private question goes with the erasure: its gap may
    not keep the text — also not when it was asked anonymously (the gap names no asker then). A gap from public text
    stays, without her; other people's private gaps stay."""
    anonymous = "Mag een OCMW een leegstandsheffing kwijtschelden bij schuldbemiddeling?"
    others = "Wie weet iets over kwijtschelding van de leegstandsheffing?"
    with world.db.session() as s:
        add_question(s, anonymous, created_at=NOW, asker=LIEVE, visibility=Visibility.ANONYMOUS)
        for text, asker in ((anonymous, None), (others, ASKER)):
            s.add(
                KnowledgeGap(
                    query=text,
                    normalized=text.casefold(),
                    asker_slack_id=asker,
                    channel_is_private=True,
                    source="routing",
                    created_at=NOW,
                )
            )
    private = question(world.db, lieve.own_private)
    assert private is not None
    before = _gaps(world.db)
    assert before.get(private.text) == LIEVE, "precondition: nobody fitted her private question, it became a gap"
    assert {anonymous, others, "zuurdesem"} <= before.keys()

    with world.db.session() as s:
        report = erase_person(session=s, actor=Actor.slack(LIEVE, is_staff=False), slack_user_id=LIEVE, now=LATER)

    after = _gaps(world.db)
    assert private.text not in after
    assert anonymous not in after
    assert after[others] == ASKER
    assert after["zuurdesem"] is None  # public text: the gap stays, she is gone from it
    assert report.counts["private_gaps_deleted"] == 2


def test_erasure_leaves_another_persons_private_gap_with_the_same_text(world: World, lieve: Ids) -> None:
    """Her anonymous question's gap names nobody and is found by its text; another person's private gap with the
    very same text names them: it is theirs, and stays."""
    private = question(world.db, lieve.own_private)
    assert private is not None
    with world.db.session() as s:
        s.add(
            KnowledgeGap(
                query=private.text,
                normalized=private.text.casefold(),
                asker_slack_id=ASKER,
                channel_is_private=True,
                source="routing",
                created_at=NOW,
            )
        )

    with world.db.session() as s:
        erase_person(session=s, actor=Actor.slack(LIEVE, is_staff=False), slack_user_id=LIEVE, now=LATER)

    with world.db.session() as s:
        left = [(g.query, g.asker_slack_id) for g in s.scalars(select(KnowledgeGap))]
    assert (private.text, ASKER) in left
    assert (private.text, LIEVE) not in left
