"""Recruiting shows, sends and adds only a label that may still be shown (``bot.needs.core.shown_label``, the rule
proposals and reports follow): a label made of a question its asker withdrew, staff closed unanswered or that moved
to a private channel is not offered, and the DM's button adds nothing once the topic's label is no longer the one
asked about (withdrawn, erased, labelled again, the topic deleted): the person is told, and the DM loses the label
and its button."""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.i18n import t
from bot.needs import NoShareableWording, TopicLabelGone
from bot.privacy import erase_person
from handlers import ids
from handlers.needs import handle_add_topic
from storage.models import AuditLog, Expert, NeedItem, NeedTopic, OutboxKind, OutboxMessage, Question, QuestionStatus
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_claims import _rats

ASKED = Actor.slack("UAALST", is_staff=False)  # Els Jacobs: answered one of the topic's questions, so is asked


def _label_question(session: Session, topic_id: int) -> Question:
    topic = session.get(NeedTopic, topic_id)
    assert topic is not None and topic.label_item.startswith("q:")
    question = session.get(Question, int(topic.label_item[2:]))
    assert question is not None
    return question


def _withdrawn(session: Session, topic_id: int) -> None:
    _label_question(session, topic_id).status = QuestionStatus.CANCELLED  # its asker withdrew it


def _closed_unanswered(session: Session, topic_id: int) -> None:
    question = _label_question(session, topic_id)
    assert question.answered_at is None
    question.status = QuestionStatus.CLOSED


def _channel_private(session: Session, topic_id: int) -> None:
    _label_question(session, topic_id).channel_is_private = True


def _erased(session: Session, topic_id: int) -> None:
    asker = _label_question(session, topic_id).asker_slack_id
    assert asker
    erase_person(session=session, actor=Actor.cli("test"), slack_user_id=asker, now=NOW)
    topic = session.get(NeedTopic, topic_id)
    assert topic is not None and topic.label == ""  # the erasure blanked it


def _relabelled(session: Session, topic_id: int) -> None:
    topic = session.get(NeedTopic, topic_id)
    assert topic is not None
    topic.label = "rioolbeheer"  # the grouping took another member's words since


def _deleted(session: Session, topic_id: int) -> None:
    session.execute(delete(NeedItem).where(NeedItem.topic_id == topic_id))
    session.execute(delete(NeedTopic).where(NeedTopic.id == topic_id))


def _asked(network: Network) -> tuple[int, int, str]:
    """The topic, Els Jacobs asked about it by a DM that was sent, and the label the DM showed."""
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None and plan.label
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.sent_at, message.sent_channel_id, message.sent_ts = NOW, "DAALST", "1700000000.000100"
        assert message.payload["label"] == plan.label
    return topic_id, expert_id, plan.label


@pytest.mark.parametrize("change", [_withdrawn, _closed_unanswered, _channel_private])
def test_a_label_no_longer_shown_is_not_offered_nor_sent(network: Network, change: Callable[..., None]) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        label = session.get(NeedTopic, topic_id).label  # type: ignore[union-attr]
        change(session, topic_id)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        assert label and plan.label == ""
        assert [c.name for c in plan.candidates] == ["Els Jacobs"]  # still found, by the topic's words
        with pytest.raises(NoShareableWording):
            network.service.ask_to_add_expertise(
                session, actor=STAFF, topic_id=topic_id, expert_ids=[plan.candidates[0].expert_id or 0], now=NOW
            )
    with network.database.session() as session:
        assert session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count() == 0


@pytest.mark.parametrize("change", [_withdrawn, _closed_unanswered, _channel_private, _erased, _relabelled, _deleted])
def test_the_button_adds_nothing_once_the_label_asked_about_is_gone(
    network: Network, change: Callable[..., None]
) -> None:
    topic_id, expert_id, label = _asked(network)
    with network.database.session() as session:
        before = list(session.get(Expert, expert_id).expertise)  # type: ignore[union-attr]
        change(session, topic_id)
    with network.database.session() as session, pytest.raises(TopicLabelGone):
        network.service.add_topic_to_profile(session, actor=ASKED, topic_id=topic_id, now=NOW)
    with network.database.session() as session:
        expertise = session.get(Expert, expert_id).expertise  # type: ignore[union-attr]
        added = session.query(AuditLog).filter_by(entity_type="expert", action="add_topic").count()
    assert expertise == before and label not in expertise and added == 0


