"""A recruiting DM that never reached the person — ended unsent (the topic was labelled again while it waited) or
given up — does not count as "asked": asking about that label again queues it again (the same outbox row, with a
fresh payload), under the outbox key and under the key a previous release used (no label in it)."""

from __future__ import annotations

from bot.outbox import LABEL_GONE
from handlers.services import Services
from storage.models import Expert, NeedTopic, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_invite_retry import FakeSlack
from tests.needs.test_recruit_label_gone import _relabelled
from tests.needs.test_recruit_queued_label_gone import _queued, _send, services  # noqa: F401


def _ask(network: Network, topic_id: int) -> list[bool]:
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None
        asked = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        return [r.queued for r in asked]


def _only_dm(network: Network) -> OutboxMessage:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        session.expunge(message)
        return message


def _ended_then_labelled_back(network: Network, services: Services) -> tuple[int, str]:  # noqa: F811
    topic_id, label_a = _queued(network)
    with network.database.session() as session:
        _relabelled(session, topic_id)  # B, before the sender ran
    slack = FakeSlack()
    assert _send(services, slack).ended == 1 and slack.posts == []  # the A DM ended unsent
    with network.database.session() as session:
        session.get(NeedTopic, topic_id).label = label_a  # type: ignore[union-attr]  # labelled A again
    return topic_id, label_a


def test_a_dm_ended_unsent_is_queued_again_and_sent(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, label_a = _ended_then_labelled_back(network, services)
    assert _ask(network, topic_id) == [True]
    message = _only_dm(network)  # the same row, queued again
    assert message.ended_at is None and message.ended_reason is None and message.payload["label"] == label_a
    slack = FakeSlack()
    assert _send(services, slack).sent == 1 and [p["channel"] for p in slack.posts] == ["DUAALST"]
    assert _ask(network, topic_id) == [False]  # sent now: asked before


def test_a_dm_given_up_is_queued_again(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, _ = _queued(network)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.failed_at, message.attempts, message.last_error = NOW, 5, "ratelimited"
    assert _ask(network, topic_id) == [True]
    message = _only_dm(network)
    assert (message.failed_at, message.attempts, message.last_error) == (None, 0, "")


def test_a_dm_still_queued_counts_as_asked(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, _ = _queued(network)
    assert _ask(network, topic_id) == [False]
    assert _only_dm(network).ended_at is None


def _keyed_as_before(network: Network, topic_id: int) -> None:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        expert = session.query(Expert).filter_by(slack_user_id=message.recipient_slack_id).one()
        message.dedupe_key = f"expertise_request:{topic_id}:{expert.slack_user_id}"  # as the previous release did


def test_an_old_key_dm_ended_unsent_does_not_count_as_asked(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, label_a = _ended_then_labelled_back(network, services)
    _keyed_as_before(network, topic_id)
    assert _ask(network, topic_id) == [True]
    with network.database.session() as session:
        rows = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).order_by(OutboxMessage.id)
        assert [(m.ended_reason, m.payload["label"]) for m in rows] == [(LABEL_GONE, label_a), (None, label_a)]


def test_an_old_key_dm_still_queued_counts_as_asked(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, _ = _queued(network)
    _keyed_as_before(network, topic_id)
    assert _ask(network, topic_id) == [False]
