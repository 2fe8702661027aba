"""A proposal's posts are rendered again once per change recorded, not once per event: a flood of deactivated
askers is drawn by one job pass; two processes (replicas) never update the same posts for one recorded change, and
a render read before another process's newer one never lands after it. Through the real needs service, routing,
outbox and refresher (Slack's answers recorded, not called)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.actors import Actor
from bot.config import Settings
from bot.needs.proposal_refresh import REFRESH_LEASE
from bot.privacy.channels import REFRESH_DELAY
from bot.routing.service import RoutingService
from handlers import ids
from handlers.deactivated import person_gone_after_send
from handlers.inbox import InboxWorker
from handlers.needs_refresh import ProposalRefresher
from storage.models import NeedProposalRefresh, Question
from tests.clock import Clock
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import STAFF, FakeSlack, due, slack_error, submit_invite
from tests.needs.test_queued_proposal import TRIAGE, _queued
from tests.needs.test_refresh_durable import LATER, FlakySlack, _pending, _posted, _services


def _askers(network: Network) -> list[str]:
    with network.database.session() as session:
        return sorted({a for a in session.scalars(select(Question.asker_slack_id)) if a})


def test_a_flood_of_deactivated_askers_draws_the_proposal_once(network: Network) -> None:
    """An offboarding: each account's questions are withdrawn in a transaction of its own (Slack's events, DMs
    refused), a few seconds apart. No post is updated per account, and a later account does not put the update
    off: one job pass renders the proposal once, when the first change falls due."""
    proposal_id, question = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    slack = FlakySlack(down=False)
    services = dataclasses.replace(_services(network, clock), routing=RoutingService(knowledge=network.knowledge))
    askers = _askers(network)
    assert len(askers) >= 4
    for n, asker in enumerate(askers):
        person_gone_after_send(services, slack, user_id=asker, now=LATER + timedelta(seconds=20 * n))  # type: ignore[arg-type]
    assert slack.updates == [] and _pending(network) == [proposal_id]

    renders: list[int] = []
    real = network.service.current_view

    def counted(session: Any, *, proposal_id: int, now: datetime) -> Any:
        renders.append(proposal_id)
        return real(session, proposal_id=proposal_id, now=now)

    network.service.current_view = counted  # type: ignore[method-assign]
    refresher = ProposalRefresher(services, slack)  # type: ignore[arg-type]
    clock.now = LATER + REFRESH_DELAY  # the first account's change is due: the later ones did not put it off
    assert refresher.refresh_due() == 1
    assert renders == [proposal_id]
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == (TRIAGE, "1.1")
    assert question.text not in repr(update["blocks"]) + str(update["text"])
    assert _pending(network) == []
    clock.now += REFRESH_DELAY * 10
    assert refresher.refresh_due() == 0 and len(slack.updates) == 1


class WaitingSlack(FlakySlack):
    """Both replicas' updates meet here: each waits (briefly) for the other's."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(down=False)
        self.barrier = barrier

    def chat_update(self, **kwargs: object) -> dict[str, object]:
        with contextlib.suppress(threading.BrokenBarrierError):  # the other replica made no update
            self.barrier.wait(timeout=2)
        return super().chat_update(**kwargs)


def _recorded(network: Network) -> int:
    proposal_id, question = _queued(network)
    _posted(network, Clock(LATER))
    with network.database.session() as session:
        assert network.service.mark_for_refresh(session, question_ids=[question.id], now=LATER) == [proposal_id]
    return proposal_id


def test_two_replicas_passing_at_once_update_the_posts_once(network: Network) -> None:
    proposal_id = _recorded(network)
    clock = Clock(LATER)
    clock.now = LATER + REFRESH_DELAY
    barrier = threading.Barrier(2)
    slacks = [WaitingSlack(barrier), WaitingSlack(barrier)]
    done: list[int] = []

    def run(slack: WaitingSlack) -> None:
        done.append(ProposalRefresher(_services(network, clock), slack).refresh_due())  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(slack,)) for slack in slacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == [0, 1]
    assert sum(len(slack.updates) for slack in slacks) == 1
    assert _pending(network) == []
    assert proposal_id


def test_a_claimed_refresh_is_neither_taken_nor_made_due_by_a_change_until_its_lease_runs_out(
    network: Network,
) -> None:
    proposal_id = _recorded(network)
    service = network.service
    due = LATER + REFRESH_DELAY
    with network.database.session() as session:
        first = service.claim_refresh(session, proposal_id=proposal_id, now=due)
    assert first is not None and first[:2] == (1, 0)
    with network.database.session() as session:
        assert service.claim_refresh(session, proposal_id=proposal_id, now=due) is None  # the other replica
        question_ids = list(session.scalars(select(Question.id)))
        service.mark_for_refresh(session, question_ids=question_ids, now=due)  # a change meanwhile
    with network.database.session() as session:
        assert service.claim_refresh(session, proposal_id=proposal_id, now=due + REFRESH_LEASE / 2) is None
        row = session.get(NeedProposalRefresh, proposal_id)
        assert row is not None and row.mark == 2
    with network.database.session() as session:  # the claim ran out: another process takes it over
        second = service.claim_refresh(session, proposal_id=proposal_id, now=due + REFRESH_LEASE)
    assert second is not None and second[0] == 2
    with network.database.session() as session:
        assert not service.holds_refresh(session, proposal_id=proposal_id, until=first[2])
        assert service.holds_refresh(session, proposal_id=proposal_id, until=second[2])


