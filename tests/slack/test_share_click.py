"""A share click is recorded in the inbox before its ack, with nothing read from the main database first; who may
share is checked from the record (the Slack-signed user), so a crash between ack and record cannot lose a click."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers import ids
from handlers.actions import register
from handlers.answers import SHARE_ANSWER
from handlers.services import Services
from storage import inbox_repo
from storage.db import Database


class Actions:
    """The part of a Bolt app the action listeners are registered on."""

    def __init__(self) -> None:
        self.listeners: dict[object, Callable[..., None]] = {}

    def action(self, action_id: object) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def add(listener: Callable[..., None]) -> Callable[..., None]:
            self.listeners[action_id] = listener
            return listener

        return add


@pytest.fixture
def services(tmp_path: Path) -> Services:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    return Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database))


def recorded(services: Services) -> list[str]:
    with services.db.inbox_session() as session:
        return [r.request_key for r in inbox_repo.list_inbox_requests(session, kind=SHARE_ANSWER)]


def test_a_share_click_is_recorded_before_its_ack_and_checked_from_the_record(services: Services) -> None:
    app = Actions()
    register(app, services)  # type: ignore[arg-type]
    at_ack: list[list[str]] = []

    class RecordingAck(Ack):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            at_ack.append(recorded(services))
            return super().__call__(*args, **kwargs)

    ack = RecordingAck()
    body = {
        "type": "block_actions",
        "trigger_id": "T0SHARE1",
        "actions": [{"action_id": ids.ACTION_SHARE, "value": "42"}],
        "response_url": "https://hooks.slack.invalid/actions/1",
    }
    with mock.patch("bot.knowledge.get_search_for", side_effect=AssertionError("checked before the ack")) as check:
        app.listeners[ids.ACTION_SHARE](
            ack=ack,
            body=body,
            client=WebClient(token="xoxb-test"),
            context=BoltContext(user_id="U0ONE", channel_id="C0ONE"),
            respond=Respond(response_url=str(body["response_url"])),
        )
    assert at_ack == [["share:42:T0SHARE1"]]  # durable when Slack got its ack
    assert ack.response is not None and ack.response.status == 200
    check.assert_not_called()  # the permission check runs in the inbox job (``share_answer``), on the signed user
    with services.db.inbox_session() as session:
        [request] = inbox_repo.list_inbox_requests(session, kind=SHARE_ANSWER)
        assert request.user_slack_id == "U0ONE" and request.payload["search_log_id"] == 42
