"""A click that changes something is recorded in the inbox before its ack (nothing on the main database first) and
run once from the record; the record id it claims is checked well formed before the ack, and against the database
for the clicking user by the worker, which tells a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlalchemy import select

from bot import inbox as core
from bot.actors import NotAuthorized
from bot.config import Settings
from bot.errors import WieweetError
from bot.knowledge import KnowledgeBase
from handlers import claims, ids
from handlers.errors import VERIFIED
from handlers.inbox import InboxWorker
from handlers.listener import listener
from handlers.recorded import CHANGE_KIND
from handlers.services import Services
from handlers.turn import Turn
from storage.db import Database
from storage.models import InboxRequest, ProcessedEvent, Theme
from tests.slack.test_deferred_submissions import FakeSlack


def keep(turn: Turn, practice_id: int) -> None:
    """A stand-in for a state-changing button: only practice 7 is this user's; it stores a row and says so."""
    if practice_id != 7:
        raise NotAuthorized("keep a practice", target=f"practice:{practice_id}")
    turn.session.add(Theme(key=f"proef-{practice_id}", label_nl="x", label_en="x", synonyms=[]))
    turn.session.flush()
    turn.tell(f"kept {practice_id}")


def click(value: str, *, trigger: str, block: str | None = None) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0ONE"},
        "trigger_id": trigger,
        "container": {"type": "message", "channel_id": "D0ONE", "message_ts": "1.0"},
        "actions": [{"action_id": "keep", "value": value, "block_id": block or f"{ids.PRACTICE_BLOCKS[0]}:{value}"}],
        "message": {"text": "someone's message, not kept"},
    }


class Report:
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def __call__(self, error: BaseException, *_args: Any) -> None:
        self.errors.append(error)


def serve(services: Services, payload: dict[str, Any], at_ack: list[list[str]]) -> Ack:
    class RecordingAck(Ack):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            at_ack.append(recorded(services))
            return super().__call__(*args, **kwargs)

    ack = RecordingAck()
    bolt_listener = listener(services, "action", keep, subject=claims.PRACTICE, deferred=True)
    context = BoltContext(user_id="U0ONE", channel_id="D0ONE")
    context[VERIFIED] = True
    with mock.patch.object(services.db, "session", side_effect=AssertionError("main database before the ack")):
        bolt_listener(ack=ack, body=payload, client=WebClient(token="xoxb-test"), context=context, respond=None)
    return ack


def recorded(services: Services) -> list[str]:
    with services.db.inbox_session() as session:
        rows = session.scalars(select(InboxRequest).where(InboxRequest.kind == CHANGE_KIND))
        return [row.request_key for row in rows]


def pending(services: Services) -> list[InboxRequest]:
    now = datetime.now(UTC)
    return core.claim_requests(services.db, now=now, claim="test/1", limit=10, stale_before=now - timedelta(minutes=2))


def state(services: Services) -> tuple[list[str], list[str]]:
    with services.db.session() as session:
        kept = list(session.scalars(select(Theme.key).where(Theme.key.like("proef-%"))))
        claimed = list(
            session.scalars(select(ProcessedEvent.event_key).where(ProcessedEvent.event_key.like("action:%")))
        )
    return kept, claimed


def test_a_click_is_recorded_before_its_ack_and_run_once_from_the_record(database: Database) -> None:
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))
    at_ack: list[list[str]] = []
    ack = serve(services, click("7", trigger="T1"), at_ack)
    assert ack.response is not None and ack.response.status == 200
    assert at_ack == [["action:T1"]]  # durable when Slack got its ack; the main database untouched before it
    serve(services, click("7", trigger="T1"), at_ack)  # the same click again (a replay, Slack's retry)
    assert recorded(services) == ["action:T1"]
    [row] = pending(services)
    assert "message" not in row.payload["body"]  # the clicked message's content is not kept
    slack = FakeSlack()
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(row, claim="test/1")
    finally:
        worker.pool.shutdown()
    assert state(services) == (["proef-7"], ["action:T1"])  # changed once, its delivery claimed with the change
    assert [p["text"] for p in slack.posts] == ["kept 7"]  # no response_url: told by DM


def test_a_foreign_id_is_refused_from_the_record_and_the_clicker_told(database: Database) -> None:
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))
    at_ack: list[list[str]] = []
    serve(services, click("8", trigger="T2"), at_ack)
    assert at_ack == [["action:T2"]]
    slack = FakeSlack()
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(pending(services)[0], claim="test/1")  # finished: told, not retried
    finally:
        worker.pool.shutdown()
    assert state(services) == ([], [])
    [told] = slack.posts
    assert told["channel"] == "D0ONE" and told["text"]


def test_a_malformed_claim_is_refused_before_the_ack_and_not_recorded(database: Database) -> None:
    report = Report()
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), report_error=report)
    at_ack: list[list[str]] = []
    ack = serve(
        services, click("7", trigger="T3", block=f"{ids.PRACTICE_BLOCKS[0]}:8"), at_ack
    )  # block and value differ
    assert ack.response is not None and at_ack == [[]]
    assert recorded(services) == []
    [error] = report.errors
    assert isinstance(error, WieweetError)  # told to the clicker and logged by the global error handler


def test_the_forget_button_claims_a_slack_user_id_from_its_value() -> None:
    """ "Forget me" is recorded like the other changes: its value must look like a Slack user id before the ack
    (whose it is, the service checks from the record)."""
    body = click("U0ONE", trigger="t.forget")
    assert claims.own_user(body) == "U0ONE"
    for forged in ("", "12", "U0ONE; DROP", "u0one", None):
        body["actions"][0]["value"] = forged
        with pytest.raises(NotAuthorized):
            claims.own_user(body)
