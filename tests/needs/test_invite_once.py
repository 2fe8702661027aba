"""A proposed work session is invited once: a second invite modal handled after the first was recorded (a second
staff member's, or a stale button on a copy of the post) creates no second channel and invites nobody twice, and its
sender is told where the session is held (two handled at once: ``test_invite_hold``). And the invitation holds no lock
on the proposal, nor a transaction, while it waits on Slack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.actors import Actor
from bot.config import Settings
from bot.needs import AlreadyInvited, ProposalClosed
from handlers import ids, inbox
from handlers.inbox import InboxWorker
from handlers.listener import delivery_key
from handlers.recorded import SUBMISSION_KIND, kept_body
from handlers.requestspec import Kind
from handlers.services import Services
from storage.models import ProposalStatus
from tests.needs.conftest import NOW, Network
from tests.needs.test_invite_retry import (
    STAFF,
    FakeSlack,
    due,
    invite_body,
    proposal_id,
    proposal_state,
    refusals,
    submit_invite,
)


@pytest.fixture
def services(network: Network) -> Services:
    return Services(
        settings=Settings(staff_user_ids=frozenset({STAFF, OTHER_STAFF})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        clock=lambda: NOW,
    )


OTHER_STAFF = "USTAFF2"


def run_all(services: Services, slack: FakeSlack) -> None:
    """Every recorded request, oldest first, by one worker."""
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        for row in due(services.db, after=timedelta(0)):
            worker.process(row, claim=f"test/{timedelta(0)}")
    finally:
        worker.pool.shutdown()


def test_a_second_invite_modal_creates_no_second_channel_and_says_where_the_session_is(
    network: Network, services: Services
) -> None:
    proposal = proposal_id(network)
    submit_invite(services, proposal, "werksessie-a", view_id="V1")
    submit_invite(services, proposal, "werksessie-b", view_id="V2")  # opened before the first was submitted
    slack = FakeSlack()
    run_all(services, slack)
    channel = slack.channels["werksessie-a"]
    assert slack.creates == ["werksessie-a"]  # one channel
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)  # the first is remembered
    assert [p["channel"] for p in slack.posts if not p["channel"].startswith("D")] == [channel]  # one intro
    told = refusals(slack)
    assert len(told) == 1 and f"<#{channel}>" in told[0]["text"]  # the second sender: already, and where


def test_only_an_open_proposal_is_invited_and_the_record_is_conditional(network: Network) -> None:
    proposal = proposal_id(network)
    staff = Actor.slack(STAFF, is_staff=True)
    service = network.service
    with network.database.session() as session:  # two invitations planned while it was open
        first = service.plan_invite(session, actor=staff, proposal_id=proposal, now=NOW)
        second = service.plan_invite(session, actor=staff, proposal_id=proposal, now=NOW)
    assert first == second
    record: dict[str, Any] = {"actor": staff, "proposal_id": proposal, "invited": [], "created": True, "now": NOW}
    with network.database.session() as session:
        service.record_invite(session, channel_id="CFIRST", **record)
    with pytest.raises(AlreadyInvited) as refused, network.database.session() as session:
        service.record_invite(session, channel_id="CSECOND", **record)
    assert refused.value.values == {"channel": "<#CFIRST>"}
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, "CFIRST")
    with network.database.session() as session:  # the same invitation again (a retry): accepted, nothing changes
        assert service.record_invite(session, channel_id="CFIRST", **record).channel_id == "CFIRST"
    with pytest.raises(AlreadyInvited), network.database.session() as session:  # nor planned again
        service.plan_invite(session, actor=staff, proposal_id=proposal, now=NOW)
    with network.database.session() as session:
        service.dismiss_proposal(session, actor=staff, proposal_id=proposal, now=NOW)
    with pytest.raises(ProposalClosed) as closed, network.database.session() as session:
        service.record_invite(session, channel_id="CFIRST", **record)
    assert not isinstance(closed.value, AlreadyInvited)


def test_the_invite_holds_no_lock_on_the_proposal_while_slack_is_called(network: Network, services: Services) -> None:
    """Dismiss and Done on the proposal do not wait for Slack: while the channel is created and the people invited,
    the proposal's row can be locked at once, and the worker has no transaction open."""
    if network.database.engine.dialect.name != "postgresql":
        pytest.skip("row locks and open transactions: PostgreSQL")
    proposal = proposal_id(network)
    submit_invite(services, proposal)
    seen: list[tuple[str, object]] = []

    class Watching(FakeSlack):
        def _look(self, method: str) -> None:
            with network.database.engine.connect() as connection:
                try:
                    connection.execute(text("SET lock_timeout = '500ms'"))
                    connection.execute(text("SELECT id FROM need_proposals WHERE id = :i FOR UPDATE"), {"i": proposal})
                    seen.append((method, "free"))
                except Exception as error:
                    seen.append((method, type(getattr(error, "orig", error)).__name__))
                open_ = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                    )
                ).scalar_one()
                seen.append((f"{method} transactions open", open_))
                connection.rollback()

        def conversations_create(self, **kwargs: Any) -> dict[str, Any]:
            self._look("conversations.create")
            return super().conversations_create(**kwargs)

        def conversations_invite(self, **kwargs: Any) -> dict[str, Any]:
            self._look("conversations.invite")
            return super().conversations_invite(**kwargs)

    run_all(services, Watching())
    assert seen == [
        ("conversations.create", "free"),
        ("conversations.create transactions open", 0),
        ("conversations.invite", "free"),
        ("conversations.invite transactions open", 0),
    ]
    assert proposal_state(network, proposal)[0] == ProposalStatus.INVITED


@pytest.mark.parametrize("handler", [ids.VIEW_NEEDS_INVITE, "handlers.needs.handle_invite_submission"])
def test_an_invite_recorded_by_an_older_release_in_the_shared_format_is_still_made(
    network: Network, services: Services, handler: str
) -> None:
    """A rolling upgrade: a replica not yet upgraded recorded the invite modal as a plain modal submission (under
    the modal's callback id, or, older still, the function that handled it). The upgraded worker makes the
    invitation from it — once, and without a generic error to the staff member."""
    proposal = proposal_id(network)
    body = invite_body(proposal, "werksessie-oud", view_id="VOLD")
    assert inbox.record(
        services,
        request_key=delivery_key(Kind.VIEW, body) or "",
        kind_name=SUBMISSION_KIND,
        payload={"handler": handler, "body": kept_body(body)},
        user_id=STAFF,
    )
    slack = FakeSlack()
    run_all(services, slack)
    channel = slack.channels["werksessie-oud"]
    assert slack.creates == ["werksessie-oud"] and {"ULEAD", "UGENT"} <= slack.members[channel]
    assert proposal_state(network, proposal) == (ProposalStatus.INVITED, channel)
    assert refusals(slack) == []  # no "something went wrong"
    assert [p["channel"] for p in slack.posts] == [channel]  # the channel's intro, once
    assert due(services.db, after=timedelta(minutes=10)) == []  # done: nothing left to retry
