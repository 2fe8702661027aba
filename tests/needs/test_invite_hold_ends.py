"""How a work-session invitation's hold ends besides its record: an attempt the inbox gives up on (Slack kept
failing) lets it go at once — its channel archived, its staff member told once — so another staff member can invite
right away; and a Dismiss or a Done while a staff member's invitation is under way is refused, naming them, with
nothing changed (never a closed proposal with a channel made after it). A close after the hold ran out goes through,
and the dead attempt, retried, makes nothing and archives the channel it had made."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.actors import Actor
from bot.error_texts import error_text
from bot.jobs import BatchResult
from bot.needs import CloseWhileInviting, ProposalClosed
from bot.needs.proposal_actions import INVITE_HOLD
from bot.privacy import erase_person
from handlers.inbox_job import MAX_ATTEMPTS
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import Practice, ProposalStatus
from tests.clock import Clock
from tests.needs.conftest import NOW, Network
from tests.needs.test_invite_hold import (  # the fixtures: the same staff and services
    OTHER_STAFF,
    clock_fixture,  # noqa: F401
    held,
    held_for,
    process,
    services_fixture,  # noqa: F401
    two_submissions,
)
from tests.needs.test_invite_retry import (
    STAFF,
    Crash,
    FakeSlack,
    due,
    proposal_id,
    proposal_state,
    refusals,
    slack_error,
)


def test_an_attempt_the_inbox_gives_up_on_lets_the_invitation_go_at_once(network: Network, services: Services) -> None:
    """Slack keeps failing the invitation of the first submission (after its channel was made) until the inbox gives
    up: its hold goes then, not ten minutes later — the other staff member's submission, right after, invites — the
    channel it made is archived, and its staff member is told once."""
    proposal = proposal_id(network)
    first, second = two_submissions(services, proposal)
    slack = drained(services, FakeSlack())
    slack.fail["conversations.invite"] = [
        slack_error("conversations.invite", "internal_error", status=500) for _ in range(MAX_ATTEMPTS)
    ]
    finished = [process(services, slack, first)]
    for attempt in range(1, MAX_ATTEMPTS):
        (row,) = [r for r in due(services.db, after=timedelta(hours=attempt)) if r.request_key == first.request_key]
        finished.append(process(services, slack, row, after=timedelta(hours=attempt)))
    assert finished == [False] * (MAX_ATTEMPTS - 1) + [True]  # given up after its last attempt
    dead = slack.channels["werksessie-a"]
    assert held(network, proposal) == (None, None) and held_for(network, proposal) is None
    assert slack.archived == [dead]
    assert refusals(slack) == []  # queued in the outbox with the hold's release, not sent by the inbox
    assert send_outbox(services, slack).sent == 1
    told = refusals(slack)
    assert [p["channel"] for p in told] == [f"D{STAFF}"] and "Er ging iets mis" not in told[0]["text"]
    assert "niemand is uitgenodigd" in told[0]["text"] and f"<#{dead}> dat ervoor was aangemaakt" in told[0]["text"]
    assert "opnieuw uitnodigen" in told[0]["text"]
    assert proposal_state(network, proposal) == (ProposalStatus.OPEN, None)

    later = timedelta(hours=MAX_ATTEMPTS + 1)
    (again,) = [r for r in due(services.db, after=later) if r.request_key == second.request_key]
    assert process(services, slack, again, after=later) is True  # the clock: still NOW, within the first's hold
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, slack.channels["werksessie-b"])
    assert [p["channel"] for p in refusals(slack)] == [f"D{STAFF}"]  # the other staff member invited, not refused


def send_outbox(services: Services, slack: FakeSlack) -> BatchResult:
    """One pass of the outbox sender, as the job runner makes it."""
    return OutboxSender(services, slack).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]


def drained(services: Services, slack: FakeSlack) -> FakeSlack:
    """``slack`` once what was queued before (the proposal's post for staff, their DM copies) went out, forgotten."""
    while send_outbox(services, slack).claimed:
        pass
    slack.posts.clear()
    return slack


class EnglishSlack(FakeSlack):
    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"user": {"id": kwargs["user"], "locale": "en-GB"}}


