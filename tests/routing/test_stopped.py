"""An expert who withdraws their listing ("Remove me") or opts out ("stop asking me") is never asked again
(README: "never shown or asked again"): their open requests move on as when a DM can never arrive, their queued
request/reminder/update DMs end unsent, the sender refuses a routing DM to them, and a routing reading them at the
moment they withdraw cannot slip a DM in after the withdrawal committed (``bot.routing.stopped``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.config import Settings
from bot.error_texts import error_text
from bot.outbox import DeliveryFailed, Person, claim_outbox
from bot.register import consent, profiles
from bot.routing import run_due_timers
from bot.routing.errors import RoutingInputError
from bot.routing.selection import select_experts
from bot.routing.stopped import ENDED_REASON, STOPPED_ERROR
from handlers.blocks.routing import build_delivery_failed
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import question_repo
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.models import (
    Availability,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Visibility,
)
from tests.emulator import SlackEmulator
from tests.routing.conftest import NOW, World, local, seed_housing, slack_of

R = RoutingStatus
LATER = NOW + timedelta(minutes=1)
HOW = ["withdraw", "opt_out"]


def _stop(world: World, expert_id: int, slack_id: str, how: str, *, move_on: bool = True) -> list[int]:
    """What "Remove me" / "stop asking me" do (``handlers.profiles``): the register change and, in the same unit of
    work, the requests moved on (``move_on`` False: the register change alone, as another path might make it)."""
    actor = Actor.slack(slack_id, is_staff=False)
    at = NOW + timedelta(seconds=1)
    with world.db.session() as s:
        if how == "withdraw":
            consent.withdraw_listing(s, actor=actor, expert_id=expert_id, now=at)
        else:
            profiles.set_availability(
                s, actor=actor, expert_id=expert_id, availability=Availability.OPTED_OUT, today=NOW.date(), now=at
            )
        return world.service.expert_stopped(s, expert_id=expert_id, now=at) if move_on else []


def _first_asked(world: World, ids: dict[str, int], question_id: int) -> tuple[int, str, OutboxMessage]:
    request = world.outbox(OutboxKind.EXPERT_REQUEST, question_id=question_id)[0]
    slack_id = str(request.recipient_slack_id)
    expert_id = next(i for name, i in ids.items() if slack_of(name) == slack_id)
    return expert_id, slack_id, request


def _routings(world: World, question_id: int) -> dict[str | None, RoutingStatus]:
    with world.db.session() as s:
        rows = s.scalars(select(Routing).where(Routing.question_id == question_id).order_by(Routing.id))
        return {r.recipient_slack_id: r.status for r in rows}


def _message(world: World, message_id: int) -> OutboxMessage:
    with world.db.session() as s:
        row = s.get(OutboxMessage, message_id)
        assert row is not None
        return row


@pytest.mark.parametrize("how", HOW)
def test_their_open_request_moves_on_and_its_dm_ends_unsent(world: World, how: str) -> None:
    ids = seed_housing(world)
    qid = world.ask()
    expert_id, target, request = _first_asked(world, ids, qid)
    assert _routings(world, qid)[target] is R.ASKED

    moved = _stop(world, expert_id, target, how)

    assert moved == [request.routing_id]
    routings = _routings(world, qid)
    assert routings[target] is R.EXPIRED
    # the asker loses nothing: as many experts are asked as before, someone new among them
    assert sum(1 for status in routings.values() if status is R.ASKED) == world.policy.initial_experts
    assert len(routings) == world.policy.initial_experts + 1
    ended = _message(world, request.id)
    assert ended.ended_at is not None and ended.ended_reason == ENDED_REASON and ended.sent_at is None
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
    assert not [m for m in claimed if m.recipient_slack_id == target]
    # each move is recorded on the routing, with why
    with world.db.session() as s:
        notes = [
            e.note
            for e in s.scalars(select(QuestionEvent).where(QuestionEvent.routing_id == request.routing_id))
            if e.to_status == R.EXPIRED.value
        ]
    assert notes == [f"not to be asked: {'withdrawn' if how == 'withdraw' else 'opted_out'}"]
    # two business days later nobody reminds them
    run = run_due_timers(
        world.db,
        now=local(2026, 11, 25, 10),
        worker_id="w1",
        handler=world.service.handle_timer,
        kinds=world.service.timer_kinds,
    )
    assert not run.failed
    assert not [m for m in world.outbox(OutboxKind.EXPERT_REMINDER, question_id=qid) if m.recipient_slack_id == target]


@pytest.mark.parametrize("how", HOW)
def test_a_question_they_claimed_is_released_and_asked_on(world: World, how: str) -> None:
    ids = seed_housing(world)
    qid = world.ask()
    expert_id, target, request = _first_asked(world, ids, qid)
    assert request.routing_id is not None
    with world.db.session() as s:
        world.service.claim(s, routing_id=request.routing_id, actor_slack_id=target, now=NOW + timedelta(seconds=1))

    assert _stop(world, expert_id, target, how) == [request.routing_id]

    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and question.status is QuestionStatus.ROUTED
    routings = _routings(world, qid)
    assert routings[target] is R.EXPIRED
    assert sum(1 for status in routings.values() if status is R.ASKED) >= 1


def test_nobody_left_hands_the_question_to_staff(world: World) -> None:
    ids = seed_housing(world, extra=False)  # three housing experts: two asked, one left
    qid = world.ask()
    asked = [m.recipient_slack_id for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)]
    for name, expert_id in ids.items():
        _stop(world, expert_id, slack_of(name), "opt_out")
    with world.db.session() as s:
        question = s.get(Question, qid)
        assert question is not None and question.status is QuestionStatus.ESCALATED
    assert all(status is R.EXPIRED for status in _routings(world, qid).values())
    assert len(asked) == world.policy.initial_experts


@pytest.mark.parametrize("how", HOW)
def test_the_sender_refuses_a_request_dm_to_someone_who_stopped(world: World, how: str) -> None:
    """The last guard: a request DM still queued (the register changed by a path that moved nothing on, or another
    replica's routing that committed just before) is ended by the sender, not posted; no reminder follows."""
    ids = seed_housing(world)
    qid = world.ask()
    expert_id, target, _ = _first_asked(world, ids, qid)
    _stop(world, expert_id, target, how, move_on=False)

    with SlackEmulator() as emu:
        emu.add_user(target, name="x", real_name="X")
        services = Services(
            settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
        )
        sender = OutboxSender(services, WebClient(token=emu.bot_token, base_url=emu.api_url))
        theirs = [m for m in claim_outbox(world.db, now=LATER, worker_id="w1") if m.recipient_slack_id == target]
        assert [m.kind for m in theirs] == [OutboxKind.EXPERT_REQUEST]
        assert [sender.send(m) for m in theirs] == ["ended"]
        assert not emu.calls_to("chat.postMessage")
    assert _message(world, theirs[0].id).ended_reason == ENDED_REASON

    run = run_due_timers(
        world.db,
        now=local(2026, 11, 25, 10),
        worker_id="w1",
        handler=world.service.handle_timer,
        kinds=world.service.timer_kinds,
    )
    assert not run.failed
    assert not [m for m in world.outbox(OutboxKind.EXPERT_REMINDER, question_id=qid) if m.recipient_slack_id == target]


def test_whoever_chose_them_by_hand_is_told_why(world: World) -> None:
    ids = seed_housing(world)
    qid = world.ask()
    staff = Actor.slack("USTAFF001", is_staff=True)
    with world.db.session() as s:  # staff assign Dries by hand (not asked by the matcher)
        question = question_repo.get_question(s, question_id=qid)
        assert question is not None
        question.status = QuestionStatus.ESCALATED
        world.service.staff_assign(s, question_id=qid, to_slack_id=slack_of("Dries"), actor=staff, now=NOW)
    _stop(world, ids["Dries"], slack_of("Dries"), "withdraw")
    [told] = [m for m in world.outbox(OutboxKind.DELIVERY_FAILED, question_id=qid) if m.recipient_slack_id]
    assert told.recipient_slack_id == "USTAFF001" and told.payload["error"] == STOPPED_ERROR
    notice = DeliveryFailed(
        question_id=qid, recipient=Person(slack_user_id="UDRIES"), error=STOPPED_ERROR, moved_on=True
    )
    assert "asked not to be asked" in build_delivery_failed(notice, "en").text
    assert "wil geen vragen meer krijgen" in build_delivery_failed(notice, "nl").text


@pytest.mark.parametrize("how", HOW)
def test_a_colleague_who_forwarded_to_them_is_not_told_their_decision(world: World, how: str) -> None:
    """An expert forwards the question to a colleague, who then withdraws or opts out: the request moves on (as after
    a decline), and the forwarding expert gets no notice: whether someone withdrew is not shared with peers."""
    ids = seed_housing(world)
    qid = world.ask()
    _, forwarder, request = _first_asked(world, ids, qid)
    asked = {m.recipient_slack_id for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid)}
    colleague = next(n for n in ids if slack_of(n) not in asked)
    assert request.routing_id is not None
    with world.db.session() as s:
        world.service.forward(
            s, routing_id=request.routing_id, actor_slack_id=forwarder, to_slack_id=slack_of(colleague), now=NOW
        )
    assert _routings(world, qid)[slack_of(colleague)] is R.ASKED
    _stop(world, ids[colleague], slack_of(colleague), how)
    assert _routings(world, qid)[slack_of(colleague)] is R.EXPIRED
    assert world.outbox(OutboxKind.DELIVERY_FAILED, question_id=qid) == []


