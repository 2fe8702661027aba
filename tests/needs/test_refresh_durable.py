"""A proposal's posts updated after a question of its topic was made private (the daily channel check, Slack's
event) or withdrawn: the update that meets a passing failure on Slack's side is recorded with the change in the
database, so another process — or this one after a restart — makes it later. Through the real needs service,
outbox, reconcile and refresher (Slack's answers recorded, not called)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select

from bot.config import Settings
from bot.needs.core import NeedsConfig
from bot.needs.model import ProposalView
from bot.outbox import claim_outbox
from bot.privacy import mark_channel_private, reconcile_channel_privacy
from bot.privacy.channels import REFRESH_DELAY
from bot.routing.service import RoutingService
from handlers.deactivated import person_gone_after_send
from handlers.needs_refresh import ProposalRefresher
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import proposal_refresh_repo
from storage.db import Database
from storage.models import NeedProposalRefresh, OutboxKind, Question, QuestionStatus
from storage.session import Session
from tests.clock import Clock
from tests.needs.conftest import NOW, Network, build_network
from tests.needs.test_queued_proposal import TRIAGE, Slack, _queued

LATER = NOW + timedelta(minutes=5)


class FlakySlack(Slack):
    """``chat.update`` fails on Slack's side while ``down``; updates recorded."""

    def __init__(self, *, down: bool) -> None:
        super().__init__()
        self.down = down
        self.updates: list[dict[str, object]] = []

    def chat_update(self, **kwargs: object) -> dict[str, object]:
        if self.down:
            response = SlackResponse(
                client=None, http_verb="POST", api_url="", req_args={}, data={"ok": False, "error": "fatal_error"},
                headers={}, status_code=500,
            )  # fmt: skip
            raise SlackApiError("fatal_error", response)
        self.updates.append(kwargs)
        return {"ok": True}


def _services(network: Network, clock: Clock[datetime]) -> Services:
    settings = Settings(staff_user_ids=frozenset({"USTAFF001"}), triage_channel_id=TRIAGE)
    return Services(
        settings=settings, db=network.database, knowledge=network.knowledge, clock=clock, needs=network.service
    )


def _posted(network: Network, clock: Clock[datetime]) -> None:
    """The vacancy-tax proposal posted in the triage channel."""
    sender = OutboxSender(_services(network, clock), Slack())  # type: ignore[arg-type]
    for message in claim_outbox(network.database, now=LATER, worker_id="w1"):
        if message.kind is OutboxKind.NEEDS_PROPOSAL:
            assert sender.send_one(message)


def _pending(network: Network) -> list[int]:
    with network.database.session() as session:
        return list(session.scalars(select(NeedProposalRefresh.proposal_id)))


def test_a_channel_found_private_by_the_daily_check_is_rendered_by_a_later_pass_of_any_process(
    network: Network,
) -> None:
    proposal_id, question = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    result = reconcile_channel_privacy(  # as the job runner runs it: the posts are not updated in the check
        network.database, lookup=lambda channel: channel == question.channel_id, now=LATER
    )
    assert result.private_channels == 1 and result.unrefreshed == []
    assert _pending(network) == [proposal_id]  # recorded with the change: in the database, not in memory

    restarted = FlakySlack(down=False)  # a new process (or another replica): nothing kept in memory
    refresher = ProposalRefresher(_services(network, clock), restarted)  # type: ignore[arg-type]
    assert refresher.refresh_due() == 0 and restarted.updates == []  # not due yet
    clock.now = LATER + REFRESH_DELAY
    assert refresher.refresh_due() == 1
    (update,) = restarted.updates
    assert (update["channel"], update["ts"]) == (TRIAGE, "1.1")
    shown = repr(update["blocks"]) + str(update["text"])
    assert question.text not in shown and "UKORTRIJK" not in shown
    assert _pending(network) == []
    assert refresher.refresh_due() == 0 and len(restarted.updates) == 1  # made once


def test_a_failing_refresh_is_tried_again_later_and_a_change_meanwhile_is_not_lost(network: Network) -> None:
    proposal_id, question = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    with network.database.session() as session:  # Slack's event: recorded with the change (``record_refresh``)
        assert question.channel_id
        items = mark_channel_private(session, channel_id=question.channel_id)
        assert network.service.mark_for_refresh(
            session, question_ids=items.question_ids, gap_ids=items.gap_ids, now=LATER
        ) == [proposal_id]
    slack = FlakySlack(down=True)
    refresher = ProposalRefresher(_services(network, clock), slack)  # type: ignore[arg-type]
    clock.now = LATER + REFRESH_DELAY
    assert refresher.refresh_due() == 0 and _pending(network) == [proposal_id]  # kept, later
    assert refresher.refresh_due() == 0  # not due again at once
    slack.down = False
    clock.now += REFRESH_DELAY * 2
    with network.database.session() as session:  # a second change meanwhile raises the mark: kept until rendered
        (due,) = proposal_refresh_repo.list_due_need_proposal_refreshes(session, now=clock.now)
        proposal_refresh_repo.upsert_need_proposal_refreshes(session, question_ids=[question.id], due_at=clock.now)
        proposal_refresh_repo.delete_need_proposal_refresh(session, proposal_id=proposal_id, mark=due[1])
    assert _pending(network) == [proposal_id]
    assert refresher.refresh_due() == 1 and _pending(network) == []


