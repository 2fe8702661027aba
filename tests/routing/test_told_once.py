"""Three leads from a review, through the real routing service, outbox and register:

* an expert whose Slack account is gone (the request's DM fails for good) is not picked again and again: they are
  marked away in the register with the reason in the audit log and a notice for staff, and either they or staff
  make them available again;
* whoever chose that person by hand (staff assigning, an expert forwarding) is told the request did not arrive;
* the asker hears "staff take it up" once per question, however often the question is escalated again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from slack_sdk import WebClient
from sqlalchemy import select

from bot.actors import Actor
from bot.cli import main
from bot.outbox import claim_outbox
from bot.routing import run_due_timers
from handlers.outbox import render_message
from storage.models import (
    AuditLog,
    Availability,
    Expert,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionStatus,
    RoutingStatus,
    TimerKind,
)
from tests.emulator import SlackEmulator
from tests.routing.conftest import ASKER, NOW, World, local, seed_housing

Q, R, K = QuestionStatus, RoutingStatus, OutboxKind
LATER = NOW + timedelta(minutes=5)
STAFF = Actor.slack("USTAFF1", is_staff=True)
DRONES = "Wie heeft ervaring met drones voor dakinspecties?"


def _fail_requests_to(world: World, slack_id: str, error: str) -> int:
    """Claim the outbox and fail every request DM to ``slack_id`` with Slack's ``error``; returns how many."""
    failed = 0
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.EXPERT_REQUEST and message.recipient_slack_id == slack_id:
            world.unreachable_sender(now=LATER)._failed(message, error, permanent=True)
            failed += 1
    return failed


def _asked(world: World, qid: int) -> set[str]:
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        return {r.recipient_slack_id or "" for r in q.routings}


def _expert(world: World, slack_id: str) -> Expert:
    with world.db.session() as s:
        return s.scalars(select(Expert).where(Expert.slack_user_id == slack_id)).one()


def _outbox(world: World, kind: OutboxKind) -> list[OutboxMessage]:
    return world.outbox(kind)


# --- 1. a deactivated expert is not picked again ---------------------------------------------------------------


def test_an_expert_whose_account_is_gone_is_marked_away_staff_are_told_and_it_can_be_undone(world: World) -> None:
    seed_housing(world)
    first = world.ask()
    gone = sorted(_asked(world, first))[0]
    assert _fail_requests_to(world, gone, "user_disabled") == 1
    # the register says why they are not asked; nothing of theirs is deleted
    expert = _expert(world, gone)
    assert expert.availability is Availability.AWAY and expert.away_until is None
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "unreachable")).all()
    assert [(a.actor, a.entity_key) for a in audit] == [("system", expert.email)]
    # Slack's user_disabled is a deactivated account: the same reason as its user_change event gives
    assert audit[0].after is not None and audit[0].after["reason"] == "deleted"
    # staff are told in the triage channel, once
    notices = _outbox(world, K.DELIVERY_FAILED)
    staff_notices = [m for m in notices if m.recipient_slack_id is None]
    assert len(staff_notices) == 1 and staff_notices[0].payload["marked_away"] is True
    assert staff_notices[0].payload["recipient"]["slack_user_id"] == gone
    # the next questions do not pick them again
    second = world.ask(text="Wie kent de leegstandsheffing?")
    third = world.ask(text="Ervaring met leegstandsheffing?", asker_slack_id="UASKER002")
    assert gone not in _asked(world, second) | _asked(world, third)
    # the account is back: they say they are available (Home tab), and are asked again
    with world.db.session() as s:
        world.service.set_available(s, slack_user_id=gone, now=LATER)
    fourth = world.ask(asker_slack_id="UASKER003")
    assert gone in _asked(world, fourth)


