"""``bot.register.stop_locks``: before someone stops being asked, the questions of their open requests are locked
before their register row, also a request a routing committed between the first read and the row's lock."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.register import stop_locks
from bot.routing.states import ROUTING_OPEN
from storage import question_repo
from tests.routing.conftest import World
from tests.routing.test_stopped_locks import _one_asked


def test_open_statuses_are_routings_open_ones() -> None:
    assert frozenset(stop_locks.OPEN_STATUSES) == ROUTING_OPEN


def test_a_request_found_once_the_row_is_locked_has_its_question_locked_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    qid, expert_id, _ = _one_asked(world)
    real = stop_locks.open_question_ids
    calls: list[set[int]] = []

    def first_read_misses_it(session: Session, *, slack_user_id: str | None) -> set[int]:
        found = set() if not calls else real(session, slack_user_id=slack_user_id)
        calls.append(set(found))
        return found

    monkeypatch.setattr(stop_locks, "open_question_ids", first_read_misses_it)
    with world.db.session() as a:
        expert = stop_locks.lock_expert_to_stop(a, expert_id=expert_id)
        assert expert is not None and expert.id == expert_id
        # read (missed), read again under the row's lock (found: locks given back, taken again), read again (same)
        assert calls == [set(), {qid}, {qid}]
        if world.db.dialect == "postgresql":
            with world.db.session() as b:
                b.execute(text("SET LOCAL lock_timeout = '100ms'"))
                with pytest.raises(OperationalError):  # the question is held by the withdrawal
                    question_repo.get_question(b, question_id=qid, lock=True)
        a.rollback()


def test_nobody_to_lock_for_an_unknown_expert(world: World) -> None:
    with world.db.session() as s:
        assert stop_locks.lock_expert_to_stop(s, expert_id=987654) is None