def test_the_label_asked_about_is_added_while_it_is_still_shown(network: Network) -> None:
    """Compared without case: the current label is what is added."""
    topic_id, expert_id, label = _asked(network)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.payload = {**message.payload, "label": label.upper()}
    with network.database.session() as session:
        assert network.service.add_topic_to_profile(session, actor=ASKED, topic_id=topic_id, now=NOW) == label
    with network.database.session() as session:
        assert session.get(Expert, expert_id).expertise[-1] == label  # type: ignore[union-attr]


def _turn(network: Network, session: Session) -> mock.MagicMock:
    turn = mock.MagicMock()
    turn.services.needs_service.return_value = network.service
    turn.session, turn.actor, turn.now, turn.lang, turn.user_id = session, ASKED, NOW, "nl", "UAALST"
    return turn


def test_a_click_on_a_topic_gone_is_told_and_its_dm_drawn_again_without_label_or_button(network: Network) -> None:
    topic_id, expert_id, label = _asked(network)
    with network.database.session() as session:
        _withdrawn(session, topic_id)
    with network.database.session() as session:
        turn = _turn(network, session)
        handle_add_topic(turn, topic_id)
    turn.tell.assert_called_once_with(t("error.topic_label_gone", "nl"))
    (refs, text, blocks), kwargs = turn.update_messages.call_args
    assert refs == [{"channel_id": "DAALST", "message_ts": "1700000000.000100"}]
    shown = text + repr([b.to_dict() for b in blocks])
    assert label not in shown and "rattenbestrijding" not in shown.lower() and ids.ACTION_ADD_TOPIC not in shown
    assert t("needs.recruit_gone", "nl") in text and kwargs == {"about": f"need_topic:{topic_id}"}
    assert turn.outcome == f"refused topic_label_gone topic={topic_id}"
    turn.home_changed.assert_not_called()
    with network.database.session() as session:
        assert label not in session.get(Expert, expert_id).expertise  # type: ignore[union-attr]


def test_a_click_while_the_label_is_shown_adds_it_and_draws_the_dm_as_added(network: Network) -> None:
    topic_id, expert_id, label = _asked(network)
    with network.database.session() as session:
        turn = _turn(network, session)
        handle_add_topic(turn, topic_id)
    turn.tell.assert_not_called()
    (_, text, blocks), _ = turn.update_messages.call_args
    shown = text + repr([b.to_dict() for b in blocks])
    assert label in shown and ids.ACTION_ADD_TOPIC not in shown
    with network.database.session() as session:
        assert label in session.get(Expert, expert_id).expertise  # type: ignore[union-attr]


def _sent_newest(session: Session, ts: str) -> None:
    message = session.query(OutboxMessage).filter(OutboxMessage.sent_ts.is_(None)).one()
    message.sent_at, message.sent_channel_id, message.sent_ts = NOW, "DAALST", ts


def test_once_labelled_again_the_person_is_asked_again_and_the_new_dm_adds_the_new_label(network: Network) -> None:
    """The outbox key holds the label asked about: asking about the new label queues a new DM (the old DM's button
    refuses), asking again about the same label (whatever its case) queues nothing."""
    topic_id, expert_id, _ = _asked(network)
    with network.database.session() as session:
        _relabelled(session, topic_id)
    with network.database.session() as session:
        asked = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in asked] == [True]
        _sent_newest(session, "1700000000.000200")
    with network.database.session() as session:
        session.get(NeedTopic, topic_id).label = "RioolBeheer "  # type: ignore[union-attr]
    with network.database.session() as session:
        again = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in again] == [False]
        assert session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count() == 2
        session.get(NeedTopic, topic_id).label = "rioolbeheer"  # type: ignore[union-attr]
    with network.database.session() as session:
        turn = _turn(network, session)
        handle_add_topic(turn, topic_id)
    turn.tell.assert_not_called()
    (refs, text, _), _ = turn.update_messages.call_args
    assert refs == [  # both DMs about the topic are drawn as added, the newest first
        {"channel_id": "DAALST", "message_ts": "1700000000.000200"},
        {"channel_id": "DAALST", "message_ts": "1700000000.000100"},
    ]
    assert "rioolbeheer" in text
    with network.database.session() as session:
        assert session.get(Expert, expert_id).expertise[-1] == "rioolbeheer"  # type: ignore[union-attr]


def test_a_dm_sent_before_the_key_held_the_label_still_counts_as_asked(network: Network) -> None:
    topic_id, _, label = _asked(network)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.dedupe_key = f"expertise_request:{topic_id}:UAALST"
    with network.database.session() as session:
        assert network.service.add_topic_to_profile(session, actor=ASKED, topic_id=topic_id, now=NOW) == label
        refs = network.service.expertise_request_refs(session, actor=ASKED, topic_id=topic_id)
    assert refs == [{"channel_id": "DAALST", "message_ts": "1700000000.000100"}]