@contextmanager
def _waiting_briefly(database: Database) -> Iterator[Session]:
    """A unit of work that waits 200 ms for a lock another holds, then fails (``OperationalError``) instead of the
    usual wait: PostgreSQL's ``lock_timeout``, SQLite's busy timeout (set back on the connection afterwards)."""
    with database.session() as session:
        connection = session.connection()
        raw = connection.connection.dbapi_connection
        assert raw is not None
        if database.dialect == "postgresql":
            session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            yield session
            return
        raw.execute("PRAGMA busy_timeout = 200")
        try:
            yield session
        finally:
            raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


def _stop_in(session: Session, expert_id: int, slack_id: str, how: str) -> None:
    actor = Actor.slack(slack_id, is_staff=False)
    if how == "withdraw":
        consent.withdraw_listing(session, actor=actor, expert_id=expert_id, now=NOW)
    else:
        profiles.set_availability(
            session, actor=actor, expert_id=expert_id, availability=Availability.OPTED_OUT, today=NOW.date(), now=NOW
        )
    session.flush()


@pytest.mark.parametrize("how", HOW)
def test_a_withdrawal_waits_for_a_routing_that_read_them_and_then_moves_it_on(world: World, how: str) -> None:
    """Replica B selects experts (holding the question, as ``core.route`` does, and the candidates: ``FOR SHARE``,
    SQLite's write lock) while replica A withdraws one of them: A waits for B's commit (here: fails after 200 ms)
    and, once B committed its request, moves it on. No request to them is left open, or committed after their
    withdrawal."""
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as b:
        question = question_repo.get_question(b, question_id=qid, lock=True)
        assert question is not None
        [candidate] = select_experts(
            b, knowledge=world.kb, policy=world.policy, question=question, count=1, now=NOW
        ).chosen
        target, target_id = str(candidate.expert.slack_user_id), candidate.expert.id
        with pytest.raises(OperationalError), _waiting_briefly(world.db) as a:
            _stop_in(a, target_id, target, how)
        world.service.core.create_routing(
            b,
            question,
            expert=candidate.expert,
            recipient_slack_id=target,
            score=1.0,
            reasons=[],
            language="nl",
            actor="system",
            now=NOW,
        )
    assert _routings(world, qid)[target] is R.ASKED
    _stop(world, target_id, target, how)  # A again, now that B committed
    assert _routings(world, qid)[target] is R.EXPIRED


