"""Two people deactivated at the same moment (two replicas), each with an open request on a different question that
names them only by Slack id (someone outside the register when they were asked, in it now), and each a candidate for
both questions. Moving a request on reads the question's candidates (``FOR SHARE``); marking the person away then
changes their row. Had each transaction read the candidates before locking its own person, each would hold a share
of the other's row and wait for it: a deadlock on PostgreSQL. Their row is locked first (after their questions, the
order of ``bot.register.stop_locks``), so both commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.routing import core as routing_core
from bot.routing.states import ROUTING_OPEN
from storage.models import Availability, Expert, Question, QuestionStatus
from tests.routing.conftest import World, slack_of
from tests.routing.test_passed_over_waits import asked_again
from tests.routing.test_stopped_locks import AT, WAIT, _run
from tests.routing.test_two_stops_at_once import _two_questions


def _by_slack_id_only(world: World, qid: int, slack_id: str) -> None:
    """The question's request to ``slack_id`` without its register entry (asked while outside the register)."""
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        [routing] = [r for r in question.routings if r.recipient_slack_id == slack_id]
        routing.expert_id = None


def test_two_people_gone_at_once_both_commit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ids, q1, q2, x, y = _two_questions(world)
    _by_slack_id_only(world, q1, slack_of(x))
    _by_slack_id_only(world, q2, slack_of(y))
    both_reading = threading.Barrier(2, timeout=WAIT)
    real_select = routing_core.select_experts

    def select_when_both_read(session: Session, **kwargs: Any) -> Any:
        if world.db.dialect == "postgresql":
            both_reading.wait()  # both about to read the candidates (SQLite: one writer at a time)
        return real_select(session, **kwargs)

    monkeypatch.setattr(routing_core, "select_experts", select_when_both_read)

    def gone(name: str) -> Callable[[], None]:
        def run() -> None:
            with world.db.session() as s:
                world.service.person_deactivated(s, slack_user_id=slack_of(name), reason="deleted", now=AT)

        return run

    errors = _run(gone(x), gone(y))
    assert errors == [], errors
    again = asked_again(world)  # or asked again at the next timer pass
    with world.db.session() as s:
        for name in (x, y):
            expert = s.get(Expert, ids[name])
            assert expert is not None
            assert expert.availability is Availability.AWAY  # marked away
        for qid in (q1, q2):
            question = s.get(Question, qid)
            assert question is not None
            # their own requests moved on (someone else asked, or staff handed the question)
            assert not [r for r in question.routings if r.expert_id is None and r.status in ROUTING_OPEN]
            still = [r for r in question.routings if r.status in ROUTING_OPEN]
            assert still or question.status is QuestionStatus.ESCALATED or qid in again
