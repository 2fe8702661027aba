"""Every refusal is one WARNING line with actor, action and target (issue 11, finding 10); error texts are filled in;
a clicked container that is not the subject's message is not updated, and that is a refusal too."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, BoltContext

from bot.actors import NotAuthorized
from bot.config import Settings
from bot.errors import QueryError
from bot.i18n import format_number
from bot.knowledge import KnowledgeBase
from bot.matching.config import MatchConfig
from bot.routing import NotYours, StaleActionError
from handlers.errors import VERIFIED, handle_error, user_message
from handlers.listener import listener
from handlers.services import Services
from handlers.turn import Turn
from storage.db import Database


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("users.info", kwargs))
        return {"ok": True, "user": {"locale": "en-GB", "real_name": "Forger"}}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.update", kwargs))
        return {"ok": True}

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("chat.postEphemeral", kwargs))
        return {"ok": True}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    database = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with KnowledgeBase(database) as knowledge:
        yield Services(settings=Settings(), db=database, knowledge=knowledge)
    database.dispose()


def refused_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("refused ")]


@pytest.mark.parametrize(
    ("error", "action", "target"),
    [
        (NotAuthorized("approve a practice", staff_only=True, target="practice:4"), "approve a practice", "practice:4"),
        (NotYours("answer a question sent to someone else", target="routing:9", code="not_yours"), None, "routing:9"),
        (NotYours("act on someone else's question", target="question:7", code="not_asker"), None, "question:7"),
        (
            NotAuthorized("give feedback on someone else's search", target="search_log:3", code="not_your_search"),
            None,
            "search_log:3",
        ),
    ],
)
def test_a_refusal_is_one_warning_line_with_actor_action_and_target(
    services: Services, caplog: pytest.LogCaptureFixture, error: NotAuthorized, action: str | None, target: str
) -> None:
    client = FakeClient()
    # a request the HTTP edge verified (an unverified one is not answered at all: tests/edge)
    context = BoltContext(user_id="U0FORGER1", channel_id="C0WONEN01", wieweet_ref="abc123", **{VERIFIED: True})
    caplog.set_level(logging.INFO)
    handle_error(services, error, {"type": "block_actions"}, context, client)  # type: ignore[arg-type]
    lines = refused_lines(caplog)
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    message = lines[0].getMessage()
    assert message == f"refused ref=abc123 user=U0FORGER1 action={action or error.action} target={target}"
    assert not [r for r in caplog.records if "domain error" in r.getMessage()]
    # the user is told, in their language, and nothing else happens
    assert [c[0] for c in client.calls] == ["users.info", "chat.postEphemeral"]
    assert "niet" not in str(client.calls[-1][1]["text"])


def test_a_stale_button_is_not_a_refusal(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    context = BoltContext(user_id="U0EXPERT1", channel_id="D0DM", wieweet_ref="r1", **{VERIFIED: True})
    handle_error(services, StaleActionError("already_answered"), {}, context, FakeClient())  # type: ignore[arg-type]
    assert refused_lines(caplog) == []
    assert any("domain error" in r.getMessage() and r.levelno == logging.INFO for r in caplog.records)


def test_error_texts_are_filled_in_never_raw_placeholders(services: Services) -> None:
    too_long = "leegstand " * 200
    with pytest.raises(QueryError) as raised:
        services.knowledge.search(too_long, now=datetime.now(UTC))  # the reproduction: "{length}"/"{limit}" shown
    text = user_message(raised.value, "nl", "ref")
    shown = (format_number(len(too_long.strip()), "nl"), format_number(MatchConfig().max_query_chars, "nl"))
    assert "{" not in text and all(number in text for number in shown)
    # a text whose values are missing falls back to the error's (escaped) message, never "{length}"
    assert user_message(QueryError("too_long", "lang <b>"), "en", "ref") == "lang &lt;b&gt;"


def test_update_messages_updates_only_the_subjects_messages(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    client = FakeClient()
    caplog.set_level(logging.INFO)
    known = [{"channel_id": "D0EXPERT1", "message_ts": "1700000000.000001"}]
    forged = {"type": "message", "channel_id": "C0WONEN01", "message_ts": "1700000009.000009"}

    def handler(turn: Turn) -> None:
        turn.ack()
        turn.update_messages(known, "nieuw", [], about="routing:9")

    context = BoltContext(user_id="U0EXPERT1", channel_id="C0WONEN01")
    body = {"type": "block_actions", "container": forged}
    listener(services, "action", handler)(
        ack=Ack(),
        body=body,
        client=client,
        context=context,
        respond=None,  # type: ignore[arg-type]
    )
    updates = [c[1] for c in client.calls if c[0] == "chat.update"]  # (users.info comes first: the ack's language)
    assert [u["channel"] for u in updates] == ["D0EXPERT1"]  # never the claimed message
    lines = refused_lines(caplog)
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "user=U0EXPERT1 action=update a message not about routing:9" in lines[0].getMessage()
    assert lines[0].getMessage().endswith("target=message:C0WONEN01/1700000009.000009")

    caplog.clear()
    client.calls.clear()
    body = {"type": "block_actions", "container": {"type": "message", **known[0]}}
    listener(services, "action", handler)(
        ack=Ack(),
        body=body,
        client=client,
        context=context,
        respond=None,  # type: ignore[arg-type]
    )
    updates = [c[1] for c in client.calls if c[0] == "chat.update"]
    assert [u["ts"] for u in updates] == ["1700000000.000001"] and refused_lines(caplog) == []
