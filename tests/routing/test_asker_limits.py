"""One member cannot use up the experts: a cap on questions with experts per asker (more are held, routed when one
closes) and an hourly limit on new questions. Staff are not limited."""

from __future__ import annotations

import json
import threading
from datetime import UTC, timedelta

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient
from sqlalchemy import select, text

from bot.actors import Actor
from bot.cli import main
from bot.config import Settings
from bot.errors import Count
from bot.home import HomeView
from bot.jobs import JobRunner
from bot.outbox import AskerUpdateKind
from bot.routing import RoutingInputError, StaleActionError, run_due_timers
from bot.routing.asker import AskerActions
from handlers.blocks.home import build_home_view, home_data
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import question_repo
from storage.models import (
    AuditLog,
    EscalationReason,
    OutboxKind,
    Question,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Theme,
    Timer,
    TimerKind,
)
from tests.routing.conftest import ASKER, NOW, local, seed_housing


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


def test_staff_close_a_held_and_a_claimed_question_as_a_withdrawal_ends_them(world) -> None:
    """Still with experts (claimed) or held back for them (open): staff close it by hand; whoever is still asked is
    told once that it is no longer needed, its timers stop, the asker gets the note."""
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0)
    flooded = _flood(world, 4)
    held, claimed = flooded[3], flooded[0]
    staff = Actor.slack("USTAFF1", is_staff=True)
    later = NOW + timedelta(hours=1)
    with world.db.session() as s:
        first = s.scalars(select(Routing).where(Routing.question_id == claimed).order_by(Routing.id)).first()
        assert first is not None and first.recipient_slack_id
        world.service.claim(s, routing_id=first.id, actor_slack_id=first.recipient_slack_id, now=NOW)
    assert (_status(world, held), _status(world, claimed)) == (QuestionStatus.OPEN, QuestionStatus.CLAIMED)
    for qid in (held, claimed):
        with world.db.session() as s:
            world.service.staff_close(s, question_id=qid, actor=staff, note="Dubbel.", now=later)
        assert _status(world, qid) is QuestionStatus.CLOSED
        with world.db.session() as s:
            assert not s.scalars(select(Timer).where(Timer.question_id == qid, Timer.done_at.is_(None))).all()
            assert {r.status for r in s.scalars(select(Routing).where(Routing.question_id == qid))} <= {
                RoutingStatus.EXPIRED
            }
        updates = [m.payload for m in world.outbox(OutboxKind.ASKER_UPDATE, question_id=qid)]
        assert (updates[-1]["update"], updates[-1]["note"]) == (AskerUpdateKind.CLOSED.value, "Dubbel.")
    assert not world.outbox(OutboxKind.ROUTING_CLOSED, question_id=held)  # nobody was asked yet
    told = [m.recipient_slack_id for m in world.outbox(OutboxKind.ROUTING_CLOSED, question_id=claimed)]
    assert len(told) == len(set(told)) >= 2 and first.recipient_slack_id in told
    with pytest.raises(StaleActionError) as err, world.db.session() as s:
        world.service.staff_close(s, question_id=claimed, actor=staff, note="x", now=later)
    assert err.value.code == "question_closed"


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
    assert refused.value.code == "too_many_questions" and refused.value.values == {"limit": 3}
    assert isinstance(refused.value.values["limit"], Count)  # the refusal groups it: "1.000" (Dutch)
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


# --- held questions are never lost; the limits hold across processes -------------------------------------------


def _held_rows(world, asker: str, n: int, *, start) -> list[int]:
    """``n`` questions of ``asker`` held back (open, asked of nobody), a minute apart from ``start``."""
    with world.db.session() as s:
        housing = s.scalars(select(Theme).where(Theme.key == "wonen")).one()
        rows = [
            Question(
                themes=[housing],
                asker_slack_id=asker,
                text=f"wie weet iets over leegstandsheffing? ({i})",
                language="nl",
                status=QuestionStatus.OPEN,
                created_at=start + timedelta(minutes=i),
                updated_at=start + timedelta(minutes=i),
            )
            for i in range(n)
        ]
        s.add_all(rows)
        s.flush()
        return [q.id for q in rows]


