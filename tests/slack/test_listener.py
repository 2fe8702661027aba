"""The listener wrapper: one transaction per request, and errors reach the global handler without losing the ack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext
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