def test_a_deactivated_askers_withdrawn_question_is_recorded_and_its_proposal_rendered_again(
    network: Network,
) -> None:
    """Slack says the asker's account is deactivated (or a DM to them can never arrive): their questions with experts
    are withdrawn on their behalf, and, as for their own withdrawal, the live proposal quoting one is recorded in
    that transaction, so its posts count the question and no longer quote it or name its asker."""
    proposal_id, question = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    routing = RoutingService(knowledge=network.knowledge)
    with network.database.session() as session:
        outcome = routing.person_deactivated(session, slack_user_id="UKORTRIJK", reason="deleted", now=LATER).outcome
    assert "withdrawn 2" in outcome  # vacancy1 and cycling2
    with network.database.session() as session:
        found = session.get(Question, question.id)
        assert found is not None and found.status is QuestionStatus.CANCELLED
    assert _pending(network) == [proposal_id]
    slack = FlakySlack(down=False)
    clock.now = LATER + REFRESH_DELAY
    assert ProposalRefresher(_services(network, clock), slack).refresh_due() == 1  # type: ignore[arg-type]
    (update,) = slack.updates
    shown = repr(update["blocks"]) + str(update["text"])
    assert question.text not in shown and "UKORTRIJK" not in shown
    assert _pending(network) == []


def test_a_dm_refused_as_deactivated_records_the_proposal_for_the_job_runner(network: Network) -> None:
    """A DM to the asker refused with ``user_disabled``: their questions are withdrawn and the proposal quoting one
    is recorded with that change; it is rendered by the job runner's pass, not once per account that goes."""
    proposal_id, question = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    slack = FlakySlack(down=False)
    services = dataclasses.replace(_services(network, clock), routing=RoutingService(knowledge=network.knowledge))
    outcome = person_gone_after_send(services, slack, user_id="UKORTRIJK", now=LATER)  # type: ignore[arg-type]
    assert "withdrawn 2" in outcome
    assert slack.updates == [] and _pending(network) == [proposal_id]
    clock.now = LATER + REFRESH_DELAY
    assert ProposalRefresher(services, slack).refresh_due() == 1  # type: ignore[arg-type]
    (update,) = slack.updates
    assert (update["channel"], update["ts"]) == (TRIAGE, "1.1")
    shown = repr(update["blocks"]) + str(update["text"])
    assert question.text not in shown and "UKORTRIJK" not in shown
    assert _pending(network) == []


def test_an_error_on_one_row_puts_that_row_off_and_the_rows_after_it_still_run(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not only the Slack update: an error reading or rendering one proposal (a bad row) is logged with its id and
    that row is tried again later, as a failed update is; the other proposals waiting are rendered in the same pass."""
    network = build_network(database, config=NeedsConfig(min_organisations=2))  # the cycling streets proposed too
    try:
        _proposals_refreshed_past_a_bad_row(network, monkeypatch, caplog)
    finally:
        network.knowledge.close()  # the database is shared with the tests after this one (PostgreSQL)


def _proposals_refreshed_past_a_bad_row(
    network: Network, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    with network.database.session() as session:
        marked = network.service.mark_for_refresh(
            session, question_ids=[q.id for q in network.questions.values()], now=LATER
        )
        due = proposal_refresh_repo.list_due_need_proposal_refreshes(session, now=LATER + REFRESH_DELAY)
    assert len(marked) == len(due) == 2
    bad = due[0][0]  # the first of the pass
    real = network.service.current_view

    def broken(session: Session, *, proposal_id: int, now: datetime) -> ProposalView | None:
        if proposal_id == bad:
            raise ValueError("a bad row")
        return real(session, proposal_id=proposal_id, now=now)

    monkeypatch.setattr(network.service, "current_view", broken)
    slack = FlakySlack(down=False)
    refresher = ProposalRefresher(_services(network, clock), slack)  # type: ignore[arg-type]
    clock.now = LATER + REFRESH_DELAY
    assert refresher.refresh_due() == 1 and len(slack.updates) == 1  # the row after the bad one
    assert _pending(network) == [bad]
    assert f"proposal {bad}: rendering its posts again failed" in caplog.text
    with network.database.session() as session:
        assert proposal_refresh_repo.list_due_need_proposal_refreshes(session, now=clock.now) == []  # put off
        row = session.get(NeedProposalRefresh, bad)
        assert row is not None and row.tries == 1
    monkeypatch.undo()
    clock.now += REFRESH_DELAY * 2
    assert refresher.refresh_due() == 1 and _pending(network) == []