def test_given_up_with_its_channel_left_unarchived_the_staff_member_is_told_so_in_their_language(
    network: Network, services: Services
) -> None:
    """Slack refuses to archive the channel the given-up attempt made (a missing scope): the one DM, in English for
    an English staff member, says nobody was invited and they can invite again — and claims no archive."""
    proposal = proposal_id(network)
    first, _ = two_submissions(services, proposal)
    slack = drained(services, EnglishSlack())
    slack.fail["conversations.invite"] = [
        slack_error("conversations.invite", "internal_error", status=500) for _ in range(MAX_ATTEMPTS)
    ]
    slack.fail["conversations.archive"] = [slack_error("conversations.archive", "missing_scope")]
    finished = [process(services, slack, first)]
    for attempt in range(1, MAX_ATTEMPTS):
        (row,) = [r for r in due(services.db, after=timedelta(hours=attempt)) if r.request_key == first.request_key]
        finished.append(process(services, slack, row, after=timedelta(hours=attempt)))
    assert finished[-1] is True and slack.archived == []
    assert held(network, proposal) == (None, None)
    assert send_outbox(services, slack).sent == 1
    (told,) = refusals(slack)
    assert told["channel"] == f"D{STAFF}" and "Something went wrong" not in told["text"]
    assert "nobody was invited" in told["text"] and "invite again" in told["text"]
    assert "archived" not in told["text"] and "<#" not in told["text"]


def test_an_attempt_given_up_after_its_record_keeps_the_invitation(network: Network, services: Services) -> None:
    """Given up on its confirmations only (Slack refusing the channel's intro): the invitation stands, its channel
    is not archived, nobody is told "nothing was saved"."""
    proposal = proposal_id(network)
    first, _ = two_submissions(services, proposal)
    slack = FakeSlack()
    slack.fail["chat.postMessage"] = [slack_error("chat.postMessage", "ratelimited", status=429) for _ in range(99)]
    finished = [process(services, slack, first)]
    for attempt in range(1, 40):
        rows = [r for r in due(services.db, after=timedelta(hours=attempt)) if r.request_key == first.request_key]
        if not rows:
            break
        finished.append(process(services, slack, rows[0], after=timedelta(hours=attempt)))
    assert finished[-1] is True
    channel = slack.channels["werksessie-a"]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)
    assert slack.archived == [] and refusals(slack) == []


def close(network: Network, proposal: int, how: str, *, at: datetime = NOW) -> None:
    """The other staff member dismisses the proposal, or marks it done."""
    staff = Actor.slack(OTHER_STAFF, is_staff=True)
    with network.database.session() as session:
        if how == "dismiss":
            network.service.dismiss_proposal(session, actor=staff, proposal_id=proposal, now=at)
        else:
            url = "https://wiki.example.org/n"
            network.service.complete_proposal(session, actor=staff, proposal_id=proposal, notes_url=url, now=at)


def practices(network: Network) -> int:
    with network.database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Practice)) or 0)


@pytest.mark.parametrize("how", ["dismiss", "done"])
def test_no_close_while_an_invitation_is_under_way(network: Network, how: str) -> None:
    """STAFF's invitation holds the proposal (its plan committed, Slack being called): the other staff member's
    Dismiss (or Done) is refused, naming STAFF, and changes nothing — no practice either; the invitation is then
    recorded as usual, and the close goes through after it."""
    proposal = proposal_id(network)
    staff = Actor.slack(STAFF, is_staff=True)
    with network.database.session() as session:
        network.service.plan_invite(session, actor=staff, proposal_id=proposal, now=NOW, holder="needs_invite:V1")
    before = practices(network)
    with pytest.raises(CloseWhileInviting) as refused:
        close(network, proposal, how, at=NOW + timedelta(minutes=1))
    assert refused.value.code == "proposal_close_inviting_by"
    told = {lang: error_text(refused.value, lang) or "" for lang in ("nl", "en")}
    assert f"<@{STAFF}>" in told["nl"] and "niets veranderd" in told["nl"]
    assert f"<@{STAFF}>" in told["en"] and "nothing was changed" in told["en"]
    assert proposal_state(network, proposal) == (ProposalStatus.OPEN, None)
    assert held(network, proposal)[0] == "needs_invite:V1" and practices(network) == before

    with network.database.session() as session:
        network.service.record_invite(
            session,
            actor=staff,
            proposal_id=proposal,
            channel_id="CWORK",
            invited=[],
            created=True,
            now=NOW + timedelta(minutes=2),
            holder="needs_invite:V1",
        )
    close(network, proposal, how, at=NOW + timedelta(minutes=3))
    assert proposal_state(network, proposal)[0] == (
        ProposalStatus.DISMISSED if how == "dismiss" else ProposalStatus.DONE
    )


