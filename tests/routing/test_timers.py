"""Timers: reminders, the next expert, escalation; claimed once across workers; stale claims; failures."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.routing import run_due_timers
from bot.routing.policy import RoutingPolicy
from storage import routing_repo as repo
from storage.db import Database
from storage.models import OutboxKind, Question, QuestionStatus, Routing, RoutingStatus, Timer, TimerKind
from tests.routing.conftest import NOW, World, local, seed_housing, seed_themes

Q, R, K = QuestionStatus, RoutingStatus, OutboxKind


def _sweep(world: World, now: datetime, worker: str = "w1") -> dict[int, str]:
    run = run_due_timers(
        world.db, now=now, worker_id=worker, handler=world.service.handle_timer, kinds=world.service.timer_kinds
    )
    assert not run.failed, run.outcomes
    return run.outcomes


def _question(world: World, qid: int) -> Question:
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        _ = [r.expert for r in q.routings]
        return q


def test_remind_after_two_business_days_then_next_expert_after_three(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    assert _sweep(world, local(2026, 11, 25, 9, 59)) == {}
    outcomes = _sweep(world, local(2026, 11, 25, 10))
    assert sorted(outcomes.values()) == ["reminded", "reminded"]
    reminders = world.outbox(K.EXPERT_REMINDER)
    assert len(reminders) == 2 and all(m.payload["reasons"] for m in reminders)
    assert all(r.reminded_at == local(2026, 11, 25, 10) for r in _question(world, qid).routings)
    assert _sweep(world, local(2026, 11, 25, 12)) == {}  # handled once

    updates_before = len(world.outbox(K.ASKER_UPDATE))
    outcomes = _sweep(world, local(2026, 11, 26, 10))
    assert sorted(outcomes.values())[1:] == ["noop: a later expert is still within their time"]
    assert sorted(outcomes.values())[0].startswith("asked ")
    q = _question(world, qid)
    assert len(q.routings) == 3  # the two silent ones stay asked; the next expert (one, not one each) is added
    assert all(r.status is R.ASKED for r in q.routings)
    added = q.routings[-1]
    # the asker is told who was added
    updates = world.outbox(K.ASKER_UPDATE)[updates_before:]
    assert len(updates) == 1 and updates[0].recipient_slack_id == q.asker_slack_id
    assert updates[0].payload["update"] == "added"
    assert [p["slack_user_id"] for p in updates[0].payload["experts"]] == [added.recipient_slack_id]
    assert _sweep(world, local(2026, 11, 26, 12)) == {}  # handled once


def test_the_next_expert_after_a_decline_waits_for_the_one_asked_instead(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    first, _ = _question(world, qid).routings
    with world.db.session() as s:  # Tuesday: the first declines, someone else is asked at once
        world.service.decline(
            s, routing_id=first.id, actor_slack_id=first.recipient_slack_id or "", now=local(2026, 11, 24, 10)
        )
    assert len(_question(world, qid).routings) == 3
    outcomes = _sweep(world, local(2026, 11, 26, 10))  # three business days after the first two were asked
    assert "noop: a later expert is still within their time" in outcomes.values()
    assert not any(o.startswith("asked") for o in outcomes.values())
    assert len(_question(world, qid).routings) == 3
    outcomes = _sweep(world, local(2026, 11, 27, 10))  # three business days after the replacement: still silent
    assert sum(o.startswith("asked") for o in outcomes.values()) == 1
    assert len(_question(world, qid).routings) == 4


def test_escalate_after_five_business_days(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    _sweep(world, local(2026, 11, 27, 16))  # reminders and next experts, Friday
    assert _question(world, qid).status is Q.ROUTED
    outcomes = _sweep(world, local(2026, 11, 30, 10))  # Monday: five business days
    assert "escalated: deadline" in outcomes.values()
    q = _question(world, qid)
    assert q.status is Q.ESCALATED and q.escalation_reason == "deadline"
    assert len(world.outbox(K.TRIAGE)) == 1
    # experts still asked may answer after the escalation
    r = next(r for r in q.routings if r.status is R.ASKED)
    with world.db.session() as s:
        world.service.answer(
            s,
            routing_id=r.id,
            actor_slack_id=r.recipient_slack_id or "",
            text="Laat maar goed.",
            now=local(2026, 11, 30, 11),
        )
    assert _question(world, qid).status is Q.ANSWERED


def test_escalate_at_the_desired_date_when_that_comes_first(world: World) -> None:
    seed_housing(world)
    qid = world.ask(desired_by=date(2026, 11, 25))
    escalate = [t for t in world.pending_timers() if t.kind is TimerKind.ESCALATE]
    assert [t.due_at for t in escalate] == [local(2026, 11, 25, 9)]
    outcomes = _sweep(world, local(2026, 11, 25, 9))
    assert list(outcomes.values()) == ["escalated: desired_date"]
    q = _question(world, qid)
    assert (q.status, q.escalation_reason) == (Q.ESCALATED, "desired_date")
    # reminders still go out; no automatic next expert for an escalated question
    outcomes = _sweep(world, local(2026, 11, 26, 10))
    assert sorted(outcomes.values()) == ["noop: question escalated", "noop: question escalated", "reminded", "reminded"]


@pytest.mark.parametrize(
    ("asked", "desired", "due"),
    [
        (date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 30)),  # asked Friday for Saturday: Monday
        (date(2026, 11, 27), date(2026, 11, 29), date(2026, 11, 30)),  # for Sunday: Monday
        (date(2026, 11, 9), date(2026, 11, 11), date(2026, 11, 12)),  # for Armistice Day, a Wednesday: Thursday
    ],
)
def test_a_desired_date_nobody_works_on_escalates_when_staff_work_again(
    world: World, asked: date, desired: date, due: date
) -> None:
    """Reminders and escalation run on business days: a question wanted by a Saturday or a holiday reaches the
    triage channel at the next business day's opening, not at 09:00 on a day nobody is there to read it."""
    seed_housing(world)
    qid = world.ask(desired_by=desired, now=local(asked.year, asked.month, asked.day, 10))
    escalate = [t for t in world.pending_timers() if t.kind is TimerKind.ESCALATE]
    assert [t.due_at for t in escalate] == [local(due.year, due.month, due.day, 9)]
    _sweep(world, local(desired.year, desired.month, desired.day, 12))
    assert _question(world, qid).status is not Q.ESCALATED
    assert "escalated: desired_date" in _sweep(world, local(due.year, due.month, due.day, 9)).values()
    assert _question(world, qid).escalation_reason == "desired_date"