def test_staff_make_an_expert_marked_unreachable_available_again_from_the_command_line(world: World) -> None:
    seed_housing(world)
    first = world.ask()
    gone = sorted(_asked(world, first))[0]
    _fail_requests_to(world, gone, "user_not_found")
    expert = _expert(world, gone)
    assert expert.availability is Availability.AWAY
    shown = CliRunner().invoke(main, ["--database", world.db.url, "audit", "--entity", "expert", "--json"])
    assert shown.exit_code == 0 and "unreachable" in shown.output and "user_not_found" in shown.output
    card = CliRunner().invoke(main, ["--database", world.db.url, "register", "show", expert.email])
    assert "beschikbaarheid:  afwezig (away) (gemarkeerd op" in card.output
    assert "Slack kent deze id niet; controleer de Slack-id in het register" in card.output  # in words, not the key
    assert "user_not_found" not in card.output
    done = CliRunner().invoke(main, ["--database", world.db.url, "register", "available", expert.email])
    assert done.exit_code == 0, done.output
    assert _expert(world, gone).availability is Availability.AVAILABLE
    card = CliRunner().invoke(main, ["--database", world.db.url, "register", "show", expert.email])
    assert "beschikbaarheid:  beschikbaar (available)\n" in card.output and "gemarkeerd" not in card.output
    with world.db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["unreachable", "availability"]


def test_the_notices_say_who_why_and_what_next_in_dutch_and_english(world: World) -> None:
    seed_housing(world)
    first = world.ask()
    gone = sorted(_asked(world, first))[0]
    _fail_requests_to(world, gone, "user_disabled")
    qid = world.ask(text=DRONES, theme_keys=[], asker_slack_id="UASKER009")
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=NOW)
    _fail_requests_to(world, "UDRONE01", "user_not_found")
    texts = {
        (m.recipient_slack_id, lang): render_message(m.kind, m.payload, lang).text
        for m in _outbox(world, K.DELIVERY_FAILED)
        for lang in ("nl", "en")
    }
    assert "gedeactiveerd" in texts[(None, "nl")] and "afwezig" in texts[(None, "nl")]
    assert "deactivated" in texts[(None, "en")] and "register available" in texts[(None, "en")]
    assert f"#{qid}" in texts[("USTAFF1", "nl")] and "werkruimte" in texts[("USTAFF1", "nl")]
    assert "<@UDRONE01>" in texts[("USTAFF1", "en")] and "someone else" in texts[("USTAFF1", "en")]


def test_account_inactive_marks_nobody(world: World) -> None:
    """Slack says ``account_inactive`` of the bot's own token: no expert is marked (nor moved on from)."""
    seed_housing(world)
    first = world.ask()
    for slack_id in _asked(world, first):
        _fail_requests_to(world, slack_id, "account_inactive")
    with world.db.session() as s:
        experts = s.scalars(select(Expert)).all()
        assert {e.availability for e in experts} == {Availability.AVAILABLE}
    assert _outbox(world, K.DELIVERY_FAILED) == []


def test_account_inactive_for_a_deactivated_recipient_is_confirmed_by_users_info(world: World) -> None:
    """``account_inactive`` is ambiguous; when Slack (the emulator) still answers ``users.info`` and says the account
    is deleted, the expert is marked away and replaced; when users.info fails alike (the bot's token), nobody is."""
    seed_housing(world)
    first = world.ask()
    gone, other = sorted(_asked(world, first))
    with SlackEmulator() as emu:
        emu.add_user(gone, name="weg", real_name="Weg", deleted=True)
        emu.add_user(other, name="nog", real_name="Ook Weg", deleted=True)
        sender = world.unreachable_sender(now=LATER)
        sender.client = WebClient(token=emu.bot_token, base_url=emu.api_url)
        emu.fail_next("users.info", error="account_inactive")  # the first: the token itself is refused
        for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
            if message.kind is K.EXPERT_REQUEST and message.recipient_slack_id == other:
                sender._failed(message, "account_inactive", permanent=True)
        assert _expert(world, other).availability is Availability.AVAILABLE
        for message in claim_outbox(world.db, now=LATER + timedelta(hours=1), worker_id="w2"):
            if message.kind is K.EXPERT_REQUEST and message.recipient_slack_id == gone:
                sender._failed(message, "account_inactive", permanent=True)
        assert _expert(world, gone).availability is Availability.AWAY
    with world.db.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "unreachable")).one()
        assert audit.after is not None and audit.after["reason"] == "deleted"


# --- 2. whoever chose the person by hand is told ----------------------------------------------------------------


