"""A recruiting DM still in the outbox when its label may no longer be shown — its question withdrawn, closed
unanswered, moved to a private channel, or its asker erased — is not sent: the sender reads the topic again right
before posting and ends the DM unsent (settled, not failed, not retried), with an INFO line; nothing reaches Slack.
An erasure settles the queued DMs whose label it dropped, or whose label or reason holds a word of the person's
names, and blanks that word's label in the DMs already sent; a DM its sender holds (perhaps posting it) keeps its
sender and loses the label; a DM of a topic relabelled for another reason is not the erasure's."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.config import Settings
from bot.jobs import BatchResult
from bot.needs import end_if_label_gone
from bot.outbox import LABEL_GONE, claim_outbox, mark_outbox_post_started, mark_outbox_sent
from bot.privacy import erase_person
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.models import NeedTopic, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_invite_retry import FakeSlack
from tests.needs.test_recruit_claims import _rats
from tests.needs.test_recruit_label_gone import _channel_private, _closed_unanswered, _erased, _withdrawn


@pytest.fixture
def services(network: Network) -> Iterator[Services]:
    yield Services(
        settings=Settings(staff_user_ids=frozenset({STAFF.slack_id or ""})),
        db=network.database,
        knowledge=network.knowledge,
        needs=network.service,
        clock=lambda: NOW,
    )


def _queued(network: Network) -> tuple[int, str]:
    """The topic and the label of the DM asking Els Jacobs about it: queued, not sent yet."""
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None and plan.label
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
    return topic_id, plan.label


def _message(network: Network) -> OutboxMessage:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        session.expunge(message)
        return message


def _send(services: Services, slack: FakeSlack) -> BatchResult:
    return OutboxSender(services, slack).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]


def test_a_queued_dm_whose_label_is_still_shown_goes_out_with_it(network: Network, services: Services) -> None:
    _, label = _queued(network)
    slack = FakeSlack()
    assert _send(services, slack).sent == 1
    assert [p["channel"] for p in slack.posts] == ["DUAALST"] and label in slack.posts[0]["text"] + repr(
        slack.posts[0]["blocks"]
    )
    assert _message(network).sent_at is not None


@pytest.mark.parametrize("change", [_withdrawn, _closed_unanswered, _channel_private, _erased])
def test_a_queued_dm_whose_label_went_meanwhile_is_settled_unsent(
    network: Network, services: Services, change: Callable[[Session, int], None], caplog: pytest.LogCaptureFixture
) -> None:
    topic_id, label = _queued(network)
    with network.database.session() as session:
        change(session, topic_id)
    slack = FakeSlack()
    with caplog.at_level(logging.INFO, logger="wieweet.outbox"):
        result = _send(services, slack)
    assert slack.posts == []  # nothing reached Slack
    assert (result.sent, result.failed) == (0, 0)
    message = _message(network)
    assert message.ended_at is not None and message.ended_reason == LABEL_GONE
    assert message.sent_at is None and message.failed_at is None and message.attempts == 0
    assert message.claimed_by is None
    assert _send(services, slack).claimed == 0  # settled: never claimed (or retried) again
    if change is _erased:  # the erasure settled it itself, its label gone from the database
        assert result.claimed == 0 and message.payload["label"] == ""
    else:
        assert result.ended == 1 and message.payload["label"] == label
        assert any(
            r.levelno == logging.INFO and f"outbox {message.id} (expertise_request)" in r.getMessage()
            for r in caplog.records
        )


def _labelled_with_a_surname(network: Network, topic_id: int) -> str:
    """The topic's label (and the DM's) holds "Claes", the surname of Chloé Claes, who asked none of its questions."""
    label = "rattenbestrijding Claes"
    with network.database.session() as session:
        topic = session.get(NeedTopic, topic_id)
        assert topic is not None
        topic.label = label
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.payload = {**message.payload, "label": label}
    return label


def _erase_claes(network: Network) -> dict[str, int]:
    with network.database.session() as session:
        report = erase_person(session=session, actor=Actor.cli("test"), slack_user_id="UKORTRIJK", now=NOW)
    return report.counts


def test_an_erasure_settles_a_queued_dm_whose_label_holds_the_persons_surname(
    network: Network, services: Services
) -> None:
    topic_id, _ = _queued(network)
    _labelled_with_a_surname(network, topic_id)
    counts = _erase_claes(network)
    message = _message(network)
    assert counts.get("recruiting_messages_settled") == 1
    assert message.ended_at is not None and message.ended_reason == LABEL_GONE and message.sent_at is None
    assert "claes" not in repr(message.payload).lower()
    slack = FakeSlack()
    assert _send(services, slack).claimed == 0 and slack.posts == []


def test_an_erasure_blanks_the_surname_label_of_a_dm_already_sent(network: Network) -> None:
    topic_id, _ = _queued(network)
    _labelled_with_a_surname(network, topic_id)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.sent_at, message.sent_channel_id, message.sent_ts = NOW, "DUAALST", "1700000000.000100"
    counts = _erase_claes(network)
    with network.database.session() as session:
        message, redraw = session.query(OutboxMessage).order_by(OutboxMessage.id).all()
        session.expunge_all()
    assert counts.get("recruiting_messages_redacted") == 1
    assert message.ended_at is None and message.sent_ts == "1700000000.000100"  # sent stays sent
    assert "claes" not in repr(message.payload).lower() and message.payload["topic_id"] == topic_id
    assert redraw.payload["redraw_ts"] == "1700000000.000100" and redraw.payload["gone"]  # drawn again in Slack


def test_an_erasure_leaves_a_queued_dm_it_has_nothing_to_do_with(network: Network, services: Services) -> None:
    _, label = _queued(network)
    counts = _erase_claes(network)
    message = _message(network)
    assert "recruiting_messages_settled" not in counts and message.ended_at is None
    assert message.payload["label"] == label
    assert _send(services, FakeSlack()).sent == 1


def test_an_erasure_leaves_a_dm_being_posted_to_its_sender_without_the_label(network: Network) -> None:
    """Its sender holds it and started posting it: the DM reaches Slack, so it is recorded as sent, where a click
    or a redraw finds it, and the erasure only takes its label (a claimed DM is its sender's to post or end)."""
    topic_id, _ = _queued(network)
    _labelled_with_a_surname(network, topic_id)
    claimed = claim_outbox(network.database, now=NOW, worker_id="w1")
    assert [m.kind for m in claimed] == [OutboxKind.EXPERTISE_REQUEST]
    with network.database.session() as session:
        assert mark_outbox_post_started(session, message_id=claimed[0].id, worker_id="w1", now=NOW)
    counts = _erase_claes(network)  # while chat.postMessage is under way
    assert counts.get("recruiting_messages_redacted") == 1 and "recruiting_messages_settled" not in counts
    with network.database.session() as session:
        assert mark_outbox_sent(
            session, message_id=claimed[0].id, ts="1700000000.000100", channel="DUAALST", now=NOW, worker_id="w1"
        )
    message = _message(network)
    assert message.ended_at is None and message.sent_ts == "1700000000.000100"
    assert "claes" not in repr(message.payload).lower() and message.payload["topic_id"] == topic_id


def test_an_erasure_leaves_a_claimed_dm_to_its_sender_who_then_ends_it(network: Network) -> None:
    topic_id, _ = _queued(network)
    _labelled_with_a_surname(network, topic_id)
    claimed = claim_outbox(network.database, now=NOW, worker_id="w1")
    _erase_claes(network)
    assert _message(network).ended_at is None  # still the sender's
    with network.database.session() as session:
        assert end_if_label_gone(session, message_id=claimed[0].id, worker_id="w1", now=NOW)
    message = _message(network)
    assert message.ended_reason == LABEL_GONE and message.sent_at is None
    assert "claes" not in repr(message.payload).lower()


def test_an_erasure_leaves_a_dm_of_a_topic_relabelled_for_another_reason_to_the_sender(
    network: Network, services: Services
) -> None:
    """Relabelled by a grouping run, not by the erasure: not the erasure's to settle or count; its sender ends it."""
    topic_id, label = _queued(network)
    with network.database.session() as session:
        topic = session.get(NeedTopic, topic_id)
        assert topic is not None
        topic.label = "muizenplaag"
    counts = _erase_claes(network)
    assert "recruiting_messages_settled" not in counts and "recruiting_messages_redacted" not in counts
    assert _message(network).ended_at is None and _message(network).payload["label"] == label
    slack = FakeSlack()
    assert _send(services, slack).ended == 1 and slack.posts == []
    assert _message(network).ended_reason == LABEL_GONE
