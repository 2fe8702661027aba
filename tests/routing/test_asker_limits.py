"""One member cannot use up the experts: a cap on questions with experts per asker (more are held, routed when one
closes) and an hourly limit on new questions. Staff are not limited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.outbox import AskerUpdateKind
from bot.routing import RoutingInputError
from storage.models import OutboxKind, Question, QuestionStatus, Routing
from tests.routing.conftest import NOW, seed_housing


def _status(world, question_id: int) -> QuestionStatus:
    with world.db.session() as s:
        question = s.get(Question, question_id)
        assert question is not None
        return question.status


def _questions(world) -> int:
    with world.db.session() as s:
        return len(list(s.scalars(select(Question.id))))


def _flood(world, n: int = 6) -> list[int]:
    """One ordinary member, ``n`` near-identical questions, a minute apart."""
    return [
        world.ask(
            text=f"wie weet iets over leegstandsheffing? ({i})",
            thread_ts=f"1700000000.00010{i}",
            now=NOW + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def test_one_asker_cannot_fill_every_experts_open_slots(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0)  # only the cap here
    flooded = _flood(world)
    routed = [q for q in flooded if _status(world, q) is QuestionStatus.ROUTED]
    held = [q for q in flooded if _status(world, q) is QuestionStatus.OPEN]
    assert len(routed) == 3 and held == flooded[3:]  # kept, not routed, not sent to staff triage
    assert not any(world.outbox(OutboxKind.EXPERT_REQUEST, question_id=q) for q in held)
    assert not world.outbox(OutboxKind.TRIAGE)
    for q in held:  # the asker is told why, once
        updates = [m.payload for m in world.outbox(OutboxKind.ASKER_UPDATE, question_id=q)]
        assert [u["update"] for u in updates] == [AskerUpdateKind.HELD.value]
    honest = world.ask(asker_slack_id="U0HONEST1", text="wie weet iets over leegstandsheffing?", thread_ts="1.2")
    assert world.outbox(OutboxKind.EXPERT_REQUEST, question_id=honest), "the honest question reached nobody"


def test_a_held_question_is_routed_when_one_of_the_askers_closes(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0)
    flooded = _flood(world, 5)
    later = NOW + timedelta(hours=1)
    with world.db.session() as s:
        assert world.service.route_held(s, now=later) == []  # still three with experts: nothing moves
    with world.db.session() as s:  # the asker withdraws one: the oldest held question goes at once
        world.service.cancel(s, question_id=flooded[0], actor_slack_id="UASKER001", now=later)
    assert _status(world, flooded[3]) is QuestionStatus.ROUTED
    assert world.outbox(OutboxKind.EXPERT_REQUEST, question_id=flooded[3])
    assert _status(world, flooded[4]) is QuestionStatus.OPEN
    with world.db.session() as s:  # answered elsewhere: the job's pass routes the next one
        world.service.resolve(s, question_id=flooded[1], actor_slack_id="UASKER001", now=later)
    assert _status(world, flooded[4]) is QuestionStatus.ROUTED
    with world.db.session() as s:
        assert world.service.route_held(s, now=later) == []  # nothing is routed twice


def test_the_job_pass_routes_held_questions_once_there_is_room(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    first, second = _flood(world, 2)
    assert _status(world, second) is QuestionStatus.OPEN
    with world.db.session() as s:  # an expert answers the first: it leaves the experts without the asker acting
        routing = s.scalars(select(Routing).where(Routing.question_id == first).order_by(Routing.id)).first()
        assert routing is not None and routing.expert is not None and routing.expert.slack_user_id
        world.service.answer(
            s, routing_id=routing.id, actor_slack_id=routing.expert.slack_user_id, text="zo doen wij het", now=NOW
        )
    assert _status(world, second) is QuestionStatus.OPEN  # routed by the next pass, not by the answer itself
    with world.db.session() as s:
        assert world.service.route_held(s, now=NOW + timedelta(minutes=5)) == [second]
    assert _status(world, second) is QuestionStatus.ROUTED


def test_the_hourly_limit_refuses_with_nothing_recorded(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=3, max_open_per_asker=0)
    _flood(world, 3)
    before = (_questions(world), len(world.outbox()))
    with pytest.raises(RoutingInputError) as refused:
        world.ask(text="nog een vraag over leegstandsheffing", thread_ts="1.9", now=NOW + timedelta(minutes=30))
    assert refused.value.code == "too_many_questions" and refused.value.values == {"limit": "3"}
    assert (_questions(world), len(world.outbox())) == before  # no question, no gap, no message
    with world.db.session() as s:
        with pytest.raises(RoutingInputError):
            world.service.check_may_ask(s, asker_slack_id="UASKER001", now=NOW + timedelta(minutes=30))
        world.service.check_may_ask(s, asker_slack_id="UASKER001", now=NOW + timedelta(minutes=61))  # an hour on
    world.ask(text="nog een vraag over leegstandsheffing", thread_ts="1.9", now=NOW + timedelta(minutes=61))
    assert _questions(world) == before[0] + 1


def test_staff_are_not_limited(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=2, max_open_per_asker=1)
    asked = [
        world.ask(text=f"leegstandsheffing voor staff ({i})", thread_ts=f"1.{i}", asker_is_staff=True) for i in range(4)
    ]
    assert [_status(world, q) for q in asked].count(QuestionStatus.OPEN) == 0
