"""The state machines: the tables, the one transition function, and refused (stale) actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.actors import Actor
from bot.routing import run_due_timers
from bot.routing.errors import StaleActionError
from bot.routing.states import QUESTION_TRANSITIONS, ROUTING_TRANSITIONS, transition
from storage.models import Question, QuestionEvent, QuestionStatus, Routing, RoutingStatus, Visibility
from tests.routing.conftest import ASKER, NOW, World, seed_housing, slack_of

Q, R = QuestionStatus, RoutingStatus


def test_tables_cover_every_status() -> None:
    assert set(QUESTION_TRANSITIONS) == set(QuestionStatus)
    assert set(ROUTING_TRANSITIONS) == set(RoutingStatus)
    for final in (Q.RESOLVED, Q.CLOSED, Q.CANCELLED):
        assert QUESTION_TRANSITIONS[final] == frozenset()
    assert ROUTING_TRANSITIONS[R.ANSWERED] == frozenset()
    # the main path exists
    assert Q.ROUTED in QUESTION_TRANSITIONS[Q.OPEN]
    assert Q.CLAIMED in QUESTION_TRANSITIONS[Q.ROUTED]
    assert Q.ANSWERED in QUESTION_TRANSITIONS[Q.CLAIMED]
    assert Q.RESOLVED in QUESTION_TRANSITIONS[Q.ANSWERED]
    assert R.CLAIMED in ROUTING_TRANSITIONS[R.ASKED]


def _events(world: World) -> int:
    with world.db.session() as s:
        return s.scalar(select(func.count()).select_from(QuestionEvent)) or 0


def test_transition_writes_an_event_and_refuses_what_the_table_forbids(world: World) -> None:
    with world.db.session() as s:
        q = Question(text="x", asker_slack_id=ASKER, created_at=NOW, updated_at=NOW)
        s.add(q)
        s.flush()
        event = transition(s, q, Q.ROUTED, actor="system", now=NOW, note="n")
        assert (event.from_status, event.to_status, event.actor, event.note, event.at) == (
            "open",
            "routed",
            "system",
            "n",
            NOW,
        )
        qid = q.id
    before = _events(world)
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        transition(s, q, Q.RESOLVED, actor="x", now=NOW)
        transition(s, q, Q.ROUTED, actor="x", now=NOW)  # resolved -> routed: not allowed
    assert err.value.code == "question_closed"
    assert _events(world) == before  # the whole unit of work rolled back
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ROUTED


def test_transition_detects_a_concurrent_change(world: World) -> None:
    with world.db.session() as s:
        q = Question(text="x", created_at=NOW, updated_at=NOW)
        s.add(q)
        s.flush()
        qid = q.id
    with world.db.session() as s1:
        stale = s1.get(Question, qid)
        assert stale is not None and stale.status is Q.OPEN
        with world.db.session() as s2:  # another process moves it on meanwhile
            fresh = s2.get(Question, qid)
            assert fresh is not None
            transition(s2, fresh, Q.CANCELLED, actor="other", now=NOW)
        with pytest.raises(StaleActionError) as err:
            transition(s1, stale, Q.ROUTED, actor="me", now=NOW)
        assert err.value.code == "concurrent_change"
        s1.rollback()


# --- refused actions through the service ---------------------------------------------------------------------


def _routings(world: World, qid: int) -> dict[str, int]:
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        return {r.expert.name: r.id for r in q.routings if r.expert is not None}


def _refused(world: World, fn: object, code: str, **kw: object) -> None:
    before = _events(world)
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        fn(s, now=NOW + timedelta(minutes=5), **kw)  # type: ignore[operator]
    assert err.value.code == code
    assert _events(world) == before


def test_every_routing_transition_and_stale_clicks(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    routings = _routings(world, qid)
    bram, anouk = routings["Bram"], routings["Anouk"]
    svc = world.service

    # someone else's routing
    _refused(world, svc.claim, "not_yours", routing_id=bram, actor_slack_id=slack_of("Anouk"))
    _refused(world, svc.answer, "not_yours", routing_id=bram, actor_slack_id="USTRANGER", text="hi")

    with world.db.session() as s:
        svc.claim(s, routing_id=bram, actor_slack_id=slack_of("Bram"), now=NOW)
    # a second claim (same person), a claim by the other expert
    _refused(world, svc.claim, "already_claimed", routing_id=bram, actor_slack_id=slack_of("Bram"))
    _refused(world, svc.claim, "claimed_by_other", routing_id=anouk, actor_slack_id=slack_of("Anouk"))
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.CLAIMED

    # the claimer declines after all: the question is routed again
    with world.db.session() as s:
        svc.decline(s, routing_id=bram, actor_slack_id=slack_of("Bram"), reason="toch niet", now=NOW)
    _refused(world, svc.decline, "already_declined", routing_id=bram, actor_slack_id=slack_of("Bram"))
    _refused(world, svc.claim, "already_declined", routing_id=bram, actor_slack_id=slack_of("Bram"))
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ROUTED

    with world.db.session() as s:
        svc.answer(s, routing_id=anouk, actor_slack_id=slack_of("Anouk"), text="Via het kadaster.", now=NOW)
    _refused(world, svc.answer, "already_answered", routing_id=anouk, actor_slack_id=slack_of("Anouk"), text="again")
    _refused(world, svc.claim, "already_answered", routing_id=anouk, actor_slack_id=slack_of("Anouk"))

    with world.db.session() as s:
        events = list(
            s.scalars(select(QuestionEvent).where(QuestionEvent.question_id == qid).order_by(QuestionEvent.id))
        )
        path = [(e.routing_id, e.from_status, e.to_status, e.actor) for e in events if e.kind == "status"]
    assert (None, "", "open", ASKER) in path
    assert (None, "open", "routed", "system") in path
    assert (bram, "asked", "claimed", slack_of("Bram")) in path
    assert (None, "routed", "claimed", slack_of("Bram")) in path
    assert (bram, "claimed", "declined", slack_of("Bram")) in path
    assert (None, "claimed", "routed", slack_of("Bram")) in path
    assert (anouk, "asked", "answered", slack_of("Anouk")) in path
    assert (None, "routed", "answered", slack_of("Anouk")) in path


def test_clicks_after_cancel_are_refused(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    bram = _routings(world, qid)["Bram"]
    svc = world.service
    _refused(world, svc.cancel, "not_asker", question_id=qid, actor_slack_id=slack_of("Bram"))
    with world.db.session() as s:
        svc.cancel(s, question_id=qid, actor_slack_id=ASKER, now=NOW)
    for fn, kw in (
        (svc.claim, {}),
        (svc.decline, {}),
        (svc.snooze, {}),
        (svc.answer, {"text": "te laat"}),
        (svc.forward, {"to_slack_id": "UCOLLEAGUE"}),
    ):
        _refused(world, fn, "question_closed", routing_id=bram, actor_slack_id=slack_of("Bram"), **kw)
    _refused(world, svc.cancel, "question_closed", question_id=qid, actor_slack_id=ASKER)
    _refused(world, svc.add_information, "question_closed", question_id=qid, actor_slack_id=ASKER, text="meer")
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.CANCELLED and q.closed_at == NOW
        assert {r.status for r in q.routings} == {R.EXPIRED}


def test_forward_and_snooze_refusals(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    bram = _routings(world, qid)["Bram"]
    svc = world.service
    with world.db.session() as s:
        svc.forward(s, routing_id=bram, actor_slack_id=slack_of("Bram"), to_slack_id="UCOLLEAGUE", now=NOW)
    _refused(
        world, svc.forward, "already_forwarded", routing_id=bram, actor_slack_id=slack_of("Bram"), to_slack_id="UOTHER"
    )
    _refused(world, svc.snooze, "already_forwarded", routing_id=bram, actor_slack_id=slack_of("Bram"))
    with world.db.session() as s:
        assert s.get(Routing, bram).status is R.FORWARDED  # type: ignore[union-attr]


def test_anonymous_flag_is_a_visibility_not_a_state(world: World) -> None:
    seed_housing(world)
    qid = world.ask(visibility=Visibility.ANONYMOUS)
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ROUTED and q.visibility is Visibility.ANONYMOUS


def test_every_pair_of_states_follows_the_tables(world: World) -> None:
    with world.db.session() as s:
        for frm in QuestionStatus:
            for to in QuestionStatus:
                q = Question(text="x", status=frm, created_at=NOW, updated_at=NOW)
                s.add(q)
                s.flush()
                if to in QUESTION_TRANSITIONS[frm]:
                    transition(s, q, to, actor="t", now=NOW)
                    assert q.status is to
                else:
                    with pytest.raises(StaleActionError):
                        transition(s, q, to, actor="t", now=NOW)
                    assert q.status is frm
        parent = Question(text="y", created_at=NOW, updated_at=NOW)
        s.add(parent)
        s.flush()
        for rfrm in RoutingStatus:
            for rto in RoutingStatus:
                r = Routing(question_id=parent.id, status=rfrm, asked_at=NOW, recipient_slack_id=f"U{rfrm}{rto}")
                s.add(r)
                s.flush()
                if rto in ROUTING_TRANSITIONS[rfrm]:
                    event = transition(s, r, rto, actor="t", now=NOW)
                    assert (event.routing_id, event.from_status, event.to_status) == (r.id, rfrm.value, rto.value)
                else:
                    with pytest.raises(StaleActionError):
                        transition(s, r, rto, actor="t", now=NOW)
                    assert r.status is rfrm
    with world.db.session() as s:
        allowed = sum(len(v) for v in QUESTION_TRANSITIONS.values()) + sum(len(v) for v in ROUTING_TRANSITIONS.values())
        assert s.scalar(select(func.count()).select_from(QuestionEvent)) == allowed


def test_claimed_routing_forwarded_and_claimed_colleague_closed_by_an_answer(world: World) -> None:
    seed_housing(world)
    qid = world.ask(desired_by=NOW.date())  # wanted today: escalated at once by the timer
    run_due_timers(
        world.db, now=NOW, worker_id="w", handler=world.service.handle_timer, kinds=world.service.timer_kinds
    )
    routings = _routings(world, qid)
    bram, anouk = routings["Bram"], routings["Anouk"]
    svc = world.service
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ESCALATED
        svc.claim(s, routing_id=bram, actor_slack_id=slack_of("Bram"), now=NOW)  # escalated -> claimed
        assert q.status is Q.CLAIMED
    with world.db.session() as s:
        new = svc.forward(s, routing_id=bram, actor_slack_id=slack_of("Bram"), to_slack_id="UCOLLEAGUE", now=NOW)
        new_id = new.id
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ROUTED  # the claim went with the forward
    with world.db.session() as s:
        svc.claim(s, routing_id=new_id, actor_slack_id="UCOLLEAGUE", now=NOW)
        svc.answer(s, routing_id=anouk, actor_slack_id=slack_of("Anouk"), text="Zo.", now=NOW)
    with world.db.session() as s:
        statuses = {r.id: r.status for r in s.scalars(select(Routing).where(Routing.question_id == qid))}
    assert statuses[bram] is R.FORWARDED and statuses[new_id] is R.EXPIRED and statuses[anouk] is R.ANSWERED
    with world.db.session() as s:  # staff may close an answered question
        svc.staff_close(s, question_id=qid, actor=Actor.slack("USTAFF1", is_staff=True), note="ok", now=NOW)
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.CLOSED