def test_staff_who_assigned_someone_unreachable_are_told(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=DRONES, theme_keys=[])
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=NOW)
    _fail_requests_to(world, "UDRONE01", "user_not_found")
    told = [m for m in _outbox(world, K.DELIVERY_FAILED) if m.recipient_slack_id == "USTAFF1"]
    assert len(told) == 1
    assert told[0].payload["error"] == "user_not_found" and told[0].payload["question_id"] == qid
    assert told[0].payload["recipient"]["slack_user_id"] == "UDRONE01" and told[0].payload["by_staff"] is True
    # a failed DM that moves nobody on (the request cannot be posted for another lasting reason) is told too
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE02", actor=STAFF, now=NOW)
    _fail_requests_to(world, "UDRONE02", "channel_not_found")
    told = [m for m in _outbox(world, K.DELIVERY_FAILED) if m.recipient_slack_id == "USTAFF1"]
    assert [m.payload["recipient"]["slack_user_id"] for m in told] == ["UDRONE01", "UDRONE02"]


def test_an_expert_who_forwarded_to_someone_unreachable_is_told(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        routing = q.routings[0]
        forwarder, rid = routing.recipient_slack_id or "", routing.id
    with world.db.session() as s:
        world.service.forward(s, routing_id=rid, actor_slack_id=forwarder, to_slack_id="UCOLLEG01", now=NOW)
    _fail_requests_to(world, "UCOLLEG01", "user_disabled")
    told = [m for m in _outbox(world, K.DELIVERY_FAILED) if m.recipient_slack_id == forwarder]
    assert len(told) == 1 and told[0].payload["by_staff"] is False


def test_requests_the_matcher_chose_tell_no_chooser(world: World) -> None:
    seed_housing(world)
    first = world.ask()
    for slack_id in _asked(world, first):
        _fail_requests_to(world, slack_id, "channel_not_found")
    assert _outbox(world, K.DELIVERY_FAILED) == []  # nobody chose them: the timers move on as for any silence


def _give_up_requests_to(world: World, slack_id: str, error: str) -> int:
    """Claim the outbox and fail every request DM to ``slack_id`` once more with its attempts at the maximum (a
    passing error, given up after its last retry); returns how many."""
    failed = 0
    sender = world.unreachable_sender(now=LATER)
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.EXPERT_REQUEST and message.recipient_slack_id == slack_id:
            with world.db.session() as s:
                row = s.get(OutboxMessage, message.id)
                assert row is not None
                row.attempts = message.attempts = sender.policy.max_attempts - 1
            sender._failed(message, error, permanent=False)
            failed += 1
    return failed


@pytest.mark.parametrize("how", ["answered", "cancelled"])
def test_a_request_given_up_after_the_question_moved_on_tells_nobody(world: World, how: str) -> None:
    """Staff assign someone, the question is answered (or withdrawn) meanwhile, then the request DM still pending is
    given up after its last retry: nobody is told to choose someone else, and nothing moves."""
    seed_housing(world)
    qid = world.ask(text=DRONES, theme_keys=[])
    with world.db.session() as s:
        routing = world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=NOW)
        rid = routing.id
    with world.db.session() as s:
        if how == "answered":
            world.service.answer(s, routing_id=rid, actor_slack_id="UDRONE01", text="Zo doe je dat.", now=NOW)
        else:
            world.service.cancel(s, question_id=qid, actor_slack_id=ASKER, now=NOW)
    before = _state(world, qid)
    assert _give_up_requests_to(world, "UDRONE01", "ratelimited") == 1
    assert _outbox(world, K.DELIVERY_FAILED) == []
    assert _state(world, qid) == before


def _state(world: World, qid: int) -> tuple[QuestionStatus, list[tuple[int, RoutingStatus]]]:
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        return q.status, sorted((r.id, r.status) for r in q.routings)


# --- 3. the asker hears "escalated" once per question ------------------------------------------------------------


def _escalated_updates(world: World, qid: int) -> list[OutboxMessage]:
    return [m for m in world.outbox(K.ASKER_UPDATE, question_id=qid) if m.payload["update"] == "escalated"]


