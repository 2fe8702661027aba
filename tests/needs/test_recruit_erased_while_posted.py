"""A recruiting DM being posted while an erasure takes its label (the erasure commits during ``chat.postMessage``):
the erasure blanks the stored label of a DM its sender holds, and the sender, as it marks the DM sent, sees the
label gone and queues the DM to be drawn again without it (once); a DM sent with its label still stored is not."""

from __future__ import annotations

from typing import Any

from handlers.services import Services
from storage.models import OutboxKind, OutboxMessage
from tests.needs.conftest import Network
from tests.needs.test_invite_retry import FakeSlack
from tests.needs.test_recruit_label_gone import _erased
from tests.needs.test_recruit_queued_label_gone import _queued, _send, services  # noqa: F401


class ErasedWhilePosting(FakeSlack):
    """The erasure of the label's asker commits while the sender's ``chat.postMessage`` is in flight."""

    def __init__(self, network: Network, topic_id: int | None) -> None:
        super().__init__()
        self.network, self.topic_id = network, topic_id
        self.updates: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        if self.topic_id is not None:
            with self.network.database.session() as session:
                _erased(session, self.topic_id)
        return super().chat_postMessage(**kwargs)

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.updates.append(kwargs)
        return {"ok": True}

    def views_publish(self, **kwargs: Any) -> dict[str, Any]:
        return {"ok": True}


def _rows(network: Network) -> list[OutboxMessage]:
    with network.database.session() as session:
        rows = list(
            session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).order_by(OutboxMessage.id)
        )
        session.expunge_all()
        return rows


def test_a_dm_posted_while_the_erasure_ran_is_drawn_again_without_the_label(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, label = _queued(network)
    slack = ErasedWhilePosting(network, topic_id)
    assert _send(services, slack).sent == 1
    [post] = slack.posts
    assert label in post["text"] + repr(post["blocks"])  # it went out with the label
    dm, redraw = _rows(network)
    assert dm.sent_ts and dm.payload["label"] == ""  # the erasure blanked it meanwhile
    assert redraw.dedupe_key == f"expertise_redraw:{dm.id}" and redraw.sent_at is None
    assert label not in repr(redraw.payload)
    slack.topic_id = None
    assert _send(services, slack).sent == 1
    assert len(slack.posts) == 1  # no new DM
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == (dm.sent_channel_id, dm.sent_ts)
    shown = update["text"] + repr(update["blocks"])
    assert label not in shown and "add_topic" not in shown  # without the label and its button
    assert _send(services, slack).claimed == 0  # drawn once


def test_a_dm_sent_with_its_label_is_not_drawn_again(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    _, label = _queued(network)
    slack = ErasedWhilePosting(network, None)
    assert _send(services, slack).sent == 1
    [dm] = _rows(network)
    assert dm.payload["label"] == label
    assert _send(services, slack).claimed == 0 and slack.updates == []