def test_timers_for_a_question_that_moved_on_are_no_ops(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    q = _question(world, qid)
    first, second = q.routings
    with world.db.session() as s:
        world.service.answer(
            s,
            routing_id=first.id,
            actor_slack_id=first.recipient_slack_id or "",
            text="Zo.",
            now=NOW - timedelta(minutes=1),
        )
    assert world.pending_timers() == []  # answering completed the question's timers at once
    with world.db.session() as s:  # timers left behind anyway (claimed while answering, or an older version)
        repo.create_timer(s, kind=TimerKind.REMIND, due_at=NOW, now=NOW, question_id=qid, routing_id=first.id)
        repo.create_timer(s, kind=TimerKind.NEXT_EXPERT, due_at=NOW, now=NOW, question_id=qid, routing_id=second.id)
        repo.create_timer(s, kind=TimerKind.ESCALATE, due_at=NOW, now=NOW, question_id=qid)
    before = len(world.outbox())
    outcomes = _sweep(world, NOW)
    assert sorted(outcomes.values()) == ["noop: question answered", "noop: routing answered", "noop: routing expired"]
    assert len(world.outbox()) == before
    with world.db.session() as s:
        assert all(t.done_at is not None for t in s.scalars(select(Timer)))


def test_a_claim_stops_reminding_colleagues_but_reminds_the_claimer(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    q = _question(world, qid)
    claimer, colleague = q.routings
    with world.db.session() as s:
        world.service.claim(
            s, routing_id=claimer.id, actor_slack_id=claimer.recipient_slack_id or "", now=local(2026, 11, 24, 10)
        )
    outcomes = _sweep(world, local(2026, 11, 26, 10))
    assert sorted(outcomes.values()) == [
        "noop: claimed by a colleague",  # colleague's reminder
        "noop: question claimed",  # colleague's next expert
        "reminded",  # the claimer, two business days after the claim
    ]
    assert [m.recipient_slack_id for m in world.outbox(K.EXPERT_REMINDER)] == [claimer.recipient_slack_id]
    del colleague


def test_snooze_timer_resends_the_request(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    r = _question(world, qid).routings[0]
    with world.db.session() as s:
        until = world.service.snooze(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", now=NOW)
    assert until == local(2026, 11, 24, 9)
    outcomes = _sweep(world, until)
    assert list(outcomes.values()) == ["resent"]
    resent = [m for m in world.outbox(K.EXPERT_REQUEST) if m.routing_id == r.id]
    assert [m.payload["resent"] for m in resent] == [False, True]
    with world.db.session() as s:
        assert s.get(Routing, r.id).snoozed_until is None  # type: ignore[union-attr]
    # the reminder counts from the end of the snooze: Thursday 09:00, not Wednesday 10:00
    reminded = [t for t in world.pending_timers() if t.routing_id == r.id and t.kind is TimerKind.REMIND]
    assert [t.due_at for t in reminded] == [local(2026, 11, 26, 9)]


# --- the sweeper itself ------------------------------------------------------------------------------------


def _make_timers(db: Database, n: int, due: datetime = NOW) -> list[int]:
    with db.session() as s:
        timers = [Timer(kind=TimerKind.RECONFIRM, due_at=due, created_at=due) for _ in range(n)]
        s.add_all(timers)
        s.flush()
        return [t.id for t in timers]


def _second_database(database: Database) -> Database:
    return Database(database.url)


@pytest.mark.timeout(60)
def test_two_workers_handle_each_timer_exactly_once(database: Database) -> None:
    ids = _make_timers(database, 60)
    other = _second_database(database)
    handled: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def handler_for(worker: str):  # type: ignore[no-untyped-def]
        def handler(session: Session, timer: Timer, now: datetime) -> str:
            timer.last_error = f"handled by {worker}"  # a write in the timer's own transaction
            with lock:
                handled.append((timer.id, worker))
            return "ok"

        return handler

    def work(db: Database, worker: str) -> None:
        try:
            barrier.wait()
            while True:
                run = run_due_timers(db, now=NOW, worker_id=worker, handler=handler_for(worker), limit=4)
                if not run.claimed:
                    return
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(db, w)) for db, w in ((database, "A"), (other, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    assert not errors, errors
    assert sorted(i for i, _ in handled) == sorted(ids)  # every timer once, none twice
    with database.session() as s:
        rows = list(s.scalars(select(Timer)))
        assert all(t.done_at == NOW for t in rows)
        assert {t.last_error for t in rows} <= {"handled by A", "handled by B"}


def test_stale_claims_become_claimable_again(world: World) -> None:
    (tid,) = _make_timers(world.db, 1)
    with world.db.session() as s:
        assert repo.claim_due_timers(
            s, now=NOW, worker_id="crashed", limit=10, stale_before=NOW - timedelta(minutes=10)
        ) == [tid]
    seen: list[int] = []

    def handler(session: Session, timer: Timer, now: datetime) -> None:
        seen.append(timer.id)

    run = run_due_timers(world.db, now=NOW + timedelta(minutes=5), worker_id="w2", handler=handler)
    assert run.claimed == [] and seen == []  # still fresh: not taken over
    run = run_due_timers(world.db, now=NOW + timedelta(minutes=11), worker_id="w2", handler=handler)
    assert run.done == [tid] and seen == [tid]
    # the crashed worker comes back: its claim is gone, it cannot complete the timer again
    with world.db.session() as s:
        assert not repo.update_claimed_timer_done(s, timer_id=tid, worker_id="crashed", now=NOW + timedelta(minutes=12))


def test_a_claim_taken_over_midway_is_not_handled_twice(world: World) -> None:
    (tid,) = _make_timers(world.db, 1)
    with world.db.session() as s:
        repo.claim_due_timers(s, now=NOW, worker_id="slow", limit=1, stale_before=NOW - timedelta(minutes=10))
    # another worker takes it over after the stale period and handles it
    run = run_due_timers(world.db, now=NOW + timedelta(minutes=15), worker_id="fast", handler=lambda s, t, n: None)
    assert run.done == [tid]
    with world.db.session() as s:
        t = s.get(Timer, tid)
        assert t is not None and t.claimed_by == "fast" and t.done_at is not None


def test_failures_are_retried_with_backoff_then_given_up(world: World) -> None:
    (tid,) = _make_timers(world.db, 1)
    policy = RoutingPolicy(max_attempts=3)

    def boom(session: Session, timer: Timer, now: datetime) -> None:
        session.add(Timer(kind=TimerKind.REMIND, due_at=now, created_at=now))  # must be rolled back
        raise RuntimeError("slack down")

    run = run_due_timers(world.db, now=NOW, worker_id="w", handler=boom, policy=policy)
    assert run.failed == [tid]
    with world.db.session() as s:
        rows = list(s.scalars(select(Timer)))
        assert len(rows) == 1
        t = rows[0]
        assert (t.attempts, t.claimed_by, t.done_at) == (1, None, None)
        assert "slack down" in t.last_error and t.due_at == NOW + timedelta(minutes=1)
    assert (
        run_due_timers(world.db, now=NOW + timedelta(seconds=30), worker_id="w", handler=boom, policy=policy).claimed
        == []
    )
    run_due_timers(world.db, now=NOW + timedelta(minutes=1), worker_id="w", handler=boom, policy=policy)
    with world.db.session() as s:
        t = s.get(Timer, tid)
        assert t is not None and t.attempts == 2 and t.due_at == NOW + timedelta(minutes=3)
    run_due_timers(world.db, now=NOW + timedelta(minutes=3), worker_id="w", handler=boom, policy=policy)
    with world.db.session() as s:
        t = s.get(Timer, tid)
        assert t is not None and t.attempts == 3 and t.done_at is not None  # gave up, error kept
    assert (
        run_due_timers(world.db, now=NOW + timedelta(days=1), worker_id="w", handler=boom, policy=policy).claimed == []
    )


@pytest.mark.timeout(60)
def test_two_workers_with_the_routing_handler_remind_once(database: Database) -> None:
    world = World(database)
    with database.session() as s:
        seed_themes(s)
    seed_housing(world)
    for i in range(5):
        world.ask(text=f"Wie kent de leegstandsheffing? ({i})", now=NOW + timedelta(minutes=i))
    other = _second_database(database)
    other_world = World(other)
    other_world.kb = world.kb
    other_world.service = type(world.service)(knowledge=world.kb, policy=world.policy, calendar=world.calendar)
    when = local(2026, 11, 25, 11)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(w: World, worker: str) -> None:
        try:
            barrier.wait()
            while run_due_timers(
                w.db, now=when, worker_id=worker, handler=w.service.handle_timer, limit=2, kinds=w.service.timer_kinds
            ).claimed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w, n)) for w, n in ((world, "A"), (other_world, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    world.kb.close()
    assert not errors, errors
    reminders = world.outbox(K.EXPERT_REMINDER)
    assert len(reminders) == len({m.routing_id for m in reminders})
    with database.session() as s:
        asked = s.scalars(select(Routing).where(Routing.status == R.ASKED)).all()
        # every routing was reminded exactly once, unless the expert was at their limit and never asked
        assert {m.routing_id for m in reminders} == {r.id for r in asked}
        assert all(t.done_at is not None for t in s.scalars(select(Timer).where(Timer.kind == TimerKind.REMIND)))


def test_other_timer_kinds_are_left_alone(world: World) -> None:
    (tid,) = _make_timers(world.db, 1)  # a RECONFIRM timer belongs to self-service, not to routing
    assert _sweep(world, NOW + timedelta(days=1)) == {}
    with world.db.session() as s:
        t = s.get(Timer, tid)
        assert t is not None and t.done_at is None and t.claimed_by is None
    run = run_due_timers(world.db, now=NOW, worker_id="w", handler=world.service.handle_timer)  # no kinds filter
    assert run.failed == [tid] and "not a routing timer" in run.outcomes[tid]