def test_a_selection_during_a_withdrawal_in_progress_never_picks_them(world: World) -> None:
    """The other order: A's withdrawal holds the row. B's selection, its question locked, waits for A's commit (here:
    fails after 200 ms): PostgreSQL's ``FOR SHARE``, SQLite's write lock. Once A committed B no longer picks them."""
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as b:
        question = b.get(Question, qid)
        assert question is not None
        [candidate] = select_experts(
            b, knowledge=world.kb, policy=world.policy, question=question, count=1, now=NOW
        ).chosen
        target, target_id = str(candidate.expert.slack_user_id), candidate.expert.id
        b.rollback()
    with world.db.session() as a:
        _stop_in(a, target_id, target, "withdraw")
        with pytest.raises(OperationalError), _waiting_briefly(world.db) as b:
            question = question_repo.get_question(b, question_id=qid, lock=True)
            assert question is not None
            select_experts(b, knowledge=world.kb, policy=world.policy, question=question, count=1, now=NOW)
    with world.db.session() as b:
        question = b.get(Question, qid)
        assert question is not None
        chosen = select_experts(b, knowledge=world.kb, policy=world.policy, question=question, count=3, now=NOW).chosen
        assert chosen and target_id not in [c.expert.id for c in chosen]


@pytest.mark.parametrize("how", HOW)
def test_a_volunteer_who_stopped_is_told_how_to_undo_it_not_thanked(world: World, how: str) -> None:
    """ "Ik kan helpen" of someone who withdrew or opted out: before, they were thanked ("you get the question by DM")
    and the sender then ended the DM unsent, so the question never reached them. Now the click is refused with a
    message that says how to undo it on the Home tab, and nothing is written; once they are available again, their
    click is taken and the DM is posted."""
    ids = seed_housing(world)
    qid = world.ask(visibility=Visibility.PUBLIC)
    emma = slack_of("Emma")
    _stop(world, ids["Emma"], emma, how)
    with pytest.raises(RoutingInputError) as refused, world.db.session() as s:
        world.service.volunteer(s, question_id=qid, slack_id=emma, now=LATER)
    if how == "withdraw":
        assert refused.value.code == "help_withdrawn"
        assert "*Word expert* op je Home-tab" in str(error_text(refused.value, "nl"))
        assert "*Become an expert* on your Home tab" in str(error_text(refused.value, "en"))
    else:
        assert refused.value.code == "help_opted_out"
        assert "*Weer beschikbaar* op je Home-tab" in str(error_text(refused.value, "nl"))
        assert "*Available again* on your Home tab" in str(error_text(refused.value, "en"))
    assert emma not in _routings(world, qid)
    assert not [m for m in world.outbox(OutboxKind.EXPERT_REQUEST, question_id=qid) if m.recipient_slack_id == emma]
    if how == "withdraw":
        return
    with world.db.session() as s:  # "Weer beschikbaar" on the Home tab, then the same click
        profiles.set_availability(
            s,
            actor=Actor.slack(emma, is_staff=False),
            expert_id=ids["Emma"],
            availability=Availability.AVAILABLE,
            today=NOW.date(),
            now=LATER,
        )
        world.service.volunteer(s, question_id=qid, slack_id=emma, now=LATER)
    with SlackEmulator() as emu:
        emu.add_user(emma, name="emma", real_name="Emma")
        services = Services(
            settings=Settings(), db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service
        )
        sender = OutboxSender(services, WebClient(token=emu.bot_token, base_url=emu.api_url))
        theirs = [m for m in claim_outbox(world.db, now=LATER, worker_id="w1") if m.recipient_slack_id == emma]
        assert [m.kind for m in theirs] == [OutboxKind.EXPERT_REQUEST]
        assert [sender.send(m) for m in theirs] == ["sent"]