def test_a_render_read_before_another_processs_newer_one_does_not_land_after_it(network: Network) -> None:
    """Replica A claims the refresh and reads the proposal, then stalls past its lease; replica B takes the refresh
    over and shows the state after a later change. A's older render is not sent over B's."""
    proposal_id = _recorded(network)
    clock_a, clock_b = Clock(LATER), Clock(LATER)
    clock_a.now = LATER + REFRESH_DELAY
    clock_b.now = clock_a.now + REFRESH_LEASE + timedelta(seconds=1)
    slack_a, slack_b = FlakySlack(down=False), FlakySlack(down=False)
    replica_b = ProposalRefresher(_services(network, clock_b), slack_b)  # type: ignore[arg-type]
    real = network.service.current_view
    stalled: list[int] = []

    def stalling(session: Any, *, proposal_id: int, now: datetime) -> Any:
        view = real(session, proposal_id=proposal_id, now=now)
        if not stalled:  # A has read; B passes meanwhile, after A's lease ran out
            stalled.append(proposal_id)
            assert replica_b.refresh_due() == 1
        return view

    network.service.current_view = stalling  # type: ignore[method-assign]
    assert ProposalRefresher(_services(network, clock_a), slack_a).refresh_due() == 0  # type: ignore[arg-type]
    assert stalled == [proposal_id]
    assert slack_a.updates == [] and len(slack_b.updates) == 1


def test_an_invite_recorded_while_an_older_render_is_under_way_is_drawn_after_it(network: Network) -> None:
    """A job pass reads the proposal open; meanwhile staff invite people from Slack (whose posts are updated at
    once). The pass's older render, still under its claim, lands after that update with the invite button — so the
    invitation recorded the posts again, and the next pass draws them invited, naming the channel."""
    proposal_id = _recorded(network)
    clock = Clock(LATER)
    clock.now = LATER + REFRESH_DELAY
    slack = FlakySlack(down=False)
    staff = Actor.slack("USTAFF001", is_staff=True)
    real = network.service.current_view
    invited: list[int] = []

    def inviting(session: Any, *, proposal_id: int, now: datetime) -> Any:
        view = real(session, proposal_id=proposal_id, now=now)
        if not invited:  # read open; the invitation is recorded before this render is sent
            invited.append(proposal_id)
            with network.database.session() as other:
                network.service.record_invite(
                    other, actor=staff, proposal_id=proposal_id, channel_id="CWORK", invited=[], created=True, now=now
                )
        return view

    network.service.current_view = inviting  # type: ignore[method-assign]
    refresher = ProposalRefresher(_services(network, clock), slack)  # type: ignore[arg-type]
    assert refresher.refresh_due() == 1
    (stale,) = slack.updates
    assert ids.ACTION_NEEDS_INVITE in repr(stale["blocks"])  # the older render: open, with its buttons
    assert _pending(network) == [proposal_id]  # not forgotten: the invitation came after what it read
    clock.now += REFRESH_LEASE
    assert refresher.refresh_due() == 1
    drawn = slack.updates[-1]
    assert (drawn["channel"], drawn["ts"]) == (stale["channel"], stale["ts"])
    shown = repr(drawn["blocks"])
    assert ids.ACTION_NEEDS_INVITE not in shown and "<#CWORK>" in shown and ids.ACTION_NEEDS_DONE in shown
    assert _pending(network) == []


@pytest.mark.parametrize("slack_down", [False, True])
def test_an_invitation_draws_its_posts_once(network: Network, slack_down: bool) -> None:
    """Staff invite from Slack while no redraw of the proposal waits: the invitation's confirmation draws the
    triage post (who invited how many, to where, without the invite button), under the refresh the record made due,
    and the job runner does not draw it again. When Slack fails that update, the confirmation is not held up: the
    job runner draws the post later, once."""
    proposal_id, _ = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    services = dataclasses.replace(
        _services(network, clock), settings=Settings(staff_user_ids=frozenset({STAFF}), triage_channel_id=TRIAGE)
    )
    updates: list[dict[str, Any]] = []
    failing = [slack_down]

    class Counting(FakeSlack):
        def conversations_info(self, **kwargs: Any) -> dict[str, Any]:
            return {"channel": {"id": kwargs["channel"], "is_private": False}}

        def chat_update(self, **kwargs: Any) -> dict[str, Any]:
            if failing.pop() if failing else False:
                raise slack_error("chat.update", "internal_error", status=500)
            updates.append(kwargs)
            return super().chat_update(**kwargs)

    submit_invite(services, proposal_id)
    slack = Counting()
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        (row,) = due(services.db, after=timedelta(0))
        assert worker.process(row, claim="test/0:00:00") is True
    finally:
        worker.pool.shutdown()
    channel = slack.channels["werksessie-leegstand"]
    refresher = ProposalRefresher(services, slack)  # type: ignore[arg-type]
    if slack_down:
        assert updates == [] and _pending(network) == [proposal_id]  # left to the job runner
        clock.now += REFRESH_DELAY * 2
        assert refresher.refresh_due() == 1
    (drawn,) = updates
    assert (drawn["channel"], drawn["ts"]) == (TRIAGE, "1.1") and f"<#{channel}>" in repr(drawn["blocks"])
    assert ids.ACTION_NEEDS_INVITE not in repr(drawn["blocks"]) and ids.ACTION_NEEDS_DONE in repr(drawn["blocks"])
    assert ("nodigde" in repr(drawn["blocks"])) != slack_down  # the confirmation's line: who invited how many
    assert _pending(network) == []  # nothing left for the job runner
    clock.now += REFRESH_DELAY * 10
    assert refresher.refresh_due() == 0 and len(updates) == 1
