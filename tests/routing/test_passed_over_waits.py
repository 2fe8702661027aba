"""A request moving on inside a transaction that holds an expert row (here: a request DM that failed for good, its
expert marked away) reads the next candidates without waiting (``select_experts(skip_locked=True)``). When the only
one left is passed over because another transaction is changing their row at that moment, the question is not
handed to staff as "all declined": the next timer pass asks again, waiting for the change, and asks them."""

from __future__ import annotations

import threading

import pytest

from bot.register import profiles
from bot.routing.states import ROUTING_OPEN
from storage.models import Availability, Expert, Question, QuestionStatus, Timer, TimerKind
from tests.routing.conftest import World, seed_housing
from tests.routing.test_stopped_locks import AT, WAIT


def asked_again(world: World) -> set[int]:
    """The questions the next timer pass asks again (nobody was left only for a moment)."""
    return {t.question_id for t in world.pending_timers() if t.kind is TimerKind.NEXT_EXPERT and t.routing_id is None}


def test_nobody_left_only_for_a_moment_is_asked_again_not_escalated(world: World) -> None:
    if world.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: the reader waits for its write lock and passes nobody over")
    world.with_policy(initial_experts=1)
    ids = seed_housing(world, extra=False)
    qid = world.ask()
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        [asked] = question.routings
        routing_id, first = asked.id, asked.expert_id
        others = [i for i in ids.values() if i != first]
        free, away = others[0], others[1:]
        for expert_id in away:  # everyone else away: one candidate is left
            expert = s.get(Expert, expert_id)
            assert expert is not None
            expert.availability = Availability.AWAY
    holding, release = threading.Event(), threading.Event()

    def edit_in_progress() -> None:
        with world.db.session() as a:
            expert = profiles.get_expert(a, expert_id=free, lock=True)
            expert.role = "coördinator"
            a.flush()
            holding.set()
            assert release.wait(WAIT)

    thread = threading.Thread(target=edit_in_progress)
    thread.start()
    try:
        assert holding.wait(WAIT)
        with world.db.session() as s:
            outcome = world.service.recipient_unreachable(s, routing_id=routing_id, error="user_disabled", now=AT)
        assert outcome.startswith("moved on")
    finally:
        release.set()
        thread.join(WAIT)
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        assert question.status is QuestionStatus.ROUTED  # not handed to staff
    assert asked_again(world) == {qid}
    [retry] = [t for t in world.pending_timers() if t.kind is TimerKind.NEXT_EXPERT and t.routing_id is None]
    with world.db.session() as s:
        timer = s.get(Timer, retry.id)
        assert timer is not None
        outcome = world.service.handle_timer(s, timer, AT)
    assert outcome.startswith("asked")
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        assert question.status is QuestionStatus.ROUTED
        assert [r.expert_id for r in question.routings if r.status in ROUTING_OPEN] == [free]
