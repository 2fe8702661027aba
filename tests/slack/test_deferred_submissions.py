"""Deferred modal submissions (``listener(..., deferred=True)``): checked without the database, recorded in the inbox
and acked; run once from the record by the inbox worker, also when it is run again after a crash; a refusal after the
ack is told by DM with what was typed quoted. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlalchemy import select

from bot import inbox as core
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.errors import VERIFIED
from handlers.forms import Draft, state_values, text_value
from handlers.inbox import InboxJob, InboxWorker
from handlers.listener import listener
from handlers.recorded import run_submission
from handlers.services import Services
from handlers.turn import Turn
from storage.db import Database
from storage.models import InboxRequest, ProcessedEvent, Theme


@dataclass(frozen=True)
class NameForm:
    ERROR_BLOCK: ClassVar[str] = "name_block"
    name: str

    @classmethod
    def parse(cls, body: Mapping[str, Any]) -> NameForm:
        return cls(name=text_value(state_values(body), "name_block", "name_input").strip())


def check(form: NameForm, draft: Draft) -> dict[str, str]:
    return {} if form.name else {"name_block": f"required ({draft.lang})"}


def save_theme(turn: Turn, form: NameForm) -> None:
    if form.name == "taken":
        turn.form_errors({"name_block": "This name is taken."})  # what only the database can say
    turn.session.add(Theme(key=f"proef-{form.name}", label_nl=form.name, label_en=form.name, synonyms=[]))
    turn.session.flush()
    turn.dm(f"saved {form.name}")


class FakeSlack:
    """Just what the worker calls to tell a user something (a DM)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        return {"user": {"id": kwargs["user"], "locale": "en-GB"}}

    def conversations_open(self, **kwargs: Any) -> dict[str, Any]:
        return {"channel": {"id": "D0ONE"}}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.posts.append(kwargs)
        return {"channel": kwargs["channel"], "ts": f"{len(self.posts)}.0"}


def body(view_id: str, name: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "U0ONE", "name": "one"},
        "view": {
            "id": view_id,
            "hash": "h1",
            "callback_id": "trial",
            "private_metadata": "",
            "blocks": [{"block_id": "name_block", "type": "input", "label": {"type": "plain_text", "text": "Name"}}],
            "state": {"values": {"name_block": {"name_input": {"type": "plain_text_input", "value": name}}}},
        },
    }


def services_for(database: Database) -> Services:
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def submit(services: Services, payload: dict[str, Any]) -> Ack:
    ack = Ack()
    bolt_listener = listener(services, "view", save_theme, form=NameForm, deferred=True, check=check)
    context = BoltContext(user_id="U0ONE")
    context[VERIFIED] = True
    bolt_listener(ack=ack, body=payload, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    return ack


def pending(services: Services) -> list[InboxRequest]:
    now = datetime.now(UTC)
    return core.claim_requests(services.db, now=now, claim="test/1", limit=10, stale_before=now - timedelta(minutes=2))


def themes(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(Theme.key).where(Theme.key.like("proef-%"))))


def claims(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(ProcessedEvent.event_key).where(ProcessedEvent.event_key.like("view:%"))))


def test_a_submission_is_recorded_before_its_ack_and_run_once_from_the_record(database: Database) -> None:
    services = services_for(database)
    slack = FakeSlack()
    ack = submit(services, body("V1", "alpha"))
    assert ack.response is not None and ack.response.status == 200 and not ack.response.body  # closed
    assert themes(services) == [] and claims(services) == []  # nothing on the main database before the ack
    assert submit(services, body("V1", "alpha")).response is not None  # the replay: acked, not recorded again
    rows = pending(services)
    assert len(rows) == 1
    job = InboxJob(services=services, client=slack, request=rows[0], worker_id="test/1", now=datetime.now(UTC))  # type: ignore[arg-type]
    run_submission(job)
    run_submission(job)  # run again from the same record, as after a crash between the commit and "done"
    assert themes(services) == ["proef-alpha"] and claims(services) == ["view:V1:h1"]
    assert [p["text"] for p in slack.posts] == ["saved alpha"]  # the confirmation, once


def test_a_form_refused_on_its_fields_records_nothing_and_the_corrected_one_counts(database: Database) -> None:
    services = services_for(database)
    refused = submit(services, body("V2", "  "))
    assert refused.response is not None and "required" in str(refused.response.body)
    assert pending(services) == []
    corrected = submit(services, body("V2", "beta"))  # same view id and hash: Slack keeps them on a refused form
    assert corrected.response is not None and not corrected.response.body
    assert len(pending(services)) == 1


def test_a_refusal_after_the_ack_is_told_by_dm_with_the_input_quoted(database: Database) -> None:
    services = services_for(database)
    slack = FakeSlack()
    submit(services, body("V3", "taken"))
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(pending(services)[0], claim="test/1")  # finished: told, not retried
    finally:
        worker.pool.shutdown()
    assert themes(services) == [] and claims(services) == []
    (told,) = slack.posts
    assert "This name is taken." in told["text"] and "*Name*\n> taken" in told["text"]


def test_huge_input_is_refused_on_the_form_and_not_recorded(database: Database) -> None:
    services = services_for(database)
    ack = submit(services, body("V4", "x" * 50_000))
    assert ack.response is not None and "name_block" in str(ack.response.body)
    assert pending(services) == []


def test_the_record_names_the_modal_not_the_function_and_an_unknown_one_is_told_once(database: Database) -> None:
    """Issue 12 review: the record keys its handler by the view's callback_id (a renamed function, or a replica
    with other features, does not strand it); a record no handler here knows is logged and told once by DM with
    the input quoted — finished, not retried six times."""
    services = services_for(database)
    slack = FakeSlack()
    serve = listener(services, "view", save_theme, form=NameForm, deferred=True, check=check, callback_id="trial")
    context = BoltContext(user_id="U0ONE")
    context[VERIFIED] = True
    serve(ack=Ack(), body=body("V5", "gamma"), client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    serve(ack=Ack(), body=body("V6", "delta"), client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    known, unknown = pending(services)
    assert known.payload["handler"] == "trial"
    unknown.payload = {**unknown.payload, "handler": "a_modal_this_replica_does_not_offer"}
    worker = InboxWorker(services, slack, threads=1)  # type: ignore[arg-type]
    try:
        assert worker.process(known, claim="test/1")
        assert worker.process(unknown, claim="test/1")  # finished at the first attempt: told, not retried
    finally:
        worker.pool.shutdown()
    assert themes(services) == ["proef-gamma"]
    assert slack.posts[0]["text"] == "saved gamma"
    (told,) = slack.posts[1:]
    assert "*Name*\n> delta" in told["text"]
    with services.db.inbox_session() as session:
        row = session.get(InboxRequest, unknown.id)
        assert row is not None and row.done_at is not None and row.attempts <= 1