def test_an_invitation_planned_after_a_close_makes_nothing(network: Network) -> None:
    """The other order, as another replica meets it: the proposal was dismissed first; the invitation's plan is
    refused and holds nothing."""
    proposal = proposal_id(network)
    close(network, proposal, "dismiss")
    with pytest.raises(ProposalClosed), network.database.session() as session:
        network.service.plan_invite(
            session, actor=Actor.slack(STAFF, is_staff=True), proposal_id=proposal, now=NOW, holder="needs_invite:V1"
        )
    assert held(network, proposal) == (None, None)


def test_a_close_after_the_hold_ran_out_goes_through_and_the_dead_attempt_archives_its_channel(
    network: Network, services: Services, clock: Clock[datetime]
) -> None:
    """The invite attempt dies after Slack made its channel; once its hold ran out, the proposal is dismissed (the
    hold cleared with it); the dead attempt, retried, is refused at its plan and archives the channel it had made."""
    proposal = proposal_id(network)
    first, _ = two_submissions(services, proposal)
    slack = FakeSlack()
    slack.fail["conversations.invite"] = [Crash("killed after the create")]
    with pytest.raises(Crash):
        process(services, slack, first)
    dead = slack.channels["werksessie-a"]
    with pytest.raises(CloseWhileInviting):
        close(network, proposal, "dismiss", at=NOW + INVITE_HOLD - timedelta(seconds=1))
    close(network, proposal, "dismiss", at=NOW + INVITE_HOLD + timedelta(seconds=1))
    assert proposal_state(network, proposal) == (ProposalStatus.DISMISSED, None)
    assert held(network, proposal) == (None, None) and held_for(network, proposal) is None
    clock.now = NOW + INVITE_HOLD + timedelta(minutes=1)
    (retried,) = [r for r in due(services.db, after=timedelta(minutes=30)) if r.request_key == first.request_key]
    assert process(services, slack, retried, after=timedelta(minutes=30)) is True
    assert slack.archived == [dead] and slack.creates == ["werksessie-a"]
    assert [p["channel"] for p in refusals(slack)] == [f"D{STAFF}"]
    assert proposal_state(network, proposal) == (ProposalStatus.DISMISSED, None)


def test_an_erased_staff_member_is_no_longer_named_as_holding_an_invitation(network: Network) -> None:
    """Their hold stands until it ends or runs out; whoever is refused meanwhile is told "another staff member"."""
    proposal = proposal_id(network)
    lead = Actor.slack("ULEAD", is_staff=True)  # a person the register knows, as the one inviting
    with network.database.session() as session:
        network.service.plan_invite(session, actor=lead, proposal_id=proposal, now=NOW, holder="needs_invite:V1")
    assert held_for(network, proposal) == "ULEAD"
    with network.database.session() as session:
        erase_person(session=session, actor=Actor.cli("test"), slack_user_id="ULEAD", now=NOW)
    assert held_for(network, proposal) is None and held(network, proposal)[0] == "needs_invite:V1"
    with pytest.raises(CloseWhileInviting) as refused:
        close(network, proposal, "dismiss")
    assert refused.value.code == "proposal_close_inviting" and "ULEAD" not in (error_text(refused.value, "en") or "")
