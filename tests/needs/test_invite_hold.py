"""Two staff members submitting the invite modal of one proposal at the same moment: the invitation is reserved for
the first when it is planned, before any Slack call, so the second creates no channel and invites nobody — at
whichever step of the first it runs (after its plan, while it waits on Slack, just before its record) — and is told
by DM that the session is being invited and by whom (or, once recorded, where), with what they typed. A retry of
the same submission keeps its hold; a hold whose attempt died runs out and is taken over (the dead attempt's channel is
archived when it comes back); a refused submission gives its hold up at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from bot.actors import Actor
from bot.config import Settings
from bot.error_texts import error_text
from bot.needs import AlreadyInvited, InviteUnderWay
from bot.needs.proposal_actions import INVITE_HOLD
from handlers.inbox import InboxWorker
from handlers.services import Services
from storage.models import InboxRequest, NeedProposal, ProposalStatus
from tests.clock import Clock
from tests.needs.conftest import NOW, Network
from tests.needs.test_invite_retry import (
    STAFF,
    Crash,
    FakeSlack,
    due,
    proposal_id,
    proposal_state,
    refusals,
    slack_error,
    submit_invite,
)

OTHER_STAFF = "USTAFF2"


@pytest.fixture(name="clock")
def clock_fixture() -> Clock[datetime]:  # test_invite_hold_ends imports it too
    return Clock(NOW)


@pytest.fixture(name="services")
def services_fixture(network: Network, clock: Clock[datetime]) -> Services:  # and this
    return Services(
        settings=Settings(staff_user_ids=frozenset({STAFF, OTHER_STAFF})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        clock=clock,
    )


def process(services: Services, slack: FakeSlack, row: InboxRequest, *, after: timedelta = timedelta(0)) -> bool:
    """One attempt at ``row``, claimed by ``due(after=after)``."""
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        return worker.process(row, claim=f"test/{after}")
    finally:
        worker.pool.shutdown()


def two_submissions(services: Services, proposal: int) -> tuple[InboxRequest, InboxRequest]:
    """STAFF's modal (channel werksessie-a), then OTHER_STAFF's (werksessie-b), both recorded before either runs."""
    submit_invite(services, proposal, "werksessie-a", view_id="V1", user=STAFF)
    submit_invite(services, proposal, "werksessie-b", view_id="V2", user=OTHER_STAFF)
    rows = {str(r.user_slack_id): r for r in due(services.db, after=timedelta(0))}
    return rows[STAFF], rows[OTHER_STAFF]


def held(network: Network, proposal: int) -> tuple[str | None, datetime | None]:
    with network.database.session() as session:
        row = session.get(NeedProposal, proposal)
        assert row is not None
        return row.invite_held_by, row.invite_held_until


def held_for(network: Network, proposal: int) -> str | None:
    """The staff member the hold names."""
    with network.database.session() as session:
        row = session.get(NeedProposal, proposal)
        assert row is not None
        return row.invite_held_for


def intros(slack: FakeSlack) -> list[str]:
    return [p["channel"] for p in slack.posts if not p["channel"].startswith("D")]


@pytest.mark.parametrize("step", ["conversations.create", "conversations.invite", "record"])
def test_a_second_submission_while_the_first_is_under_way_makes_no_channel_and_is_told(
    network: Network, services: Services, step: str
) -> None:
    """The other staff member's submission is handled while the first is at ``step`` (its plan committed): it is
    refused at its own plan, before any Slack call — one channel, one invitation, no archive."""
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    nested: list[bool] = []

    def meanwhile() -> None:
        if not nested:
            nested.append(process(services, slack, second))

    class Interleaved(FakeSlack):
        def conversations_create(self, **kwargs: Any) -> dict[str, Any]:
            if step == "conversations.create":
                meanwhile()
            return super().conversations_create(**kwargs)

        def conversations_invite(self, **kwargs: Any) -> dict[str, Any]:
            if step == "conversations.invite":
                meanwhile()
            return super().conversations_invite(**kwargs)

    slack = Interleaved()
    real = network.service.record_invite

    def record(*args: Any, **kwargs: Any) -> Any:
        if step == "record":
            meanwhile()
        return real(*args, **kwargs)

    with mock.patch.object(network.service, "record_invite", record):
        assert process(services, slack, first) is True
    assert nested == [True]  # the second ran, and finished: refused
    assert slack.creates == ["werksessie-a"] and slack.archived == []  # one channel, nothing to archive
    channel = slack.channels["werksessie-a"]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)
    assert intros(slack) == [channel]
    (told,) = refusals(slack)
    assert told["channel"] == f"D{OTHER_STAFF}"
    assert "op dit moment al uit" in told["text"]  # being invited (what they typed: the e2e test, with its form)
    assert f"<@{STAFF}>" in told["text"]  # by whom: the staff member who holds it
    assert held(network, proposal) == (None, None)  # recorded: the hold ended with it


def test_the_second_submission_after_the_first_was_recorded_is_told_where(network: Network, services: Services) -> None:
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    slack = FakeSlack()
    assert process(services, slack, first) is True
    assert process(services, slack, second) is True
    channel = slack.channels["werksessie-a"]
    (told,) = refusals(slack)
    assert f"<#{channel}>" in told["text"]
    assert slack.creates == ["werksessie-a"]


def test_a_retry_of_the_same_submission_keeps_its_hold(
    network: Network, services: Services, clock: Clock[datetime]
) -> None:
    """The first attempt meets a passing Slack failure after its plan; the other staff member's submission, handled
    before the retry, is refused; the retry (a little later, within the hold) goes on and invites."""
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.create"] = [slack_error("conversations.create", "internal_error", status=500)]
    assert process(services, slack, first) is False  # retried later
    holder, until = held(network, proposal)
    assert holder == first.request_key and until == NOW + INVITE_HOLD
    assert process(services, slack, second) is True  # refused: the first holds it
    assert slack.creates == [] and len(refusals(slack)) == 1
    clock.now = NOW + timedelta(seconds=30)
    (retry,) = due(services.db, after=timedelta(seconds=3))
    assert retry.request_key == first.request_key
    assert process(services, slack, retry, after=timedelta(seconds=3)) is True
    channel = slack.channels["werksessie-a"]
    assert slack.creates == ["werksessie-a"] and proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)
    assert len(refusals(slack)) == 1


@pytest.mark.parametrize("archive_refused", [False, True])
def test_an_expired_hold_is_taken_over_and_the_dead_attempts_channel_archived(
    network: Network,
    services: Services,
    clock: Clock[datetime],
    caplog: pytest.LogCaptureFixture,
    archive_refused: bool,
) -> None:
    """The first attempt dies after Slack made its channel; its hold runs out; the other staff member's submission
    takes the invitation over and records it. When the first is retried it is refused at its plan, naming the
    channel, and the channel it made is archived (without the scope for that: left, and logged)."""
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.invite"] = [Crash("killed after the create")]
    with pytest.raises(Crash):
        process(services, slack, first)
    dead = slack.channels["werksessie-a"]
    clock.now = NOW + INVITE_HOLD - timedelta(seconds=1)
    assert process(services, slack, second) is True  # still held: refused
    assert slack.creates == ["werksessie-a"] and len(refusals(slack)) == 1
    clock.now = NOW + INVITE_HOLD + timedelta(seconds=1)
    submit_invite(services, proposal, "werksessie-c", view_id="V3", user=OTHER_STAFF)  # the modal again
    rows = {str(r.request_key): r for r in due(services.db, after=timedelta(minutes=30))}
    third = next(r for k, r in rows.items() if "V3" in k)
    assert process(services, slack, third, after=timedelta(minutes=30)) is True
    kept = slack.channels["werksessie-c"]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, kept)
    if archive_refused:
        slack.fail["conversations.archive"] = [slack_error("conversations.archive", "missing_scope")]
    retried = rows[first.request_key]
    assert process(services, slack, retried, after=timedelta(minutes=30)) is True  # the dead attempt, retried
    assert slack.creates == ["werksessie-a", "werksessie-c"]
    assert slack.archived == ([] if archive_refused else [dead])
    assert (f"channel {dead} left unarchived: missing_scope" in caplog.text) == archive_refused
    told = [p for p in refusals(slack) if p["channel"] == f"D{STAFF}"]
    assert len(told) == 1 and f"<#{kept}>" in told[0]["text"]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, kept)


def test_a_refused_submission_gives_its_hold_up_at_once(network: Network, services: Services) -> None:
    """Slack refuses the first (a missing scope): its hold goes with the refusal, so the other staff member's
    submission, handled right after, invites instead of being told to wait."""
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.create"] = [slack_error("conversations.create", "missing_scope")]
    assert process(services, slack, first) is True  # refused, told
    assert held(network, proposal) == (None, None)
    assert process(services, slack, second) is True
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, slack.channels["werksessie-b"])
    assert [p["channel"] for p in refusals(slack)] == [f"D{STAFF}"]


def test_the_hold_at_the_service(network: Network) -> None:
    """``plan_invite`` with a holder reserves the open proposal: another holder is refused until the hold runs out,
    the same one keeps it; ``record_invite`` of a holder whose hold was taken over is refused; without a holder (the
    invite button opening the modal) a live hold is refused too, and nothing is reserved."""
    proposal = proposal_id(network)
    staff = Actor.slack(STAFF, is_staff=True)
    service = network.service

    def plan(holder: str | None, at: datetime) -> Callable[[], Any]:
        def run() -> Any:
            with network.database.session() as session:
                return service.plan_invite(session, actor=staff, proposal_id=proposal, now=at, holder=holder)

        return run

    plan(None, NOW)()  # the modal opened: nothing held
    assert held(network, proposal) == (None, None)
    plan("a", NOW)()
    assert held_for(network, proposal) == STAFF
    for refused in (plan("b", NOW + INVITE_HOLD - timedelta(seconds=1)), plan(None, NOW)):
        with pytest.raises(InviteUnderWay) as under_way:
            refused()
        assert under_way.value.code == "proposal_inviting_by"
    # the other invitation may still fail (refused, or its process dies): the text promises no channel, it says
    # what to do then — and who holds it, so they can be asked
    told = {lang: error_text(under_way.value, lang) or "" for lang in ("nl", "en")}
    assert "zo meteen" not in told["nl"] and "opnieuw uitnodigen" in told["nl"] and f"<@{STAFF}>" in told["nl"]
    assert "in a moment" not in told["en"] and "invite again" in told["en"] and f"<@{STAFF}>" in told["en"]
    unnamed = InviteUnderWay(proposal, None)  # a hold made before its staff member was kept: "another staff member"
    assert unnamed.code == "proposal_inviting" and "Een andere medewerker" in (error_text(unnamed, "nl") or "")
    assert InviteUnderWay(proposal, "<!channel>").code == "proposal_inviting"  # only a Slack user id is named
    plan("a", NOW + timedelta(minutes=1))()  # a retry: kept, and extended
    assert held(network, proposal) == ("a", NOW + timedelta(minutes=1) + INVITE_HOLD)
    later = NOW + timedelta(minutes=1) + INVITE_HOLD
    plan("b", later)()  # ran out: taken over
    record: dict[str, Any] = {"actor": staff, "proposal_id": proposal, "invited": [], "created": True}
    with pytest.raises(InviteUnderWay), network.database.session() as session:
        service.record_invite(session, channel_id="CA", now=later, holder="a", **record)
    with network.database.session() as session:
        service.record_invite(session, channel_id="CB", now=later, holder="b", **record)
    assert held(network, proposal) == (None, None) and held_for(network, proposal) is None
    with pytest.raises(AlreadyInvited), network.database.session() as session:
        service.plan_invite(session, actor=staff, proposal_id=proposal, now=later, holder="a")
