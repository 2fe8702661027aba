"""A withdrawal against routing passes running at the same moment, in two threads (two replicas): one lock order, no
deadlock, and nobody asked after their withdrawal committed (``bot.routing.stopped``).

Everyone locks questions (in id order) before expert rows: a withdrawal locks the questions of the person's open
requests, then their row (``bot.register.stop_locks``); a routing pass (a decline, a timer, a refill) holds its
question, then reads the candidates ``FOR SHARE``, waiting for a change in progress. SQLite lets one writer at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text

from bot.actors import Actor
from bot.register import consent
from bot.routing.selection import Selection, select_experts
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


def until_another_waits(world: World, *, at_most: float = 5.0) -> bool:
    """Until a session of this test's database waits for a lock (PostgreSQL tells; True), or ``at_most`` seconds
    passed (False). SQLite: at once (False): its writers queue on the database's write lock."""
    if world.db.dialect != "postgresql":
        return False
    deadline = time.monotonic() + at_most
    while time.monotonic() < deadline:
        with world.db.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
        if waiting:
            return True
        time.sleep(0.02)
    return False


def _open_for(world: World, qid: int, expert_id: int) -> list[int]:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        return [r.id for r in question.routings if r.expert_id == expert_id and r.status in ROUTING_OPEN]


def _asked(world: World, qid: int) -> list[str]:
    return [str(m.recipient_slack_id) for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)]


def _one_asked(world: World) -> tuple[int, int, str]:
    """A question asked, and one of the experts asked it: (question id, expert id, Slack id)."""
    ids = seed_housing(world)
    qid = world.ask()
    name = next(n for n in ids if slack_of(n) in _asked(world, qid))
    return qid, ids[name], slack_of(name)


def _withdraw_in(world: World, expert_id: int, slack_id: str) -> None:
    with world.db.session() as a:
        consent.withdraw_listing(a, actor=Actor.slack(slack_id, is_staff=False), expert_id=expert_id, now=AT)
        a.flush()
        world.service.expert_stopped(a, expert_id=expert_id, now=AT)


def _select_in(world: World, qid: int, selected: list[Selection], *, held: threading.Event | None = None) -> None:
    """A routing pass as ``core.route``: the question locked first, then the candidates read (``FOR SHARE``)."""
    with world.db.session() as b:
        question = question_repo.get_question(b, question_id=qid, lock=True)
        assert question is not None
        selected.append(select_experts(b, knowledge=world.kb, policy=world.policy, question=question, count=3, now=AT))
        if held is not None:
            held.set()
            until_another_waits(world)  # the withdrawal waits for this pass (PostgreSQL)


def test_a_withdrawal_in_progress_and_a_routing_pass_on_their_question_both_commit(world: World) -> None:
    """The withdrawal holds the question of the person's request and their row; a pass on that question (as
    ``core.route``: the question locked first) waits for it, then does not pick them. Both commit."""
    qid, expert_id, slack_id = _one_asked(world)
    a_holds, selected = threading.Event(), list[Selection]()

    def withdrawal() -> None:
        with world.db.session() as a:
            consent.withdraw_listing(a, actor=Actor.slack(slack_id, is_staff=False), expert_id=expert_id, now=AT)
            a.flush()
            a_holds.set()
            until_another_waits(world)  # the pass waits for this withdrawal (PostgreSQL)
            world.service.expert_stopped(a, expert_id=expert_id, now=AT)

    def routing_pass() -> None:
        assert a_holds.wait(WAIT)
        _select_in(world, qid, selected)

    assert _run(withdrawal, routing_pass) == []
    [selection] = selected
    assert expert_id not in [c.expert.id for c in selection.chosen]
    assert _open_for(world, qid, expert_id) == []


def test_a_routing_pass_in_progress_and_a_withdrawal_of_someone_it_read_both_commit(world: World) -> None:
    """The other order: the pass holds the question and has read the candidates (``FOR SHARE``); the withdrawal waits
    for it, then moves the person's request on. Both commit, and their request is no longer open."""
    qid, expert_id, slack_id = _one_asked(world)
    b_holds, selected = threading.Event(), list[Selection]()

    def withdrawal() -> None:
        assert b_holds.wait(WAIT)
        _withdraw_in(world, expert_id, slack_id)

    assert _run(lambda: _select_in(world, qid, selected, held=b_holds), withdrawal) == []
    assert len(selected) == 1
    assert _open_for(world, qid, expert_id) == []


def test_two_people_asked_one_question_withdraw_at_once(world: World) -> None:
    """Two people asked the same question withdraw at the same moment: each locks the question, then their own row,
    then moves their request on, which refills the question (reading the other as a candidate). The second waits
    for the first at the question. Both commit, neither is asked again."""
    ids = seed_housing(world)
    qid = world.ask()
    asked = _asked(world, qid)
    pair = [(ids[n], slack_of(n)) for n in ids if slack_of(n) in asked][:2]
    assert len(pair) == 2
    assert _run(*(lambda p=p: _withdraw_in(world, *p) for p in pair)) == []
    for expert_id, slack_id in pair:
        assert _open_for(world, qid, expert_id) == []
        assert _asked(world, qid).count(slack_id) == 1
