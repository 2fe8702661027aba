"""Two people stopping at the same moment (two replicas), each with an open request on a different question whose
candidates include the other: each transaction holds its own register row (the withdrawal, the opt-out, the mark away
of a failed DM) and then moves its request on, reading the next candidates. Without waiting for a row the other is
changing (``select_experts(skip_locked=True)``), both commit on PostgreSQL instead of one failing with a deadlock,
and neither of the two is asked the other's question."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.register import consent, profiles, unreachable
from bot.routing.selection import SKIP_BEING_CHANGED, select_experts
from bot.routing.states import ROUTING_OPEN
from storage import question_repo, routing_repo
from storage.models import Availability, Expert, Question, QuestionStatus
from tests.routing.conftest import World, seed_housing, slack_of
from tests.routing.test_passed_over_waits import asked_again
from tests.routing.test_stopped_locks import AT, WAIT, _asked, _run


def _withdraw(s: Session, world: World, expert_id: int, slack_id: str) -> Callable[[], object]:
    consent.withdraw_listing(s, actor=Actor.slack(slack_id, is_staff=False), expert_id=expert_id, now=AT)
    return lambda: world.service.expert_stopped(s, expert_id=expert_id, now=AT)


def _opt_out(s: Session, world: World, expert_id: int, slack_id: str) -> Callable[[], object]:
    profiles.set_availability(
        s,
        actor=Actor.slack(slack_id, is_staff=False),
        expert_id=expert_id,
        availability=Availability.OPTED_OUT,
        now=AT,
        today=AT.date(),
    )
    return lambda: world.service.expert_stopped(s, expert_id=expert_id, now=AT)


def _dm_fails(s: Session, world: World, expert_id: int, slack_id: str) -> Callable[[], object]:
    """As the outbox sender's reaction to ``user_disabled`` (``recipient_unreachable``): the request's question
    locked, the expert marked away, then the request moved on."""
    [routing] = routing_repo.list_routings_for(s, slack_user_id=slack_id, statuses=sorted(ROUTING_OPEN), limit=5)
    question_repo.get_question(s, question_id=routing.question_id, lock=True)
    unreachable.mark_unreachable(s, expert_id=expert_id, reason="user_disabled", now=AT)
    routing_id = routing.id
    return lambda: world.service.recipient_unreachable(s, routing_id=routing_id, error="user_disabled", now=AT)


STOPS = {"withdraws": _withdraw, "opts_out": _opt_out, "dm_fails": _dm_fails}


def _two_questions(world: World) -> tuple[dict[str, int], int, int, str, str]:
    """Two questions, one asked of X and the other of Y (one expert each; all the housing experts match both)."""
    world.with_policy(initial_experts=1)
    ids = seed_housing(world)
    world.load()
    q1 = world.ask()
    x0 = next(n for n in ids if slack_of(n) in _asked(world, q1))
    with world.db.session() as s:  # the first one away while the second question is routed, then back
        expert = s.get(Expert, ids[x0])
        assert expert is not None
        expert.availability = Availability.AWAY
    q2 = world.ask(thread_ts="1700000000.000200", asker_slack_id="U0ASKER02", asker_name="Tweede")
    with world.db.session() as s:
        expert = s.get(Expert, ids[x0])
        assert expert is not None
        expert.availability = Availability.AVAILABLE
    x = next(n for n in ids if slack_of(n) in _asked(world, q1))
    y = next(n for n in ids if slack_of(n) in _asked(world, q2))
    assert x != y, (x, y)
    return ids, q1, q2, x, y


@pytest.mark.parametrize("second", sorted(STOPS))
def test_two_people_stopping_at_once_both_commit(world: World, second: str) -> None:
    ids, q1, q2, x, y = _two_questions(world)
    both_hold = threading.Barrier(2, timeout=WAIT)

    def stop(name: str, how: str) -> None:
        with world.db.session() as s:
            move_on = STOPS[how](s, world, ids[name], slack_of(name))
            s.flush()
            if world.db.dialect == "postgresql":
                both_hold.wait()  # both rows held (SQLite: one writer at a time)
            move_on()

    errors = _run(lambda: stop(x, "withdraws"), lambda: stop(y, second))
    assert errors == [], errors
    again = asked_again(world)  # or asked again at the next timer pass
    with world.db.session() as s:
        for qid in (q1, q2):
            question = s.get(Question, qid)
            assert question is not None
            still = [r for r in question.routings if r.status in ROUTING_OPEN]
            assert not [r for r in still if r.expert_id in (ids[x], ids[y])]
            # the request moved on: someone else asked, or staff handed it
            assert still or question.status is QuestionStatus.ESCALATED or qid in again


def test_a_candidate_being_changed_is_passed_over_only_while_it_is(world: World) -> None:
    """What ``skip_locked`` does to a candidate whose row another transaction is changing (PostgreSQL): passed over
    at once, reason ``being_changed``; once that change committed, read and chosen as before."""
    if world.db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: the reader waits for its write lock")
    ids = seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        asked = {r.expert_id for r in question.routings}
    free = next(expert_id for expert_id in ids.values() if expert_id not in asked and expert_id != ids["Emma"])
    holding, release = threading.Event(), threading.Event()

    def edit_in_progress() -> None:
        with world.db.session() as a:
            expert = profiles.get_expert(a, expert_id=free, lock=True)
            expert.role = "coördinator"
            a.flush()
            holding.set()
            assert release.wait(WAIT)

    def chosen_ids(*, skip_locked: bool) -> tuple[set[int], dict[int, str]]:
        with world.db.session() as b:
            question = question_repo.get_question(b, question_id=qid, lock=True)
            assert question is not None
            selection = select_experts(
                b, knowledge=world.kb, policy=world.policy, question=question, count=3, now=AT, skip_locked=skip_locked
            )
            return {c.expert.id for c in selection.chosen}, selection.skipped

    thread = threading.Thread(target=edit_in_progress)
    thread.start()
    try:
        assert holding.wait(WAIT)
        chosen, skipped = chosen_ids(skip_locked=True)
        assert free not in chosen
        assert skipped[free] == SKIP_BEING_CHANGED  # read without waiting for the edit (it commits only after)
    finally:
        release.set()
        thread.join(WAIT)
    chosen, skipped = chosen_ids(skip_locked=True)
    assert free in chosen
    assert free not in skipped