def test_the_asker_is_told_escalated_once_however_often_it_is_escalated(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=DRONES, theme_keys=[])  # nobody matches: escalated at once
    assert len(_escalated_updates(world, qid)) == 1
    # staff assign someone, who declines: nobody else matches, escalated again
    with world.db.session() as s:
        rid = world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=NOW).id
    with world.db.session() as s:
        world.service.decline(s, routing_id=rid, actor_slack_id="UDRONE01", now=NOW)
    # staff assign someone who stays silent: the escalation timer hands it to staff again
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE02", actor=STAFF, now=NOW)
    later = local(2026, 12, 7, 10)
    kinds = {TimerKind.ESCALATE}
    run = run_due_timers(world.db, now=later, worker_id="w1", handler=world.service.handle_timer, kinds=kinds)
    assert any(o.startswith("escalated") for o in run.outcomes.values())
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ESCALATED
    assert len(_escalated_updates(world, qid)) == 1  # the asker: once
    triage = world.outbox(K.TRIAGE, question_id=qid)
    assert len(triage) == 3  # staff: each time, they have something to do again


def _routed_updates(world: World, qid: int) -> list[list[str]]:
    return [
        [p["slack_user_id"] for p in m.payload["experts"]]
        for m in world.outbox(K.ASKER_UPDATE, question_id=qid)
        if m.payload["update"] == "routed"
    ]


def test_staff_asking_the_same_person_again_tells_the_asker_once_per_person(world: World) -> None:
    seed_housing(world)
    qid = world.ask(text=DRONES, theme_keys=[])  # nobody matches: escalated at once
    with world.db.session() as s:
        rid = world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=NOW).id
    with world.db.session() as s:
        world.service.decline(s, routing_id=rid, actor_slack_id="UDRONE01", now=NOW)  # back to staff
    with world.db.session() as s:  # staff ask the same person again: they have time now
        again = world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE01", actor=STAFF, now=LATER)
        assert again.id == rid and again.status is R.ASKED
    assert _routed_updates(world, qid) == [["UDRONE01"]]
    with world.db.session() as s:  # they decline again; staff ask someone else: that one the asker hears of
        world.service.decline(s, routing_id=rid, actor_slack_id="UDRONE01", now=LATER)
    with world.db.session() as s:
        world.service.staff_assign(s, question_id=qid, to_slack_id="UDRONE02", actor=STAFF, now=LATER)
    assert _routed_updates(world, qid) == [["UDRONE01"], ["UDRONE02"]]


def test_staff_see_waiting_questions_and_which_the_triage_channel_never_got(world: World) -> None:
    seed_housing(world)
    posted = world.ask(text=DRONES, theme_keys=[])
    lost = world.ask(text="Wie kent de beste recepten voor zuurdesembrood?", theme_keys=[], asker_slack_id="UASKER002")
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.TRIAGE:
            error = "not_in_channel" if message.question_id == lost else "ratelimited"
            world.unreachable_sender(now=LATER)._failed(message, error, permanent=error == "not_in_channel")
    with world.db.session() as s:
        queue = world.service.waiting_for_staff(s, limit=10)
    assert queue.count == 2
    assert [(w.question_id, w.triage_error) for w in queue.questions] == [(posted, None), (lost, "not_in_channel")]
    assert queue.questions[1].text is not None and "zuurdesembrood" in queue.questions[1].text


def test_an_expert_the_matcher_chose_whom_staff_assign_again_is_not_announced_twice(world: World) -> None:
    """The matcher's first message names both experts; after the question went to staff, staff choosing one of them
    (they declined meanwhile) asks that expert again, but the asker already knows of them: no second "sent to"."""
    seed_housing(world)
    qid = world.ask()
    (named,) = _routed_updates(world, qid)
    assert len(named) == 2
    first = sorted(named)[0]
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None
        rid = next(r.id for r in q.routings if r.recipient_slack_id == first)
        world.service.decline(s, routing_id=rid, actor_slack_id=first, now=NOW)
    kinds = {TimerKind.ESCALATE}
    run_due_timers(
        world.db, now=local(2026, 12, 14, 10), worker_id="w1", handler=world.service.handle_timer, kinds=kinds
    )
    with world.db.session() as s:
        q = s.get(Question, qid)
        assert q is not None and q.status is Q.ESCALATED
    with world.db.session() as s:
        again = world.service.staff_assign(s, question_id=qid, to_slack_id=first, actor=STAFF, now=LATER)
        assert again.id == rid and again.status is R.ASKED  # asked again: a new request for them
    requests = [m for m in world.outbox(K.EXPERT_REQUEST, question_id=qid) if m.recipient_slack_id == first]
    assert len(requests) == 2
    assert _routed_updates(world, qid) == [named]  # the asker: still the one message naming them