def test_an_asker_at_the_cap_with_many_held_questions_keeps_nobody_elses_waiting(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    world.ask(asker_slack_id="UFLOOD001", text="wie weet iets over leegstandsheffing?", thread_ts="1.1")
    flood = _held_rows(world, "UFLOOD001", 130, start=NOW - timedelta(days=2))  # older than anyone else's
    honest = _held_rows(world, "U0HONEST1", 2, start=NOW - timedelta(hours=1))
    with world.db.session() as s:
        routed = world.service.route_held(s, now=NOW + timedelta(minutes=5))
    assert routed == [honest[0]]  # the flooder is at the cap: theirs wait; the honest asker's oldest goes
    assert _status(world, honest[0]) is QuestionStatus.ROUTED
    assert _status(world, honest[1]) is QuestionStatus.OPEN  # the honest asker is at the cap of one now
    assert not set(routed) & set(flood) and all(_status(world, q) is QuestionStatus.OPEN for q in flood[:3])


def test_an_asker_with_room_for_several_gets_them_all_in_one_pass(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=2)
    held = _held_rows(world, "U0HONEST1", 3, start=NOW - timedelta(hours=1))
    with world.db.session() as s:
        assert world.service.route_held(s, now=NOW) == held[:2]
    assert _status(world, held[2]) is QuestionStatus.OPEN


def test_a_held_question_that_fails_stays_held_and_the_others_go_on(world, monkeypatch, caplog) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    broken = _held_rows(world, "UBROKEN01", 1, start=NOW - timedelta(hours=2))[0]
    fine = _held_rows(world, "U0HONEST1", 1, start=NOW - timedelta(hours=1))[0]
    real_route = AskerActions._route

    def failing(self, session, question, *, now):
        if question.id == broken:
            real_route(self, session, question, now=now)  # writes first: the savepoint must undo them
            raise RuntimeError("injected failure")
        return real_route(self, session, question, now=now)

    monkeypatch.setattr(AskerActions, "_route", failing)
    with caplog.at_level("ERROR"), world.db.session() as s:
        assert world.service.route_held(s, now=NOW) == [fine]
    assert any(f"held question {broken} not routed ref=" in r.getMessage() for r in caplog.records)
    assert _status(world, broken) is QuestionStatus.OPEN and _status(world, fine) is QuestionStatus.ROUTED
    assert not world.outbox(OutboxKind.EXPERT_REQUEST, question_id=broken)  # nothing of the failed one is kept
    with world.db.session() as s:
        assert not list(s.scalars(select(Routing).where(Routing.question_id == broken)))
    monkeypatch.setattr(AskerActions, "_route", real_route)
    with world.db.session() as s:  # the next pass tries it again
        assert world.service.route_held(s, now=NOW + timedelta(minutes=1)) == [broken]


def _wait_until_blocked_or_done(world, worker: threading.Thread) -> None:
    """Until the other session waits for a lock (PostgreSQL tells: a session of this test's database, not of another
    run on the same server) or has finished."""
    for _ in range(200):
        if not worker.is_alive():
            return
        if world.db.dialect == "postgresql":
            with world.db.engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar()
            if waiting:
                return
        worker.join(0.05)


@pytest.mark.parametrize("limit", ["hourly", "cap"])
def test_two_concurrent_asks_of_one_asker_cannot_both_pass_a_limit(world, limit: str) -> None:
    seed_housing(world)
    if limit == "hourly":
        world.with_policy(max_questions_per_hour=1, max_open_per_asker=0)
    else:
        world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    outcome: dict[str, object] = {}

    def second() -> None:
        try:
            outcome["id"] = world.ask(text="en de leegstandsheffing op kantoren?", thread_ts="1.3")
        except RoutingInputError as exc:
            outcome["refused"] = exc.code

    with world.db.session() as s1:  # the first, not committed yet, while the second is asked elsewhere
        first = world.service.ask_question(
            s1, asker_slack_id=ASKER, text="wie weet iets over leegstandsheffing?", theme_keys=["wonen"], now=NOW
        ).id
        worker = threading.Thread(target=second)
        worker.start()
        _wait_until_blocked_or_done(world, worker)
    worker.join(30)
    assert _status(world, first) is QuestionStatus.ROUTED
    if limit == "hourly":
        assert outcome == {"refused": "too_many_questions"} and _questions(world) == 1
    else:
        assert _status(world, int(outcome["id"])) is QuestionStatus.OPEN  # held: the first is with experts


# --- held questions do not wait silently --------------------------------------------------------------------------


def _sweep(world, now) -> dict[int, str]:
    run = run_due_timers(
        world.db, now=now, worker_id="w1", handler=world.service.handle_timer, kinds=world.service.timer_kinds
    )
    assert not run.failed, run.outcomes
    return run.outcomes


def _pending_escalations(world, question_id: int) -> list[Timer]:
    with world.db.session() as s:
        query = select(Timer).where(
            Timer.question_id == question_id, Timer.kind == TimerKind.ESCALATE, Timer.done_at.is_(None)
        )
        return list(s.scalars(query))


def test_a_question_held_longer_than_the_escalation_delay_goes_to_staff(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    _first, held = _flood(world, 2)
    assert _status(world, held) is QuestionStatus.OPEN
    _sweep(world, local(2026, 11, 27, 16))  # Friday: four business days, not yet
    assert _status(world, held) is QuestionStatus.OPEN and not world.outbox(OutboxKind.TRIAGE, question_id=held)
    _sweep(world, local(2026, 11, 30, 10, 5))  # Monday: five business days after it was asked
    assert _status(world, held) is QuestionStatus.ESCALATED
    with world.db.session() as s:
        question = s.get(Question, held)
        assert question is not None and question.escalation_reason == EscalationReason.DEADLINE.value
    assert world.outbox(OutboxKind.TRIAGE, question_id=held)  # staff have it, as one nobody answered
    updates = [m.payload["update"] for m in world.outbox(OutboxKind.ASKER_UPDATE, question_id=held)]
    assert updates == [AskerUpdateKind.HELD.value, AskerUpdateKind.ESCALATED.value]


def test_a_held_question_routed_in_time_gives_the_experts_their_own_days(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    first, held = _flood(world, 2)
    (hold_timer,) = _pending_escalations(world, held)
    later = local(2026, 11, 26)  # Thursday: the asker withdraws the first, the held one goes to experts
    with world.db.session() as s:
        world.service.cancel(s, question_id=first, actor_slack_id="UASKER001", now=later)
    assert _status(world, held) is QuestionStatus.ROUTED
    (routed_timer,) = _pending_escalations(world, held)
    assert routed_timer.id != hold_timer.id and routed_timer.due_at > hold_timer.due_at
    _sweep(world, local(2026, 11, 30, 10, 5))  # the held question's deadline: the experts still have time
    assert _status(world, held) is QuestionStatus.ROUTED


def test_questions_held_before_they_got_a_timer_get_one_from_when_they_were_asked(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    world.ask(asker_slack_id="UOLD00001", text="wie weet iets over leegstandsheffing?", thread_ts="1.1")
    (old,) = _held_rows(world, "UOLD00001", 1, start=NOW - timedelta(days=10))  # no timer: held before there were
    with world.db.session() as s:
        assert world.service.route_held(s, now=NOW) == []  # its asker is still at the cap
    (timer,) = _pending_escalations(world, old)
    assert timer.due_at.replace(tzinfo=UTC) <= NOW
    _sweep(world, NOW)
    assert _status(world, old) is QuestionStatus.ESCALATED
    with world.db.session() as s:
        world.service.route_held(s, now=NOW)
    assert len(world.outbox(OutboxKind.TRIAGE, question_id=old)) == 1


def test_staff_see_held_questions_on_their_home_tab_and_in_the_cli(world) -> None:
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    _first, held = _flood(world, 2)
    with world.db.session() as s:
        queue = world.service.waiting_for_staff(s, limit=10)
    assert queue.count == 0 and queue.held_count == 1 and [h.question_id for h in queue.held] == [held]
    view = build_home_view(
        home_data(HomeView(profile=None, stale_profile=False, is_staff=True, waiting=queue), "en"), "en"
    )
    shown = json.dumps(view.to_dict())
    assert "Held back until their asker has room with experts (1)" in shown and f"#{held} " in shown
    assert "held back" in shown
    listed = CliRunner().invoke(main, ["--database", world.db.url, "escalated"])
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.output.splitlines() if line.startswith(f"#{held} ")]
    assert " even bijgehouden (held) " in row and "leegstandsheffing" in row
    assert "0 vragen wachten op het kenniscentrum, 1 even bijgehouden" in listed.output
    with world.db.session() as s:  # the table shows no more than the triage channel: not recorded
        assert not list(s.scalars(select(AuditLog).where(AuditLog.entity_type == "escalated_questions")))
    as_json = CliRunner().invoke(main, ["--database", world.db.url, "escalated", "--json"])
    assert [json.loads(line)["state"] for line in as_json.output.splitlines()] == ["held"]
    with world.db.session() as s:  # the whole texts left the database: who listed which questions (never the text)
        entry = s.scalars(select(AuditLog).where(AuditLog.entity_type == "escalated_questions")).one()
        assert entry.actor.startswith("cli:") and entry.action == "list"
        assert entry.after == {"questions": 0, "held": 1, "texts_shown": 1, "question_ids": [held]}


def test_the_held_escalation_already_running_when_the_question_is_routed_changes_nothing(world) -> None:
    """Another replica's timer pass had claimed the held question's escalation (so routing it cannot cancel it)
    when the question went to experts: it runs after, and leaves the routed question with its experts."""
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    first, held = _flood(world, 2)
    with world.db.session() as s:
        (timer,) = s.scalars(select(Timer).where(Timer.question_id == held, Timer.kind == TimerKind.ESCALATE))
        timer.claimed_by, timer.claimed_at = "other-replica", NOW
    with world.db.session() as s:
        world.service.cancel(s, question_id=first, actor_slack_id="UASKER001", now=local(2026, 11, 30, 10, 1))
    assert _status(world, held) is QuestionStatus.ROUTED
    with world.db.session() as s:
        stale = s.get(Timer, timer.id)
        assert stale is not None and stale.done_at is None  # claimed: not cancelled
        outcome = world.service.handle_timer(s, stale, local(2026, 11, 30, 10, 5))
    assert outcome == "noop: routed after it was held" and _status(world, held) is QuestionStatus.ROUTED


def test_the_held_pass_routes_each_question_in_its_own_transaction_releasing_the_askers_lock(
    world, monkeypatch
) -> None:
    """The job's pass commits each held question on its own: while it routes another asker's question, the first
    asker's question is committed and their lock free (a new question or a withdraw of theirs need not wait)."""
    seed_housing(world)
    world.with_policy(max_questions_per_hour=0, max_open_per_asker=1)
    first = _held_rows(world, "UFIRST001", 1, start=NOW - timedelta(hours=2))[0]
    second = _held_rows(world, "USECOND01", 1, start=NOW - timedelta(hours=1))[0]
    services = Services(settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: NOW)
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")  # nothing listens: never sent here
    jobs = JobRunner(services, routing=world.service, sender=OutboxSender(services, client), worker_id="test")
    real_route = AskerActions._route
    seen: dict[str, object] = {}

    def observed(self, session, question, *, now):
        if question.id == second:  # meanwhile, elsewhere: the first asker's question is done and their lock free
            with world.db.session() as other:
                seen["first"] = other.get(Question, first).status
                if world.db.dialect == "postgresql":  # SQLite's asker lock is its one writer's: not while routing
                    other.execute(text("SET LOCAL lock_timeout = '5s'"))  # a wait is an error here, not a hang
                    question_repo.claim_asker_lock(other, asker_slack_id="UFIRST001")
                seen["locked"] = True
        return real_route(self, session, question, now=now)

    monkeypatch.setattr(AskerActions, "_route", observed)
    routed = jobs.route_held()
    assert seen == {"first": QuestionStatus.ROUTED, "locked": True}
    assert routed == 2
    assert _status(world, second) is QuestionStatus.ROUTED
