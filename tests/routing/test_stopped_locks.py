"""A withdrawal against routing passes running at the same moment, in two threads (two replicas): one lock order, no
deadlock, and nobody asked after their withdrawal committed (``bot.routing.stopped``).

A withdrawal holds the person's register row, then locks the questions of their open requests; a routing pass
(a decline, a timer, a refill) holds its question, then reads the candidates. On PostgreSQL a pass meets a row being
withdrawn and passes it over (``SKIP LOCKED``) instead of waiting for it with the question held; SQLite lets one
writer at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from bot.actors import Actor
from bot.register import consent
from bot.routing.selection import SKIP_BEING_CHANGED, Selection, select_experts
from bot.routing.states import ROUTING_OPEN
from storage import question_repo
from storage.models import OutboxKind, Question
from tests.routing.conftest import NOW, World, seed_housing, slack_of

AT = NOW + timedelta(seconds=1)
WAIT = 20  # seconds a thread waits for the other at most (a deadlock is found by PostgreSQL after one second)


def _run(*targets: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not [t for t in threads if t.is_alive()], "a thread still waits"
    return errors


def _open_for(world: World, qid: int, expert_id: int) -> list[int]:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        return [r.id for r in question.routings if r.expert_id == expert_id and r.status in ROUTING_OPEN]


def _asked(world: World, qid: int) -> list[str]:
    return [str(m.recipient_slack_id) for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)]


def test_a_withdrawal_and_a_routing_pass_on_their_question_both_commit(world: World) -> None:
    """The withdrawal holds the person's row; a pass (as ``core.route``: the question locked first) selects experts
    for the question they were asked, then the withdrawal moves their request on. Both commit; the pass does not
    pick them (on PostgreSQL it passes over the row being withdrawn: ``being_changed``)."""
    ids = seed_housing(world)
    qid = world.ask()
    name = next(n for n in ids if slack_of(n) in _asked(world, qid))
    expert_id, slack_id = ids[name], slack_of(name)
    a_holds_expert, b_holds_question = threading.Event(), threading.Event()
    selected: list[Selection] = []

    def withdrawal() -> None:
        with world.db.session() as a:
            consent.withdraw_listing(a, actor=Actor.slack(slack_id, is_staff=False), expert_id=expert_id, now=AT)
            a.flush()
            a_holds_expert.set()
            assert b_holds_question.wait(WAIT)
            world.service.expert_stopped(a, expert_id=expert_id, now=AT)

    def routing_pass() -> None:
        assert a_holds_expert.wait(WAIT)
        with world.db.session() as b:
            question = question_repo.get_question(b, question_id=qid, lock=True)
            assert question is not None
            b_holds_question.set()
            selected.append(
                select_experts(b, knowledge=world.kb, policy=world.policy, question=question, count=3, now=AT)
            )

    assert _run(withdrawal, routing_pass) == []
    [selection] = selected
    assert expert_id not in [c.expert.id for c in selection.chosen]
    if world.db.dialect == "postgresql":
        assert selection.skipped[expert_id] == SKIP_BEING_CHANGED
    assert _open_for(world, qid, expert_id) == []


def test_two_people_asked_one_question_withdraw_at_once(world: World) -> None:
    """Two people asked the same question withdraw at the same moment: each holds their own row, then moves their
    request on, which refills the question (reading the other as a candidate). Both commit, neither is asked again."""
    ids = seed_housing(world)
    qid = world.ask()
    asked = _asked(world, qid)
    pair = [(ids[n], slack_of(n)) for n in ids if slack_of(n) in asked][:2]
    assert len(pair) == 2
    # PostgreSQL: both hold their rows before either moves on; SQLite: the second waits for the first's write lock
    both_hold = threading.Barrier(2) if world.db.dialect == "postgresql" else None

    def withdrawal(expert_id: int, slack_id: str) -> Callable[[], None]:
        def run() -> None:
            with world.db.session() as s:
                consent.withdraw_listing(s, actor=Actor.slack(slack_id, is_staff=False), expert_id=expert_id, now=AT)
                s.flush()
                if both_hold is not None:
                    both_hold.wait(WAIT)
                world.service.expert_stopped(s, expert_id=expert_id, now=AT)

        return run

    assert _run(*(withdrawal(*p) for p in pair)) == []
    for expert_id, slack_id in pair:
        assert _open_for(world, qid, expert_id) == []
        assert _asked(world, qid).count(slack_id) == 1
