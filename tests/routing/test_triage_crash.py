"""Staff close or assign a question from the triage post in Slack: the close is a modal submission, the assignment
a click (a person picked; "assign anyway" the same), each recorded in the inbox and run from that record, and the
update of the triage post (the outcome shown, the buttons gone) is saved on the record before the change commits. A
crash right after the commit still gets the post updated, once, by the record's retry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import inbox as core
from bot.config import Settings
from bot.network import Network
from handlers import claims, ids, recorded, routing
from handlers.errors import VERIFIED
from handlers.forms import TriageCloseForm
from handlers.inbox import InboxJob
from handlers.listener import listener
from handlers.requestspec import Kind
from handlers.services import Services
from storage import inbox_repo, question_repo
from storage.models import QuestionStatus
from tests.routing.conftest import World
from tests.routing.test_cli_staff_posts import POST_TS, TRIAGE, _posted_escalated

STAFF = "USTAFF01"


def _services(world: World) -> Services:
    channels = mock.MagicMock()
    channels.is_shared_outside.return_value = False
    settings = Settings(triage_channel_id=TRIAGE, default_language="nl", staff_user_ids=frozenset({STAFF}))
    services = Services(settings=settings, db=world.db, knowledge=world.kb, routing=world.service, channels=channels)
    services.home.network = Network(team_id="T0HOME001")
    return services


def _submit_close(services: Services, question_id: int) -> None:
    body = {
        "type": "view_submission",
        "user": {"id": STAFF, "name": "staff"},
        "view": {
            "id": "V0CLOSE1",
            "hash": "h1",
            "callback_id": ids.VIEW_TRIAGE_CLOSE,
            "private_metadata": json.dumps({"question_id": question_id}),
            "blocks": [],
            "state": {"values": {ids.BLOCK_TRIAGE_NOTE: {ids.INPUT_TRIAGE_NOTE: {"value": "Geen beleidsvraag."}}}},
        },
    }
    bolt_listener = listener(
        services,
        "view",
        routing.handle_triage_close_submission,
        form=TriageCloseForm,
        deferred=True,
        callback_id=ids.VIEW_TRIAGE_CLOSE,
    )
    context = BoltContext(user_id=STAFF)
    context[VERIFIED] = True
    bolt_listener(ack=Ack(), body=body, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]


def _pick(services: Services, question_id: int, user_id: str) -> None:
    body = {
        "type": "block_actions",
        "user": {"id": STAFF, "name": "staff"},
        "trigger_id": "1.2.assign",
        "channel": {"id": TRIAGE},
        "actions": [
            {
                "action_id": ids.ACTION_TRIAGE_ASSIGN,
                "block_id": f"{ids.BLOCK_TRIAGE_ACTIONS}:{question_id}",
                "selected_user": user_id,
            }
        ],
    }
    bolt_listener = listener(
        services,
        Kind.ACTION,
        routing.handle_triage_assign,
        claim=lambda body: claims.picked_user(body, claims.TRIAGE),
        deferred=True,
    )
    context = BoltContext(user_id=STAFF, channel_id=TRIAGE)
    context[VERIFIED] = True
    bolt_listener(ack=Ack(), body=body, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]


def _job(services: Services, client: Any) -> InboxJob:
    now = datetime.now(UTC)
    [row] = core.claim_requests(services.db, now=now, claim="w/1", limit=10, stale_before=now - timedelta(minutes=2))
    return InboxJob(services=services, client=client, request=row, worker_id="w/1", now=now)


def _triage_updates(client: mock.MagicMock) -> list[Any]:
    calls = client.chat_update.call_args_list
    return [c for c in calls if (c.kwargs["channel"], c.kwargs["ts"]) == (TRIAGE, POST_TS)]


def test_a_close_killed_right_after_its_commit_still_gets_the_triage_post_updated_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    qid = _posted_escalated(world)
    services = _services(world)
    _submit_close(services, qid)
    client = mock.MagicMock()
    job = _job(services, client)

    def killed(job: InboxJob) -> None:
        raise RuntimeError("killed right after the commit")

    monkeypatch.setattr(recorded, "send_confirmations", killed)
    with pytest.raises(RuntimeError, match="killed"):
        recorded.run_submission(job)
    monkeypatch.undo()
    with world.db.session() as s:  # the close stands, the post still shows its buttons
        assert question_repo.get_question(s, question_id=qid).status is QuestionStatus.CLOSED  # type: ignore[union-attr]
    assert _triage_updates(client) == []

    recorded.run_submission(_job_again(services, job, client))  # the record run again, as after the crash
    recorded.run_submission(_job_again(services, job, client))  # and once more: nothing doubled
    [update] = _triage_updates(client)
    shown = update.kwargs["text"] + json.dumps(update.kwargs["blocks"])
    assert f"<@{STAFF}>" in shown and ids.ACTION_TRIAGE_CLOSE not in shown


def _job_again(services: Services, job: InboxJob, client: Any) -> InboxJob:
    """The same record, read afresh (what the earlier run saved on it included)."""
    with services.db.inbox_session() as s:
        row = inbox_repo.get_inbox_request(s, request_key=job.key)
        assert row is not None
        s.expunge(row)
    return InboxJob(services=services, client=client, request=row, worker_id="w/1", now=datetime.now(UTC))


def test_an_assignment_killed_right_after_its_commit_still_gets_the_triage_post_updated_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    qid = _posted_escalated(world)
    services = _services(world)
    _pick(services, qid, "UEMMA")
    client = mock.MagicMock()
    client.users_info.return_value = {"user": {"id": "UEMMA", "team_id": "T0HOME001"}}
    job = _job(services, client)

    def killed(job: InboxJob) -> None:
        raise RuntimeError("killed right after the commit")

    monkeypatch.setattr(recorded, "send_confirmations", killed)
    with pytest.raises(RuntimeError, match="killed"):
        recorded.run_change(job)
    monkeypatch.undo()
    with world.db.session() as s:
        assert question_repo.get_question(s, question_id=qid).status is QuestionStatus.ROUTED  # type: ignore[union-attr]
    assert _triage_updates(client) == []

    recorded.run_change(_job_again(services, job, client))
    recorded.run_change(_job_again(services, job, client))
    [update] = _triage_updates(client)
    shown = update.kwargs["text"] + json.dumps(update.kwargs["blocks"])
    assert f"<@{STAFF}>" in shown and "<@UEMMA>" in shown and ids.ACTION_TRIAGE_CLOSE not in shown
