"""Staff dismiss a proposed work session, or mark it done, from Slack: its posts are drawn once — by the action's
confirmation, under the refresh the close recorded (``ProposalRefresher.refresh_now``), not again by the job runner
a couple of minutes later. When Slack fails that update, the job runner draws them later, once; when a redraw was
already waiting, that one wins and draws the closed state. A close on the command line is drawn by the job runner's
next pass. Through the real listener, inbox worker, needs service and refresher (Slack's answers recorded)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from slack_bolt import Ack, BoltContext

from bot.cli import main
from bot.config import Settings
from bot.privacy.channels import REFRESH_DELAY
from handlers import claims, ids, needs
from handlers.errors import VERIFIED
from handlers.forms import NeedsDoneForm
from handlers.inbox import InboxWorker
from handlers.listener import listener
from handlers.needs_refresh import ProposalRefresher
from handlers.services import Services
from tests.clock import Clock
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import STAFF, FakeSlack, due, slack_error
from tests.needs.test_queued_proposal import TRIAGE, _queued
from tests.needs.test_refresh_durable import LATER, _pending, _posted, _services

NOTES = "https://intranet.example.org/werksessie-leegstand"


class Counting(FakeSlack):
    """Records each post update; the first fails on Slack's side while ``failing`` holds True."""

    def __init__(self, *, failing: bool = False) -> None:
        super().__init__()
        self.updates: list[dict[str, Any]] = []
        self.failing = [failing]

    def conversations_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"channel": {"id": kwargs["channel"], "is_private": False}}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        if self.failing.pop() if self.failing else False:
            raise slack_error("chat.update", "internal_error", status=500)
        self.updates.append(kwargs)
        return super().chat_update(**kwargs)


def _dismiss(services: Services, proposal_id: int) -> None:
    body = {
        "type": "block_actions",
        "user": {"id": STAFF},
        "trigger_id": "TDISMISS",
        "container": {"type": "message", "channel_id": TRIAGE, "message_ts": "1.1"},
        "actions": [
            {
                "action_id": ids.ACTION_NEEDS_DISMISS,
                "value": str(proposal_id),
                "block_id": f"{ids.BLOCK_NEEDS_PROPOSAL}:{proposal_id}",
            }
        ],
    }
    serve = listener(services, "action", needs.handle_dismiss, subject=claims.PROPOSAL, deferred=True)
    _serve(serve, body)


def _done(services: Services, proposal_id: int) -> None:
    body = {
        "type": "view_submission",
        "user": {"id": STAFF, "name": "staff"},
        "view": {
            "id": "VDONE",
            "hash": "h1",
            "callback_id": ids.VIEW_NEEDS_DONE,
            "private_metadata": json.dumps({"proposal_id": proposal_id}),
            "blocks": [],
            "state": {
                "values": {ids.BLOCK_NEEDS_NOTES: {ids.INPUT_NEEDS_NOTES: {"type": "plain_text_input", "value": NOTES}}}
            },
        },
    }
    serve = listener(
        services, "view", needs.handle_done_submission, form=NeedsDoneForm, deferred=True, check=needs.check_done_form
    )
    _serve(serve, body)


def _serve(serve: Any, body: dict[str, Any]) -> None:
    context = BoltContext(user_id=STAFF)
    context[VERIFIED] = True
    ack = Ack()
    serve(ack=ack, body=body, client=FakeSlack(), context=context, respond=None)
    assert ack.response is not None and ack.response.status == 200


def _run(services: Services, slack: Counting) -> None:
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        (row,) = due(services.db, after=timedelta(0))
        assert worker.process(row, claim="test/0:00:00") is True
    finally:
        worker.pool.shutdown()


def _setup(network: Network) -> tuple[int, Clock[datetime], Services]:
    proposal_id, _ = _queued(network)
    clock = Clock(LATER)
    _posted(network, clock)
    services = dataclasses.replace(
        _services(network, clock), settings=Settings(staff_user_ids=frozenset({STAFF}), triage_channel_id=TRIAGE)
    )
    return proposal_id, clock, services


CLOSES = {"dismiss": (_dismiss, ids.ACTION_NEEDS_DISMISS), "done": (_done, ids.ACTION_NEEDS_DONE)}


@pytest.mark.parametrize("slack_down", [False, True])
@pytest.mark.parametrize("close", sorted(CLOSES))
def test_a_close_from_slack_draws_its_posts_once(network: Network, close: str, slack_down: bool) -> None:
    proposal_id, clock, services = _setup(network)
    act, _ = CLOSES[close]
    act(services, proposal_id)
    slack = Counting(failing=slack_down)
    _run(services, slack)
    refresher = ProposalRefresher(services, slack)  # type: ignore[arg-type]
    if slack_down:
        assert slack.updates == [] and _pending(network) == [proposal_id]  # left to the job runner
        clock.now += REFRESH_DELAY * 2
        assert refresher.refresh_due() == 1
    (drawn,) = slack.updates
    shown = repr(drawn["blocks"])
    assert (drawn["channel"], drawn["ts"]) == (TRIAGE, "1.1") and f"<@{STAFF}>" in shown
    assert all(a not in shown for a in (ids.ACTION_NEEDS_INVITE, ids.ACTION_NEEDS_DONE, ids.ACTION_NEEDS_DISMISS))
    assert _pending(network) == []  # nothing left for the job runner
    clock.now += REFRESH_DELAY * 10
    assert refresher.refresh_due() == 0 and len(slack.updates) == 1


def test_a_redraw_already_waiting_wins_and_draws_the_closed_state(network: Network) -> None:
    """A change recorded before the dismissal (a question withdrawn) waits for the job runner: the dismissal does not
    draw the posts itself (a render read before it may still be under way); the job runner's pass draws them once,
    dismissed."""
    proposal_id, clock, services = _setup(network)
    with network.database.session() as session:
        question_ids = [q.id for q in network.questions.values()]
        assert network.service.mark_for_refresh(session, question_ids=question_ids, now=LATER) == [proposal_id]
    _dismiss(services, proposal_id)
    slack = Counting()
    _run(services, slack)
    assert slack.updates == [] and _pending(network) == [proposal_id]
    clock.now += REFRESH_DELAY
    refresher = ProposalRefresher(services, slack)  # type: ignore[arg-type]
    assert refresher.refresh_due() == 1
    (drawn,) = slack.updates
    assert ids.ACTION_NEEDS_DISMISS not in repr(drawn["blocks"]) and f"<@{STAFF}>" in repr(drawn["blocks"])
    assert _pending(network) == []


def test_a_close_on_the_command_line_is_drawn_by_the_next_pass(network: Network) -> None:
    proposal_id, clock, services = _setup(network)
    done = CliRunner().invoke(main, ["--database", network.database.url, "needs", "dismiss", str(proposal_id)])
    assert done.exit_code == 0, done.output
    slack = Counting()
    clock.now = datetime.now(UTC) + timedelta(seconds=1)  # the command closed it at the real time
    refresher = ProposalRefresher(services, slack)  # type: ignore[arg-type]
    assert refresher.refresh_due() == 1  # not two minutes later
    (drawn,) = slack.updates
    assert ids.ACTION_NEEDS_DISMISS not in repr(drawn["blocks"])
    clock.now += REFRESH_DELAY * 10
    assert refresher.refresh_due() == 0 and len(slack.updates) == 1
