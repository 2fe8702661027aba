"""Slack says an account was deactivated (``user_change`` with ``deleted: true``): acted on at once, not when a
DM to that person fails some day. As an expert their open requests move on and they are marked away (audited, staff
told); as an asker their questions with experts are withdrawn and the experts told; nothing the second time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select

from bot.config import Settings
from bot.i18n import t
from bot.network import Network
from bot.outbox import claim_outbox
from bot.register import unreachable
from bot.register.marked import ACCOUNT_GONE_REASONS, list_marked_away_ids
from bot.routing.core import SYSTEM
from handlers import deactivated as deactivated_module
from handlers.deactivated import person_gone_after_send
from handlers.inbox import InboxWorker
from handlers.outbox import OutboxSender
from handlers.profile_change import handle_profile_change
from handlers.services import Services
from storage.models import (
    AuditLog,
    Availability,
    Expert,
    OutboxKind,
    Question,
    QuestionEvent,
    QuestionStatus,
    RoutingStatus,
    Timer,
)
from tests.routing.conftest import ASKER, NOW, World, seed_housing

Q, R, K = QuestionStatus, RoutingStatus, OutboxKind
LATER = NOW + timedelta(hours=1)


def deactivated(world: World, slack_id: str) -> str:
    with world.db.session() as s:
        return world.service.person_deactivated(s, slack_user_id=slack_id, reason="deleted", now=LATER).outcome


def question(world: World, qid: int) -> Question:
    with world.db.session() as s:
        found = s.get(Question, qid)
        assert found is not None
        _ = list(found.routings)
        return found


def test_a_deactivated_expert_is_replaced_at_once_marked_away_and_not_asked_again(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    gone = sorted(r.recipient_slack_id or "" for r in question(world, qid).routings)[0]
    assert deactivated(world, gone).startswith("moved on 1, marked away True")
    routings = {r.recipient_slack_id: r for r in question(world, qid).routings}
    assert routings[gone].status is R.EXPIRED
    assert any(r.status is R.ASKED for s, r in routings.items() if s != gone)  # the next expert, now
    with world.db.session() as s:
        expert = s.scalars(select(Expert).where(Expert.slack_user_id == gone)).one()
        assert expert.availability is Availability.AWAY and expert.away_until is None
        [audit] = s.scalars(select(AuditLog).where(AuditLog.action == "unreachable"))
        assert audit.actor == "system" and audit.after is not None and audit.after["reason"] == "deleted"
        assert not s.scalars(select(Timer).where(Timer.routing_id == routings[gone].id, Timer.done_at.is_(None))).all()
    staff = [m for m in world.outbox(K.DELIVERY_FAILED) if m.recipient_slack_id is None]
    assert len(staff) == 1 and staff[0].payload["marked_away"] is True
    before = len(world.outbox())
    assert deactivated(world, gone) == "noop"  # Slack delivers the event again
    assert len(world.outbox()) == before
    other = world.ask(text="Wie kent de leegstandsheffing?", asker_slack_id="UASKER009")
    assert gone not in {r.recipient_slack_id for r in question(world, other).routings}


def test_an_expert_with_nothing_open_is_marked_away_once(world: World) -> None:
    ids = seed_housing(world)
    with world.db.session() as s:
        expert = s.get(Expert, ids["Emma"])
        assert expert is not None and expert.slack_user_id
        slack_id = expert.slack_user_id
    assert deactivated(world, slack_id) == "moved on 0, marked away True, withdrawn 0"
    assert deactivated(world, slack_id) == "noop"


@pytest.mark.parametrize("reason", ["deleted", "user_disabled", "user_not_found", "cannot_dm_bot"])
def test_a_reactivation_clears_a_mark_of_a_gone_account(world: World, reason: str) -> None:
    """An expert marked away as deactivated (also by a release that recorded Slack's ``user_disabled``) or unknown to
    Slack (``user_not_found``): the account active at Slack makes them available again. A bot's mark is not cleared:
    its account is active and still takes no DM."""
    ids = seed_housing(world)
    with world.db.session() as s:
        assert unreachable.mark_unreachable(s, expert_id=ids["Emma"], reason=reason, now=NOW) is not None
        expert = s.get(Expert, ids["Emma"])
        assert expert is not None and expert.slack_user_id
        slack_id = expert.slack_user_id
        marked = list_marked_away_ids(s, reasons=ACCOUNT_GONE_REASONS)  # as the profile-change matcher reads them
    cleared = reason != "cannot_dm_bot"
    assert marked == ({slack_id} if cleared else set())
    turn = mock.MagicMock(now=LATER, job=None)
    turn.body = {"event": {"type": "user_change", "user": {"id": slack_id, "team_id": "T0HOME001"}}}
    turn.services.home.network = Network(team_id="T0HOME001")
    turn.client.users_info.return_value = {"ok": True, "user": {"id": slack_id, "team_id": "T0HOME001"}}
    with world.db.session() as s:
        turn.session = s
        handle_profile_change(turn)
    assert turn.outcome == ("reactivated: available again" if cleared else "active")
    with world.db.session() as s:
        expert = s.get(Expert, ids["Emma"])
        assert expert is not None
        assert expert.availability is (Availability.AVAILABLE if cleared else Availability.AWAY)
        assert list_marked_away_ids(s, reasons=ACCOUNT_GONE_REASONS) == frozenset()
    assert turn.services.marked_away.cleared.call_args_list == ([mock.call(slack_id)] if cleared else [])


def test_a_deactivated_askers_questions_with_experts_are_withdrawn_and_the_experts_told(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    asked = [r for r in question(world, qid).routings if r.status is R.ASKED]
    assert asked
    outbox_before = {m.id for m in world.outbox()}
    assert deactivated(world, ASKER) == "moved on 0, marked away False, withdrawn 1"
    q = question(world, qid)
    assert q.status is Q.CANCELLED and q.closed_at is not None
    assert all(r.status is R.EXPIRED for r in q.routings)
    closed = [m for m in world.outbox(K.ROUTING_CLOSED) if m.id not in outbox_before]
    assert sorted(m.recipient_slack_id or "" for m in closed) == sorted(r.recipient_slack_id or "" for r in asked)
    assert all(m.payload["reason"] == "asker_gone" for m in closed)
    new = [m for m in world.outbox() if m.id not in outbox_before]
    assert not [m for m in new if m.recipient_slack_id == ASKER]  # nothing to the account that is gone
    with world.db.session() as s:
        event = s.scalars(select(QuestionEvent).where(QuestionEvent.to_status == "cancelled")).one()
        assert event.actor == SYSTEM and "deleted" in event.note
        assert not s.scalars(select(Timer).where(Timer.question_id == qid, Timer.done_at.is_(None))).all()
    assert deactivated(world, ASKER) == "noop"


def test_an_escalated_question_is_withdrawn_too_and_an_unknown_person_changes_nothing(world: World) -> None:
    """Nobody could be given its answer: staff are not left with it (their posts say why: ``handlers.deactivated``)."""
    world.load()  # nobody in the register: the question goes to staff
    qid = world.ask()
    assert question(world, qid).status is Q.ESCALATED
    before = len(world.outbox())
    assert deactivated(world, ASKER) == "moved on 0, marked away False, withdrawn 1 (1 escalated)"
    q = question(world, qid)
    assert q.status is Q.CANCELLED and q.closed_at is not None
    with world.db.session() as s:
        event = s.scalars(select(QuestionEvent).where(QuestionEvent.to_status == "cancelled")).one()
        assert event.from_status == "escalated" and event.actor == SYSTEM and "deleted" in event.note
        assert not s.scalars(select(Timer).where(Timer.question_id == qid, Timer.done_at.is_(None))).all()
    assert not [m for m in world.outbox()[before:] if m.recipient_slack_id == ASKER]
    assert deactivated(world, ASKER) == "noop"
    assert deactivated(world, "U0NOBODY1") == "noop"


@pytest.mark.parametrize(
    ("error", "permanent", "deleted", "withdrawn"),
    [
        ("user_disabled", True, None, True),
        ("ratelimited", False, True, False),
        # one failed answer from opening the DM: only with users.info saying the account is deleted
        ("user_not_found", True, True, True),
        ("cannot_dm_bot", True, True, True),
        ("account_inactive", True, True, True),
        ("user_not_found", True, False, False),
        ("cannot_dm_bot", True, False, False),
        ("user_not_found", True, None, False),  # users.info does not answer either
    ],
)
def test_an_update_the_asker_can_never_get_withdraws_their_question_as_the_event_would(
    world: World, error: str, permanent: bool, deleted: bool | None, withdrawn: bool
) -> None:
    seed_housing(world)
    qid = world.ask()
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
    update = next(m for m in claimed if m.kind is K.ASKER_UPDATE and m.recipient_slack_id == ASKER)
    sender = world.unreachable_sender(now=LATER)  # its Slack does not answer: users.info fails
    asked: list[object] = []
    if deleted is not None:

        def users_info(**kwargs: object) -> dict[str, object]:
            asked.append(kwargs["user"])
            return {"ok": True, "user": {"id": kwargs["user"], "deleted": deleted}}

        sender.client.users_info = users_info  # type: ignore[method-assign]
    sender._failed(update, error, permanent=permanent)
    assert question(world, qid).status is (Q.CANCELLED if withdrawn else Q.ROUTED)
    assert asked == ([ASKER] if permanent and error != "user_disabled" and deleted is not None else [])


@pytest.mark.parametrize(
    ("answer", "withdrawn"),
    [("user_not_found", False), ("user_not_visible", False), ("ratelimited", False), ("invalid_auth", False)],
)
def test_a_dm_refused_reads_users_info_as_the_event_does(world: World, answer: str, withdrawn: bool) -> None:
    """A DM refused with ``user_not_found`` and ``users.info`` saying the same: Slack not knowing an id says nothing
    certain of the person (another organisation's member this token cannot see), as for an expert's or a recruiting
    DM (``bot.register.marked.UNCONFIRMED_REASONS``): the asker's questions are not withdrawn; only an account Slack
    answers with, deactivated, is gone. Any other error says nothing either — ``user_not_visible`` neither (a Grid
    member or guest this token may not see: not known to be deactivated)."""
    seed_housing(world)
    qid = world.ask()
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
    update = next(m for m in claimed if m.kind is K.ASKER_UPDATE and m.recipient_slack_id == ASKER)
    sender = world.unreachable_sender(now=LATER)

    def users_info(**kwargs: object) -> dict[str, object]:
        raise SlackApiError(
            answer,
            SlackResponse(
                client=None,
                http_verb="POST",
                api_url="",
                req_args={},
                data={"ok": False, "error": answer},
                headers={},
                status_code=200,
            ),
        )

    sender.client.users_info = users_info  # type: ignore[method-assign]
    sender._failed(update, "user_not_found", permanent=True)
    assert question(world, qid).status is (Q.CANCELLED if withdrawn else Q.ROUTED)


def _expert_with_two_requests_who_also_asked(world: World) -> tuple[str, list[int], int]:
    """An expert asked for two questions who has a question of their own with experts."""
    seed_housing(world)
    first = world.ask()
    second = world.ask(text="Wie kent de leegstandsheffing?", asker_slack_id="UASKER009")
    both = [{r.recipient_slack_id for r in question(world, q).routings} for q in (first, second)]
    gone = sorted(both[0] & both[1])[0]
    own = world.ask(text="Wie weet iets over deelfietsen?", asker_slack_id=gone)
    return gone, [first, second], own


def _state(world: World, gone: str, asked: list[int], own: int) -> tuple[object, ...]:
    routings = [r.status for q in asked for r in question(world, q).routings if r.recipient_slack_id == gone]
    with world.db.session() as s:
        expert = s.scalars(select(Expert).where(Expert.slack_user_id == gone)).one()
        audits = [(a.actor, (a.after or {}).get("reason")) for a in s.scalars(select(AuditLog))]
        audits = [a for a in audits if a[1] is not None]
        event = s.scalars(
            select(QuestionEvent).where(QuestionEvent.question_id == own, QuestionEvent.to_status == "cancelled")
        ).one()
        return routings, expert.availability, audits, question(world, own).status, event.actor, event.note


@pytest.mark.parametrize("entry", ["user_change", "user_disabled"])
def test_slacks_event_and_a_dm_refused_with_user_disabled_do_the_same(world: World, entry: str) -> None:
    """Two ways Slack says an account is deactivated, one service function: every request of the expert moves on
    (not only the one whose DM failed), they are marked away with the same audit, and their own question is
    withdrawn."""
    gone, asked, own = _expert_with_two_requests_who_also_asked(world)
    if entry == "user_change":
        assert deactivated(world, gone).startswith("moved on 2, marked away True, withdrawn 1")
    else:
        claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
        request = next(m for m in claimed if m.kind is K.EXPERT_REQUEST and m.recipient_slack_id == gone)
        world.unreachable_sender(now=LATER)._failed(request, "user_disabled", permanent=True)
    routings, availability, audits, status, actor, note = _state(world, gone, asked, own)
    assert routings == [R.EXPIRED, R.EXPIRED]
    assert availability is Availability.AWAY
    assert audits == [("system", "deleted")]
    assert (status, actor, note) == (Q.CANCELLED, SYSTEM, "asker gone: deleted")
    assert deactivated(world, gone) == "noop"  # the other entry afterwards finds nothing left to do


class TriageSlack:
    """The triage channel, the network's alone: posts and updates recorded."""

    def __init__(self) -> None:
        self.posts: list[dict[str, object]] = []
        self.updates: list[dict[str, object]] = []

    def conversations_info(self, **kwargs: object) -> dict[str, object]:
        return {"channel": {"id": kwargs["channel"], "is_private": True}}

    def chat_postMessage(self, **kwargs: object) -> dict[str, object]:
        self.posts.append(kwargs)
        return {"ok": True, "channel": kwargs["channel"], "ts": f"1.{len(self.posts)}"}

    def chat_update(self, **kwargs: object) -> dict[str, object]:
        self.updates.append(kwargs)
        return {"ok": True}


def _triage_posted(world: World) -> tuple[Services, TriageSlack]:
    """Staff's triage post of the question sent (the outbox's triage message), with the services that sent it."""
    slack = TriageSlack()
    settings = Settings(triage_channel_id="C0TRIAGE1", staff_user_ids=frozenset({"U0STAFF01"}))
    services = Services(settings=settings, db=world.db, knowledge=world.kb, clock=lambda: LATER, routing=world.service)
    sender = OutboxSender(services, slack)  # type: ignore[arg-type]
    for message in claim_outbox(world.db, now=LATER, worker_id="w1"):
        if message.kind is K.TRIAGE:
            assert sender.send_one(message)
    return services, slack


def test_an_escalated_questions_triage_post_says_the_asker_is_gone_once_committed(world: World) -> None:
    world.load()  # nobody in the register: the question goes to staff
    qid = world.ask()
    services, slack = _triage_posted(world)
    assert [p["channel"] for p in slack.posts] == ["C0TRIAGE1"]
    outcome = person_gone_after_send(services, slack, user_id=ASKER, now=LATER)  # type: ignore[arg-type]
    assert outcome == "moved on 0, marked away False, withdrawn 1 (1 escalated)"
    assert slack.updates == []  # queued with the withdrawal: the inbox worker updates the posts
    _drain(services, slack, "hostA")
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == ("C0TRIAGE1", "1.1")
    shown = str(update["text"]) + repr(update["blocks"])
    assert t("routing.triage_asker_gone", "nl") in shown
    blocks = update["blocks"]
    assert isinstance(blocks, list) and blocks
    assert not [b for b in blocks if getattr(b, "type", None) == "actions"]  # its buttons gone
    assert question(world, qid).status is Q.CANCELLED


def _drain(services: Services, slack: TriageSlack, name: str) -> int:
    worker = InboxWorker(services, slack, threads=1, worker_id=f"{name}:1:abc")  # type: ignore[arg-type]
    ran = worker.drain()
    worker.pool.shutdown(wait=True)
    return ran


def test_a_crash_right_after_the_withdrawal_still_gets_the_triage_post_updated_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox sender dies right after the withdrawal committed, before it could update the triage post: the
    inbox worker's next pass updates it all the same (no live buttons on a withdrawn question), once across two
    replicas."""
    world.load()  # nobody in the register: the question goes to staff
    qid = world.ask()
    services, slack = _triage_posted(world)
    committing = world.db.session

    @contextmanager
    def then_killed(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with committing(*args, **kwargs) as opened:
            yield opened
        raise RuntimeError("killed right after the commit")

    monkeypatch.setattr(world.db, "session", then_killed)
    with pytest.raises(RuntimeError, match="killed"):
        person_gone_after_send(services, slack, user_id=ASKER, now=LATER)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert question(world, qid).status is Q.CANCELLED  # the withdrawal stands
    assert slack.updates == []

    assert _drain(services, slack, "hostA") == 1
    assert _drain(services, slack, "hostB") == 0  # done: the other replica finds nothing
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == ("C0TRIAGE1", "1.1")
    assert t("routing.triage_asker_gone", "nl") in str(update["text"]) + repr(update["blocks"])


def test_a_withdrawal_rolled_back_queues_no_post_update(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The withdrawal's transaction fails before its commit: its queued request changes no post, ever."""
    world.load()
    qid = world.ask()
    services, slack = _triage_posted(world)
    queue = deactivated_module.record_with_change

    def queued_then_killed(*args: Any, **kwargs: Any) -> None:
        queue(*args, **kwargs)
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(deactivated_module, "record_with_change", queued_then_killed)
    with pytest.raises(RuntimeError, match="killed"):
        person_gone_after_send(services, slack, user_id=ASKER, now=LATER)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert question(world, qid).status is Q.ESCALATED
    assert _drain(services, slack, "hostA") == 1  # run: nothing to show
    assert slack.updates == []


def test_a_deactivation_event_of_an_account_this_token_cannot_see_changes_nothing(world: World) -> None:
    """The event path reads ``user_not_visible`` as the outbox does: no reading of the account, nothing done (the
    event's own ``deleted`` claim is not acted on without Slack's word)."""
    seed_housing(world)
    qid = world.ask()
    turn = mock.MagicMock(now=LATER, job=None)
    turn.body = {"event": {"type": "user_change", "user": {"id": ASKER, "team_id": "T0HOME001", "deleted": True}}}
    turn.services.home.network = Network(team_id="T0HOME001")
    data = {"ok": False, "error": "user_not_visible"}
    response = SlackResponse(
        client=None, http_verb="POST", api_url="", req_args={}, data=data, headers={}, status_code=200
    )
    turn.client.users_info.side_effect = SlackApiError("user_not_visible", response)
    with world.db.session() as s:
        turn.session = s
        handle_profile_change(turn)
    assert turn.outcome == "not visible"
    assert question(world, qid).status is Q.ROUTED
