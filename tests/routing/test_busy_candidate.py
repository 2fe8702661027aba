"""A question whose only good match was passed over because their register row was being changed at that moment
(``SKIP_BEING_CHANGED``: PostgreSQL's ``SKIP LOCKED`` in ``select_experts``) is not handed to staff at once: it stays
open and the next job pass routes it again (``route_held``), a few times at most, then it goes to staff as before.

SQLite never skips a row (one writer at a time), so the row being changed is simulated there; PostgreSQL also has a
test with a real second session holding the row."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.register import profiles
from bot.routing import asker as asker_module
from bot.routing import selection as selection_module
from storage import register_repo
from storage.models import EscalationReason, EventKind, Expert, OutboxKind, Question, QuestionEvent, QuestionStatus
from tests.routing.conftest import NOW, World, add_expert, slack_of

PASS = timedelta(seconds=30)


def _seed_one(world: World) -> int:
    with world.db.session() as s:
        bram = add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], themes=["wonen"])
        expert_id = bram.id
    world.load()
    return expert_id


def _busy(monkeypatch: pytest.MonkeyPatch, busy: set[int]) -> None:
    """The rows in ``busy`` are being changed: a ``SKIP LOCKED`` read leaves them out, as PostgreSQL does."""
    real = register_repo.get_experts_by_ids

    def reading(session: Any, *, expert_ids: Collection[int], **kw: Any) -> dict[int, Expert]:
        found = real(session, expert_ids=expert_ids, **kw)
        if kw.get("skip_locked"):
            return {i: e for i, e in found.items() if i not in busy}
        return found

    monkeypatch.setattr(selection_module.register_repo, "get_experts_by_ids", reading)


def _state(world: World, qid: int) -> tuple[QuestionStatus, str | None, list[QuestionEvent]]:
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None
        events = list(s.scalars(select(QuestionEvent).where(QuestionEvent.question_id == qid)))
        s.expunge_all()
        return question.status, question.escalation_reason, events


def _retries(events: list[QuestionEvent]) -> int:
    return sum(1 for e in events if e.kind == EventKind.HELD and e.note == asker_module.BUSY_NOTE)


def test_the_only_match_being_changed_is_asked_at_the_next_pass(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    expert_id = _seed_one(world)
    busy = {expert_id}
    _busy(monkeypatch, busy)
    qid = world.ask()
    status, _, events = _state(world, qid)
    assert status is QuestionStatus.OPEN  # not handed to staff while the only match was being changed
    assert world.outbox(OutboxKind.TRIAGE, question_id=qid) == []
    assert _retries(events) == 1
    assert [t.kind.value for t in world.pending_timers() if t.question_id == qid] == ["escalate"]

    with world.db.session() as s:  # still being changed at the next pass: one more try, not all of them at once
        assert world.service.route_held(s, now=NOW + PASS) == []
    status, _, events = _state(world, qid)
    assert status is QuestionStatus.OPEN and _retries(events) == 2

    busy.clear()  # the change committed a moment later: the next pass asks them
    with world.db.session() as s:
        assert world.service.route_held(s, now=NOW + 2 * PASS) == [qid]
    status, _, _ = _state(world, qid)
    assert status is QuestionStatus.ROUTED
    assert [m.recipient_slack_id for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)] == [
        slack_of("Bram")
    ]
    assert world.outbox(OutboxKind.TRIAGE, question_id=qid) == []


def test_still_being_changed_after_the_retries_goes_to_staff(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    expert_id = _seed_one(world)
    _busy(monkeypatch, {expert_id})
    qid = world.ask()
    for n in range(1, asker_module.BUSY_RETRIES + 1):
        with world.db.session() as s:
            world.service.route_held(s, now=NOW + n * PASS)
    status, reason, events = _state(world, qid)
    assert status is QuestionStatus.ESCALATED
    assert reason == EscalationReason.NOBODY_AVAILABLE.value
    assert _retries(events) == asker_module.BUSY_RETRIES
    assert len(world.outbox(OutboxKind.TRIAGE, question_id=qid)) == 1


def test_a_match_left_out_for_another_reason_goes_to_staff_at_once(world: World) -> None:
    with world.db.session() as s:
        add_expert(s, "Bram", organisation="Stad Gent", expertise=["leegstandsheffing"], max_open=0)
        bram = s.scalars(select(Expert)).one()
        bram.away_until = NOW.date() + timedelta(days=3)
    world.load()
    qid = world.ask()
    status, reason, events = _state(world, qid)
    assert (status, reason) == (QuestionStatus.ESCALATED, EscalationReason.NOBODY_AVAILABLE.value)
    assert _retries(events) == 0


def test_a_row_held_by_another_session_postgresql(world: World) -> None:
    """PostgreSQL: another transaction holds the only match's row (an edit in progress) while the question is asked."""
    if world.db.dialect != "postgresql":
        pytest.skip("SQLite lets one writer at a time: a routing waits for the row instead of passing it over")
    expert_id = _seed_one(world)
    with world.db.session() as other:
        profiles.get_expert(other, expert_id=expert_id, lock=True)
        qid = world.ask()
        other.rollback()
    assert _state(world, qid)[0] is QuestionStatus.OPEN
    with world.db.session() as s:
        assert world.service.route_held(s, now=NOW + PASS) == [qid]
    assert _state(world, qid)[0] is QuestionStatus.ROUTED
    assert world.outbox(OutboxKind.TRIAGE, question_id=qid) == []
