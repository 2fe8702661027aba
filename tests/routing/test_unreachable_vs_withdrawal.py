"""A request DM that failed for good (``recipient_unreachable``: its question locked, then the expert marked away)
against the same person's withdrawal by staff (their questions, then their row: ``bot.register.stop_locks``), in
both orders, two threads: one lock order, so both commit (no deadlock on PostgreSQL), and the request is closed."""

from __future__ import annotations

import threading

from bot.actors import Actor
from bot.register import consent
from storage import question_repo
from storage.models import Question
from tests.routing.conftest import World
from tests.routing.test_stopped_locks import AT, WAIT, _one_asked, _open_for, _run, until_another_waits


def _routing_of(world: World, qid: int, expert_id: int) -> int:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        [routing_id] = [r.id for r in question.routings if r.expert_id == expert_id]
        return routing_id


def _errors(errors: list[BaseException]) -> list[str]:
    return [type(e).__name__ + ": " + str(e)[:120] for e in errors]


def test_a_withdrawal_while_a_failed_request_holds_their_question_both_commit(world: World) -> None:
    qid, expert_id, _ = _one_asked(world)
    routing_id = _routing_of(world, qid, expert_id)
    b_holds, b_done = threading.Event(), threading.Event()

    def withdrawal_by_staff() -> None:
        assert b_holds.wait(WAIT)
        if world.db.dialect != "postgresql":  # SQLite does not lock a read: one change would be refused as stale
            assert b_done.wait(WAIT)
        with world.db.session() as a:
            consent.withdraw_listing(a, actor=Actor.cli("staff"), expert_id=expert_id, now=AT)
            a.flush()
            world.service.expert_stopped(a, expert_id=expert_id, now=AT)

    def dm_failed_for_good() -> None:  # the outbox sender's reaction to user_disabled
        with world.db.session() as b:
            question_repo.get_question(b, question_id=qid, lock=True)  # as _locked does first
            b_holds.set()
            until_another_waits(world)  # the withdrawal waits (PostgreSQL)
            world.service.recipient_unreachable(b, routing_id=routing_id, error="user_disabled", now=AT)
        b_done.set()

    errors = _run(withdrawal_by_staff, dm_failed_for_good)
    assert errors == [], _errors(errors)
    assert _open_for(world, qid, expert_id) == []


def test_a_failed_request_while_a_withdrawal_holds_their_row_both_commit(world: World) -> None:
    qid, expert_id, _ = _one_asked(world)
    routing_id = _routing_of(world, qid, expert_id)
    a_holds, a_done = threading.Event(), threading.Event()

    def withdrawal_by_staff() -> None:
        with world.db.session() as a:
            consent.withdraw_listing(a, actor=Actor.cli("staff"), expert_id=expert_id, now=AT)
            a.flush()
            a_holds.set()
            until_another_waits(world)  # the failed request waits (PostgreSQL)
            world.service.expert_stopped(a, expert_id=expert_id, now=AT)
        a_done.set()

    def dm_failed_for_good() -> None:
        assert a_holds.wait(WAIT)
        if world.db.dialect != "postgresql":  # SQLite does not lock a read: the change would be refused as stale
            assert a_done.wait(WAIT)
        with world.db.session() as b:
            question_repo.get_question(b, question_id=qid, lock=True)
            world.service.recipient_unreachable(b, routing_id=routing_id, error="user_disabled", now=AT)

    errors = _run(withdrawal_by_staff, dm_failed_for_good)
    assert errors == [], _errors(errors)
    assert _open_for(world, qid, expert_id) == []
