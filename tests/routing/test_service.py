"""Routing flows end to end (without Slack): ask, forward, snooze, answer, privacy, escalation, staff."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.actors import Actor, NotAuthorized
from bot.error_texts import error_text
from bot.errors import NotFoundError
from bot.routing.errors import RoutingInputError, StaleActionError
from storage.models import (
    Answer,
    Availability,
    Expert,
    ExpertDecline,
    KnowledgeGap,
    OutboxKind,
    Question,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Timer,
    TimerKind,
    Visibility,
)
from tests.routing.conftest import ASKER, ASKER_NAME, NOW, QUESTION, World, add_expert, local, seed_housing, slack_of

Q, R, K = QuestionStatus, RoutingStatus, OutboxKind
LATER = NOW + timedelta(hours=1)
STAFF = Actor.slack("USTAFF1", is_staff=True)


def _question(world: World, qid: int) -> Question:
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        _ = [r.expert for r in q.routings], q.answers, q.themes
        return q


def _routing_of(world: World, qid: int, name: str) -> int:
    return next(r.id for r in _question(world, qid).routings if r.expert is not None and r.expert.name == name)


def test_ask_routes_to_two_experts_with_reasons_timers_and_outbox(world: World) -> None:
    seed_housing(world)
    qid = world.ask(context="We willen de inning automatiseren.", desired_by=date(2026, 12, 18))
    q = _question(world, qid)
    assert q.status is Q.ROUTED
    assert len(q.routings) == 2
    assert len({r.expert.organisation for r in q.routings if r.expert}) == 2
    for r in q.routings:
        assert r.status is R.ASKED and r.score > 0 and r.reasons
        assert r.recipient_slack_id == r.expert.slack_user_id  # type: ignore[union-attr]
    requests = world.outbox(K.EXPERT_REQUEST)
    assert sorted(m.recipient_slack_id for m in requests) == sorted(r.recipient_slack_id for r in q.routings)
    for m in requests:
        assert m.channel_id is None
        p = m.payload
        assert p["text"] == QUESTION and p["context"] == "We willen de inning automatiseren."
        assert p["asker_name"] == ASKER_NAME and p["reasons"] and p["score"] > 0 and p["language"] == "nl"
        assert p["desired_by"] == "2026-12-18" and p["themes"] == ["wonen"]
    updates = world.outbox(K.ASKER_UPDATE)
    assert [(m.recipient_slack_id, m.payload["update"]) for m in updates] == [(ASKER, "routed")]
    kinds = sorted((t.kind.value, t.due_at) for t in world.pending_timers())
    assert kinds == [
        ("escalate", local(2026, 11, 30, 10)),  # 5 business days
        ("next_expert", local(2026, 11, 26, 10)),
        ("next_expert", local(2026, 11, 26, 10)),
        ("remind", local(2026, 11, 25, 10)),
        ("remind", local(2026, 11, 25, 10)),
    ]


def test_ask_validates_input(world: World) -> None:
    seed_housing(world)
    for kw, code in (
        ({"text": "   "}, "empty_question"),
        ({"theme_keys": ["wonen", "ruimtevaart"]}, "unknown_theme"),
        ({"desired_by": date(2026, 11, 20)}, "desired_date_past"),
    ):
        with pytest.raises(RoutingInputError) as err:
            world.ask(**kw)
        assert err.value.code == code
    with world.db.session() as s:
        assert s.scalars(select(Question)).first() is None


def test_no_match_is_escalated_with_triage_and_a_knowledge_gap(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text="Wie heeft ervaring met drones voor dakinspecties?", theme_keys=[])
    q = _question(world, qid)
    assert q.status is Q.ESCALATED and q.escalation_reason == "no_match" and q.escalated_at == NOW
    assert q.routings == []
    triage = world.outbox(K.TRIAGE)
    assert len(triage) == 1 and triage[0].payload["reason"] == "no_match"
    assert triage[0].payload["text"] == q.text  # public: staff see the question
    assert [m.payload["update"] for m in world.outbox(K.ASKER_UPDATE)] == ["escalated"]
    with world.db.session() as s:
        gaps = list(s.scalars(select(KnowledgeGap)))
        assert len(gaps) == 1 and gaps[0].source == "routing" and not gaps[0].channel_is_private
    assert all(t.kind is not TimerKind.ESCALATE for t in world.pending_timers())
    assert [q.id for q in _list_escalated(world)] == [qid]


def test_matches_who_cannot_be_asked_escalate_without_a_knowledge_gap(world: World) -> None:
    with world.db.session() as s:
        add_expert(
            s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], availability=Availability.OPTED_OUT
        )
    world.load()
    qid = world.ask()
    q = _question(world, qid)
    assert (q.status, q.escalation_reason) == (Q.ESCALATED, "nobody_available")
    with world.db.session() as s:
        assert s.scalars(select(KnowledgeGap)).first() is None


def _list_escalated(world: World) -> list[Question]:
    with world.db.session() as s:
        return world.service.list_escalated(s)


def test_all_decline_escalates(world: World) -> None:
    seed_housing(world, extra=False)  # Bram, Chloe (Gent), Anouk (Kortrijk)
    qid = world.ask()
    svc = world.service
    for _ in range(3):
        q = _question(world, qid)
        open_ = [r for r in q.routings if r.status is R.ASKED]
        if not open_:
            break
        for r in open_:
            with world.db.session() as s:
                svc.decline(
                    s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", reason="geen tijd", now=LATER
                )
    q = _question(world, qid)
    assert sorted(r.expert.name for r in q.routings if r.expert) == ["Anouk", "Bram", "Chloe"]
    assert {r.status for r in q.routings} == {R.DECLINED}
    assert all(r.decline_reason == "geen tijd" for r in q.routings)
    assert q.status is Q.ESCALATED and q.escalation_reason == "all_declined"
    triage = world.outbox(K.TRIAGE)
    assert len(triage) == 1 and triage[0].payload["routing_counts"] == {"declined": 3}
    assert world.pending_timers() == []  # nothing left to remind, ask or escalate


def test_an_expert_who_cannot_get_a_dm_is_replaced_at_once_without_a_decline(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    first = {r.id for r in _question(world, qid).routings}
    gone = min(first)
    with world.db.session() as s:
        outcome = world.service.recipient_unreachable(s, routing_id=gone, error="user_disabled", now=LATER)
    assert outcome == "moved on, marked away"  # an expert in the register: not picked again (test_told_once.py)
    q = _question(world, qid)
    closed = next(r for r in q.routings if r.id == gone)
    assert closed.status is R.EXPIRED and q.status is Q.ROUTED
    assert len([r for r in q.routings if r.status is R.ASKED]) == 2  # someone new, at once
    assert not [t for t in world.pending_timers() if t.routing_id == gone]  # no reminder for the unreachable one
    with world.db.session() as s:
        assert not list(s.scalars(select(ExpertDecline)))  # they never saw it: no decline on their themes
        again = world.service.recipient_unreachable(s, routing_id=gone, error="user_disabled", now=LATER)
    assert again == "noop: routing expired"


def test_answer_closes_the_others_and_notifies_everyone(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    q = _question(world, qid)
    answering, other = q.routings[0], q.routings[1]
    with world.db.session() as s:
        world.service.claim(s, routing_id=answering.id, actor_slack_id=answering.recipient_slack_id or "", now=NOW)
    with world.db.session() as s:
        answer = world.service.answer(
            s,
            routing_id=answering.id,
            actor_slack_id=answering.recipient_slack_id or "",
            text="Wij gebruiken het leegstandsregister en een jaarlijkse aanslag.",
            now=LATER,
        )
        answer_id = answer.id
    q = _question(world, qid)
    assert q.status is Q.ANSWERED and q.answered_at == LATER
    assert [a.id for a in q.answers] == [answer_id]
    a = q.answers[0]
    assert a.expert_id == answering.expert_id and a.answered_by_name == answering.expert.name  # type: ignore[union-attr]
    assert a.organisation == answering.expert.organisation  # type: ignore[union-attr]
    statuses = {r.id: r.status for r in q.routings}
    assert statuses == {answering.id: R.ANSWERED, other.id: R.EXPIRED}
    closed = world.outbox(K.ROUTING_CLOSED)
    assert [(m.recipient_slack_id, m.payload["reason"]) for m in closed] == [(other.recipient_slack_id, "answered")]
    # a public question's answer reaches the asker once, in its thread; the rating is offered to them alone there
    in_channel = world.outbox(K.QUESTION_ANSWERED)
    assert len(in_channel) == 1
    assert (in_channel[0].channel_id, in_channel[0].thread_ts) == ("C0WONEN01", "1700000000.000100")
    to_asker = world.outbox(K.ANSWER_TO_ASKER)
    assert len(to_asker) == 1 and to_asker[0].recipient_slack_id == ASKER
    assert (to_asker[0].channel_id, to_asker[0].thread_ts) == ("C0WONEN01", "1700000000.000100")
    assert to_asker[0].payload["in_thread"] is True and to_asker[0].id > in_channel[0].id  # after the answer
    assert world.pending_timers() == []
    # public answered questions become searchable knowledge (the knowledge base follows the commit)
    found = world.kb.search("leegstandsheffing", now=LATER, limit=5)
    assert qid in [h.doc.id for h in found.answers]


def test_forward_to_a_register_colleague(world: World) -> None:
    ids = seed_housing(world, extra=False)
    with world.db.session() as s:  # an expert on something else, in the register
        add_expert(s, "Dirk", organisation="Stad Leuven", expertise=["fiscaliteit"], themes=[])
    qid = world.ask()
    bram = _routing_of(world, qid, "Bram")
    with world.db.session() as s:
        new = world.service.forward(
            s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id="UDIRK", now=LATER, note="Dirk kent de fiscale kant"
        )
        new_id = new.id
    q = _question(world, qid)
    by_id = {r.id: r for r in q.routings}
    assert by_id[bram].status is R.FORWARDED
    new_r = by_id[new_id]
    assert new_r.expert is not None and new_r.expert.name == "Dirk" and new_r.recipient_slack_id == "UDIRK"
    assert new_r.suggested_by_expert_id == ids["Bram"] and new_r.forwarded_from_id == bram
    assert new_r.reasons == ["doorgestuurd door Bram"]
    req = [m for m in world.outbox(K.EXPERT_REQUEST) if m.recipient_slack_id == "UDIRK"]
    assert len(req) == 1
    assert (
        req[0].payload["forwarded_by"]["name"] == "Bram"
        and req[0].payload["forward_note"] == "Dirk kent de fiscale kant"
    )
    # the colleague is asked now, with their own reminders
    assert {t.kind for t in world.pending_timers() if t.routing_id == new_id} == {
        TimerKind.REMIND,
        TimerKind.NEXT_EXPERT,
    }
    assert not [t for t in world.pending_timers() if t.routing_id == bram]


def test_forward_to_someone_outside_the_register_who_answers(world: World) -> None:
    seed_housing(world, extra=False)
    qid = world.ask()
    bram = _routing_of(world, qid, "Bram")
    for to, code in (("UBRAM", "forward_to_self"), (ASKER, "forward_to_asker"), ("", "invalid_slack_id")):
        with pytest.raises(RoutingInputError) as err, world.db.session() as s:
            world.service.forward(s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id=to, now=LATER)
        assert err.value.code == code
    anouk_slack = slack_of("Anouk")
    with pytest.raises(RoutingInputError) as err, world.db.session() as s:
        world.service.forward(s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id=anouk_slack, now=LATER)
    assert err.value.code == "already_asked"
    with world.db.session() as s:
        outsider = world.service.forward(s, routing_id=bram, actor_slack_id="UBRAM", to_slack_id="UOUTSIDE1", now=LATER)
        outsider_id = outsider.id
    with world.db.session() as s:
        r = s.get(Routing, outsider_id)
        assert r is not None and r.expert_id is None and r.recipient_slack_id == "UOUTSIDE1"
    with pytest.raises(StaleActionError), world.db.session() as s:
        world.service.claim(s, routing_id=outsider_id, actor_slack_id="UBRAM", now=LATER)
    with world.db.session() as s:
        world.service.claim(s, routing_id=outsider_id, actor_slack_id="UOUTSIDE1", now=LATER)
        world.service.answer(
            s,
            routing_id=outsider_id,
            actor_slack_id="UOUTSIDE1",
            text="Zo doen wij het.",
            answerer_name="Olga Buiten",
            now=LATER,
        )
    with world.db.session() as s:
        answer = s.scalars(select(Answer)).one()
        assert (answer.expert_id, answer.answered_by_name, answer.answered_by_slack_id) == (
            None,
            "Olga Buiten",
            "UOUTSIDE1",
        )
    assert _question(world, qid).status is Q.ANSWERED
    with world.db.session() as s:
        mine = world.service.list_my_routings(s, slack_user_id="UOUTSIDE1", open_only=False)
        assert [r.id for r in mine] == [outsider_id]


def test_snooze_resends_at_the_next_business_day(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    bram = _routing_of(world, qid, "Bram")
    friday_evening = local(2026, 11, 27, 18)
    with world.db.session() as s:
        until = world.service.snooze(s, routing_id=bram, actor_slack_id="UBRAM", now=friday_evening)
    assert until == local(2026, 11, 30, 9)
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        world.service.snooze(s, routing_id=bram, actor_slack_id="UBRAM", now=friday_evening + timedelta(minutes=1))
    assert err.value.code == "already_snoozed"
    timers = {t.kind: t.due_at for t in world.pending_timers() if t.routing_id == bram}
    assert timers == {
        TimerKind.SNOOZE: local(2026, 11, 30, 9),
        TimerKind.REMIND: local(2026, 12, 2, 9),
        TimerKind.NEXT_EXPERT: local(2026, 12, 3, 9),
    }
    with world.db.session() as s:
        r = s.get(Routing, bram)
        assert r is not None and r.status is R.ASKED and r.snoozed_until == until


def test_anonymous_question_never_shows_the_asker(world: World) -> None:
    seed_housing(world)
    with world.db.session() as s:
        add_expert(s, "Dirk", organisation="Stad Leuven", expertise=["fiscaliteit"], themes=[])
    qid = world.ask(visibility=Visibility.ANONYMOUS, asker_name=ASKER_NAME)
    q = _question(world, qid)
    first, second = q.routings[0], q.routings[1]
    svc = world.service
    with world.db.session() as s:
        svc.add_information(s, question_id=qid, actor_slack_id=ASKER, text="Het gaat om tweede verblijven.", now=LATER)
    with world.db.session() as s:
        svc.forward(
            s, routing_id=first.id, actor_slack_id=first.recipient_slack_id or "", to_slack_id="UDIRK", now=LATER
        )
    with world.db.session() as s:
        svc.answer(s, routing_id=second.id, actor_slack_id=second.recipient_slack_id or "", text="Antwoord.", now=LATER)
    messages = world.outbox()
    assert {m.kind for m in messages} >= {K.EXPERT_REQUEST, K.QUESTION_UPDATED, K.ROUTING_CLOSED, K.ANSWER_TO_ASKER}
    for m in messages:
        if m.recipient_slack_id == ASKER:
            continue
        dumped = json.dumps(m.payload)
        assert ASKER_NAME not in dumped and ASKER not in dumped, m.kind
        assert m.payload.get("asker_name") is None and m.payload.get("anonymous") is True
    assert not [m for m in messages if m.channel_id]  # no channel message at all
    # the answer is stored, but never becomes public knowledge
    assert qid not in [h.doc.id for h in world.kb.search("leegstandsheffing", now=LATER).answers]


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.ANONYMOUS])
def test_private_questions_never_reach_a_channel(world: World, visibility: Visibility) -> None:
    seed_housing(world, extra=False)
    qid = world.ask(visibility=visibility, text=QUESTION + " Het gaat om dossier 4711.")
    q = _question(world, qid)
    for r in q.routings:  # everyone declines: the question goes to staff
        with world.db.session() as s:
            world.service.decline(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", now=LATER)
    q = _question(world, qid)
    for r in q.routings:
        if r.status is R.ASKED:
            with world.db.session() as s:
                world.service.decline(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", now=LATER)
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UHELPER1", actor=STAFF, now=LATER)
    helper = next(r for r in _question(world, qid).routings if r.recipient_slack_id == "UHELPER1")
    with world.db.session() as s:
        world.service.answer(s, routing_id=helper.id, actor_slack_id="UHELPER1", text="Zie dossier.", now=LATER)
    messages = world.outbox()
    channel_messages = [m for m in messages if m.channel_id is not None or m.recipient_slack_id is None]
    assert [m.kind for m in channel_messages] == [K.TRIAGE]  # only staff triage, and redacted
    triage = channel_messages[0].payload
    assert triage["redacted"] is True and triage["text"] is None and triage["asker_name"] is None
    assert "4711" not in json.dumps(triage)
    assert not world.outbox(K.QUESTION_ANSWERED)
    # the answer reaches the asker by DM, with the rating, as before
    (to_asker,) = world.outbox(K.ANSWER_TO_ASKER)
    assert (to_asker.recipient_slack_id, to_asker.channel_id, to_asker.payload["in_thread"]) == (ASKER, None, False)
    assert qid not in [h.doc.id for h in world.kb.search("leegstandsheffing", now=LATER).answers]


def test_cancel_resolve_rate_and_add_information(world: World) -> None:
    seed_housing(world)
    svc = world.service
    qid = world.ask()
    q = _question(world, qid)
    with world.db.session() as s:
        event = svc.add_information(
            s, question_id=qid, actor_slack_id=ASKER, text="Vooral voor tweede verblijven.", now=LATER
        )
        assert event.kind == "info"
    updated = world.outbox(K.QUESTION_UPDATED)
    assert sorted(m.recipient_slack_id for m in updated) == sorted(r.recipient_slack_id for r in q.routings)
    assert all(m.payload["addition"] == "Vooral voor tweede verblijven." for m in updated)
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        svc.rate(s, question_id=qid, actor_slack_id=ASKER, stars=4, now=LATER)
    assert err.value.code == "not_answered"
    r0 = q.routings[0]
    with world.db.session() as s:
        svc.answer(s, routing_id=r0.id, actor_slack_id=r0.recipient_slack_id or "", text="Zo.", now=LATER)
    for stars in (0, 6):
        with pytest.raises(RoutingInputError) as err2, world.db.session() as s:
            svc.rate(s, question_id=qid, actor_slack_id=ASKER, stars=stars, now=LATER)
        assert err2.value.code == "invalid_rating"
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        svc.rate(s, question_id=qid, actor_slack_id="USOMEONE", stars=5, now=LATER)
    assert err.value.code == "not_asker"
    with world.db.session() as s:
        svc.rate(s, question_id=qid, actor_slack_id=ASKER, stars=5, now=LATER)
        svc.resolve(s, question_id=qid, actor_slack_id=ASKER, now=LATER)
    q = _question(world, qid)
    assert (q.status, q.rating, q.closed_at) == (Q.RESOLVED, 5, LATER)
    # a resolved public question stays searchable
    assert qid in [h.doc.id for h in world.kb.search("leegstandsheffing", now=LATER).answers]
    with world.db.session() as s:
        mine = svc.list_my_questions(s, asker_slack_id=ASKER)
        assert [(m.id, m.status) for m in mine] == [(qid, Q.RESOLVED)]

    # cancelling another question closes its routings with a notification
    qid2 = world.ask(text="Wie kent de leegstandsheffing?")
    with world.db.session() as s:
        svc.cancel(s, question_id=qid2, actor_slack_id=ASKER, now=LATER)
    closed = world.outbox(K.ROUTING_CLOSED, question_id=qid2)
    assert closed and all(m.payload["reason"] == "cancelled" for m in closed)
    assert not [t for t in world.pending_timers() if t.question_id == qid2]


def test_set_away_keeps_an_expert_out(world: World) -> None:
    seed_housing(world, extra=False)
    with world.db.session() as s:
        expert = world.service.set_away(s, slack_user_id="UBRAM", until=date(2026, 12, 4), now=NOW)
        assert expert.availability is Availability.AWAY
    with pytest.raises(RoutingInputError) as err, world.db.session() as s:
        world.service.set_away(s, slack_user_id="UBRAM", until=date(2026, 11, 1), now=NOW)
    assert err.value.code == "away_date_past"
    with pytest.raises(RoutingInputError) as err, world.db.session() as s:
        world.service.set_away(s, slack_user_id="UNOBODY", until=date(2026, 12, 4), now=NOW)
    assert err.value.code == "not_in_register"
    qid = world.ask()
    assert "Bram" not in [r.expert.name for r in _question(world, qid).routings if r.expert]
    # back after the date
    qid2 = world.ask(text="Wie kent de leegstandsheffing?", now=local(2026, 12, 7, 10))
    assert "Bram" in [r.expert.name for r in _question(world, qid2).routings if r.expert]
    with world.db.session() as s:
        world.service.set_available(s, slack_user_id="UBRAM", now=NOW)
        e = s.scalars(select(Expert).where(Expert.slack_user_id == "UBRAM")).one()
        assert (e.availability, e.away_until) == (Availability.AVAILABLE, None)


def test_staff_assign_and_close(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text="Wie heeft ervaring met drones voor dakinspecties?", theme_keys=[])
    assert _question(world, qid).status is Q.ESCALATED
    svc = world.service
    not_staff = Actor.slack("UBRAM", is_staff=False)
    with pytest.raises(NotAuthorized), world.db.session() as s:
        svc.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=not_staff, now=LATER)
    with pytest.raises(NotAuthorized), world.db.session() as s:
        svc.staff_close(s, question_id=qid, actor=not_staff, note="x", now=LATER)
    assert _question(world, qid).status is Q.ESCALATED and not _question(world, qid).routings
    with world.db.session() as s:
        routing = svc.staff_assign(
            s,
            question_id=qid,
            to_slack_id="UDRONE01",
            actor=STAFF,
            now=LATER,
            note="Kent iemand bij Stad Gent",
        )
        rid = routing.id
    q = _question(world, qid)
    assert q.status is Q.ROUTED and [r.id for r in q.routings] == [rid]
    req = [m for m in world.outbox(K.EXPERT_REQUEST) if m.routing_id == rid]
    assert req and req[0].payload["assigned_by_staff"] is True
    assert [t.kind for t in world.pending_timers() if t.question_id == qid and t.routing_id is None] == [
        TimerKind.ESCALATE
    ]
    with pytest.raises(StaleActionError) as err, world.db.session() as s:  # from a stale copy: no longer waits
        svc.staff_assign(s, question_id=qid, to_slack_id="UDRONE02", actor=STAFF, now=LATER)
    assert err.value.code == "not_escalated"
    # the assigned person declines: nobody else matches, so it is escalated again; staff ask them again, then close
    with world.db.session() as s:
        svc.decline(s, routing_id=rid, actor_slack_id="UDRONE01", now=LATER)
    assert _question(world, qid).status is Q.ESCALATED
    with world.db.session() as s:
        again = svc.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=LATER)
        assert again.id == rid and again.status is R.ASKED
    with world.db.session() as s:
        svc.decline(s, routing_id=rid, actor_slack_id="UDRONE01", now=LATER)
        svc.staff_close(s, question_id=qid, actor=STAFF, note="Doorverwezen naar VVSG", now=LATER)
    q = _question(world, qid)
    assert q.status is Q.CLOSED and q.staff_note == "Doorverwezen naar VVSG"
    assert world.outbox(K.ASKER_UPDATE)[-1].payload == {
        **world.outbox(K.ASKER_UPDATE)[-1].payload,
        "update": "closed",
        "note": "Doorverwezen naar VVSG",
    }
    assert _list_escalated(world) == []
    with pytest.raises(StaleActionError) as err2, world.db.session() as s:
        svc.staff_close(s, question_id=qid, actor=STAFF, note="x", now=LATER)
    assert err2.value.code == "question_closed"


def test_open_question_limit_counts_across_questions(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Solo", organisation="Stad Gent", expertise=["leegstandsheffing"], max_open=2)
    world.load()
    first = world.ask()
    second = world.ask(text="Wie kent de leegstandsheffing?")
    third = world.ask(text="Ervaring met leegstandsheffing?")
    asked = [len(_question(world, q).routings) for q in (first, second, third)]
    assert asked == [1, 1, 0]
    assert _question(world, third).status is Q.ESCALATED


def test_missing_rows_are_not_found(world: World) -> None:
    with pytest.raises(NotFoundError), world.db.session() as s:
        world.service.claim(s, routing_id=999, actor_slack_id="UX", now=NOW)
    with pytest.raises(NotFoundError), world.db.session() as s:
        world.service.cancel(s, question_id=999, actor_slack_id="UX", now=NOW)
    with world.db.session() as s:
        assert s.scalars(select(Timer)).first() is None


def test_public_question_from_a_private_channel_is_redacted_for_staff(world: World) -> None:
    seed_housing(world, extra=False)
    qid = world.ask(channel_id="G0PRIVAT1", channel_is_private=True, text=QUESTION + " (dossier 4711)")
    q = _question(world, qid)
    for r in q.routings:
        with world.db.session() as s:
            world.service.decline(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", now=LATER)
    for r in _question(world, qid).routings:
        if r.status is R.ASKED:
            with world.db.session() as s:
                world.service.decline(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", now=LATER)
    (triage,) = world.outbox(K.TRIAGE)
    assert triage.payload["redacted"] is True and "4711" not in json.dumps(triage.payload)
    with world.db.session() as s:
        r = world.service.staff_assign(s, question_id=qid, to_slack_id="UHELPER1", actor=STAFF, now=LATER)
        world.service.answer(s, routing_id=r.id, actor_slack_id="UHELPER1", text="Zo.", now=LATER)
    # the answer goes back to the thread it was asked in, but does not become searchable
    (posted,) = world.outbox(K.QUESTION_ANSWERED)
    assert posted.channel_id == "G0PRIVAT1"
    assert qid not in [h.doc.id for h in world.kb.search("leegstandsheffing", now=LATER).answers]


def test_volunteer_is_asked_for_public_questions_only(world: World) -> None:
    seed_housing(world)
    public = world.ask()
    svc = world.service
    with world.db.session() as s:
        routing = svc.volunteer(s, question_id=public, slack_id="UHELPER1", now=LATER)
        rid = routing.id
    q = _question(world, public)
    helper = next(r for r in q.routings if r.id == rid)
    assert helper.volunteered and helper.recipient_slack_id == "UHELPER1" and helper.reasons == ["bood zelf hulp aan"]
    assert [m for m in world.outbox(K.EXPERT_REQUEST) if m.routing_id == rid]
    with pytest.raises(RoutingInputError) as again, world.db.session() as s:
        svc.volunteer(s, question_id=public, slack_id="UHELPER1", now=LATER)
    assert again.value.code == "already_asked"
    with pytest.raises(RoutingInputError) as own, world.db.session() as s:
        svc.volunteer(s, question_id=public, slack_id=ASKER, now=LATER)
    # about helping, not forwarding ("Je kan de vraag niet doorsturen…" before)
    assert own.value.code == "help_own_question"
    assert str(error_text(own.value, "nl")).startswith("Dit is je eigen vraag: je kan er niet zelf bij helpen.")
    assert str(error_text(own.value, "en")).startswith("This is your own question: you cannot offer to help")
    private = world.ask(visibility=Visibility.PRIVATE)
    with pytest.raises(NotAuthorized) as refused, world.db.session() as s:  # never offered: a refusal
        svc.volunteer(s, question_id=private, slack_id="UHELPER2", now=LATER)
    assert refused.value.code == "question_closed" and refused.value.target == f"question:{private}"
    assert not [r for r in _question(world, private).routings if r.recipient_slack_id == "UHELPER2"]
