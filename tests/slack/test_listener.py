"""The listener wrapper: one transaction per request, and errors reach the global handler without losing the ack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy import select

from bot.config import Settings
from bot.errors import WieweetError
from bot.knowledge import KnowledgeBase
from handlers.listener import listener
from handlers.services import Services
from handlers.turn import Turn
from storage.db import Database
from storage.models import Theme


@pytest.fixture
def services(tmp_path: Path) -> Services:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def call(services: Services, handler: Any, ack: Ack) -> BoltContext:
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    bolt_listener = listener(services, "action", handler)
    bolt_listener(ack=ack, body={}, client=WebClient(token="xoxb-test"), context=context, respond=None)  # type: ignore[arg-type]
    return context


def add_theme(turn: Turn) -> None:
    turn.session.add(Theme(key="proef", label_nl="Proef", label_en="Trial", synonyms=[]))
    turn.session.flush()


def themes(services: Services) -> list[str]:
    with services.db.session() as session:
        return list(session.scalars(select(Theme.key).where(Theme.key == "proef")))


def test_a_request_commits_its_work(services: Services) -> None:
    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)

    call(services, handler, Ack())
    assert themes(services) == ["proef"]


def test_error_after_ack_goes_to_the_global_handler_keeps_the_ack_and_rolls_back(services: Services) -> None:
    reported: list[BaseException] = []
    services = replace(services, report_error=lambda error, body, context, client: reported.append(error))
    refusal = WieweetError("not_staff", "no")

    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        raise refusal

    ack = Ack()
    call(services, handler, ack)  # does not raise: Bolt would reset the ack while handling it
    assert ack.response is not None and ack.response.status == 200
    assert reported == [refusal]
    assert themes(services) == []  # nothing half-saved


def test_error_before_ack_is_left_to_bolt(services: Services) -> None:
    reported: list[BaseException] = []
    services = replace(services, report_error=lambda error, body, context, client: reported.append(error))

    def handler(turn: Turn) -> None:
        add_theme(turn)
        raise WieweetError("bad", "before ack")

    with pytest.raises(WieweetError):
        call(services, handler, Ack())
    assert reported == [] and themes(services) == []


def test_after_commit_work_runs_only_when_committed_and_cannot_undo_the_change(services: Services) -> None:
    ran: list[str] = []

    def failing_notice() -> None:
        ran.append("notice")
        raise OSError("Slack is down")

    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        turn.after_commit(failing_notice)
        turn.after_commit(lambda: ran.append("second"))

    call(services, handler, Ack())  # the failing notice is logged, not raised
    assert ran == ["notice", "second"] and themes(services) == ["proef"]


def test_after_commit_work_is_dropped_when_the_request_fails(services: Services) -> None:
    ran: list[str] = []
    services = replace(services, report_error=lambda error, body, context, client: None)

    def handler(turn: Turn) -> None:
        turn.ack()
        turn.after_commit(lambda: ran.append("told the user it worked"))
        raise WieweetError("profile_state", "too late")

    call(services, handler, Ack())
    assert ran == []


class RecordingRespond(Respond):
    """A response_url that records what was sent and whether the request's change was committed by then."""

    def __init__(self, services: Services) -> None:
        super().__init__(response_url="https://hooks.invalid/response")
        self.services = services
        self.sent: list[tuple[str, list[str]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((str(kwargs.get("text")), themes(self.services)))


def call_with_respond(services: Services, handler: Any, respond: Respond) -> None:
    context = BoltContext(user_id="U0ONE", channel_id="C0ONE")
    bolt_listener = listener(services, "action", handler)
    body = {"response_url": respond.response_url}
    bolt_listener(ack=Ack(), body=body, client=WebClient(token="xoxb-test"), context=context, respond=respond)


def test_respond_waits_for_the_commit_and_says_nothing_about_a_rolled_back_change(services: Services) -> None:
    def handler(turn: Turn) -> None:
        turn.ack()
        add_theme(turn)
        assert turn.respond is not None
        turn.respond(text="done")  # no Slack call with the written transaction open

    respond = RecordingRespond(services)
    call_with_respond(services, handler, respond)
    assert respond.sent == [("done", ["proef"])]  # sent once the theme was committed

    def failing(turn: Turn) -> None:
        turn.ack()
        assert turn.respond is not None
        turn.respond(text="never")
        raise RuntimeError("rolled back")

    services = replace(services, report_error=lambda error, body, context, client: None)
    respond = RecordingRespond(services)
    call_with_respond(services, failing, respond)
    assert respond.sent == []
