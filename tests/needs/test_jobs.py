"""The knowledge-needs pass in ``wieweet run``'s background jobs: time injected, proposals queued and sent."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import Settings
from bot.jobs import JobRunner
from bot.needs.jobs import NeedsPass
from bot.routing import RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import NeedProposal, OutboxKind, OutboxMessage
from tests.clock import Clock
from tests.needs.conftest import NOW, Network


def runner(network: Network, clock: Clock[datetime], *, needs: bool = True) -> JobRunner:
    services = Services(
        settings=Settings(), db=network.database, knowledge=network.knowledge, clock=clock, needs=network.service
    )
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")  # nothing listens: sending fails
    return JobRunner(
        services,
        routing=RoutingService(knowledge=network.knowledge),
        sender=OutboxSender(services, client),
        worker_id="test",
        needs=NeedsPass(network.database, network.service, worker_id="test") if needs else None,
    )


def test_the_needs_job_groups_at_the_injected_time_and_queues_one_proposal(network: Network) -> None:
    clock = Clock(NOW)
    jobs = runner(network, clock)
    result = jobs.run_needs_pass()
    assert result is not None and result.ran and result.placed == 8 and len(result.proposals) == 1
    with network.database.session() as session:
        proposal = session.get(NeedProposal, result.proposals[0])
        assert proposal is not None and proposal.created_at.replace(tzinfo=NOW.tzinfo) == NOW
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.NEEDS_PROPOSAL)).all()
        assert len(rows) == 1  # queued (sending failed here: it stays in the outbox for the next pass)

    clock.now = NOW + timedelta(minutes=5)
    again = jobs.run_needs_pass()
    assert again is not None and (again.placed, again.proposals) == (0, ())
    jobs.run_pass()  # the regular pass is unaffected


def test_without_needs_the_runner_has_no_needs_job(network: Network) -> None:
    jobs = runner(network, Clock(NOW), needs=False)
    assert jobs.run_needs_pass() is None
    with network.database.session() as session:
        assert session.scalars(select(NeedProposal)).all() == []
