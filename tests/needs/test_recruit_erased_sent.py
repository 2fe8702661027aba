"""A recruiting DM already sent whose label an erasure took (made of the erased asker's deleted question) keeps the
label neither in the outbox nor in Slack: its stored label is blanked, and an outbox message of its own draws the
sent DM again, without the label and its button, once the erasure is committed (not a new DM)."""

from __future__ import annotations

from typing import Any

from bot.actors import Actor
from handlers.services import Services
from storage.models import OutboxKind, OutboxMessage
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import FakeSlack
from tests.needs.test_recruit_label_gone import _asked, _erased
from tests.needs.test_recruit_queued_label_gone import _send, services  # noqa: F401


class UpdatingSlack(FakeSlack):
    def __init__(self) -> None:
        super().__init__()
        self.updates: list[dict[str, Any]] = []

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        return {"ok": True}


def _dms(network: Network) -> list[OutboxMessage]:
    with network.database.session() as session:
        rows = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).order_by(OutboxMessage.id)
        found = list(rows)
        session.expunge_all()
        return found


def test_a_sent_dm_loses_the_label_the_erasure_took_and_is_drawn_again(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, _, label = _asked(network)  # sent, at DAALST / 1700000000.000100
    with network.database.session() as session:
        _erased(session, topic_id)  # the label's question's asker is erased: the topic's label dropped
    sent, redraw = _dms(network)
    assert sent.payload["label"] == "" and sent.payload["reason"] == ""
    assert sent.sent_ts == "1700000000.000100" and sent.ended_at is None  # still the DM that was sent
    assert redraw.sent_at is None and label not in repr(redraw.payload)
    slack = UpdatingSlack()
    assert _send(services, slack).sent == 1
    assert slack.posts == []  # no new DM
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == ("DAALST", "1700000000.000100")
    shown = update["text"] + repr(update["blocks"])
    assert label not in shown and "add_topic" not in shown  # said without the label, no button
    assert _dms(network)[1].sent_at is not None
    assert _send(services, slack).claimed == 0  # drawn once


def test_a_dm_drawn_again_is_not_a_request_the_person_was_sent(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, _, _ = _asked(network)
    with network.database.session() as session:
        _erased(session, topic_id)
    _send(services, UpdatingSlack())
    with network.database.session() as session:
        dm = _dms(network)[0]
        refs = network.service.expertise_request_refs(
            session, actor=Actor.slack(dm.recipient_slack_id or "", is_staff=False), topic_id=topic_id
        )
    assert refs == [{"channel_id": "DAALST", "message_ts": "1700000000.000100"}]
