"""A topic whose label may no longer be shown (its question withdrawn, closed unanswered, or moved to a private
channel) is labelled again by the next grouping run, from a member that may be quoted, exactly as a topic without a
label: the old label never comes back, and staff can recruit for the topic again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.needs.core import label_sources, shown_label
from storage import needs_repo
from storage.models import NeedTopic, OutboxKind, OutboxMessage, Question, Visibility
from tests.needs.conftest import NOW, STAFF, Network, add_question
from tests.needs.test_recruit_label_gone import _channel_private, _closed_unanswered, _erased, _withdrawn


def _rats(network: Network) -> int:
    """A topic of three questions: a private one Els Jacobs answered and two public ones (one gives the label)."""
    with network.database.session() as session:
        for n, (asker, text, visibility) in enumerate(
            [
                ("UGENT", "Wie weet iets over rattenbestrijding in rioleringen?", Visibility.PRIVATE),
                ("ULEUVEN", "rattenbestrijding in de riolering: ervaringen?", Visibility.PUBLIC),
                ("UMECHELEN", "Ervaringen met rattenbestrijding in de riolering van de stad?", Visibility.PUBLIC),
            ]
        ):
            add_question(
                session,
                text,
                asker=asker,
                created_at=NOW - timedelta(days=5 - n),
                themes=["klimaat"],
                answered_at=NOW - timedelta(days=4) if n == 0 else None,
                answerer=network.experts["aalst"] if n == 0 else None,
                visibility=visibility,
            )
        network.service.update_topics(session, now=NOW)
        topics = [t for t in needs_repo.list_need_topics(session) if "rattenbestrijding" in t.label.lower()]
        assert len(topics) == 1
        return topics[0].id


def _label(session: Session, topic_id: int) -> tuple[str, str, str]:
    """The topic's stored label, the item it came from, and the label it may be shown with."""
    topic = session.get(NeedTopic, topic_id)
    assert topic is not None
    return topic.label, topic.label_item, shown_label(topic, label_sources(session, topic))


@pytest.mark.parametrize("change", [_withdrawn, _closed_unanswered, _channel_private, _erased])
def test_a_topic_whose_label_went_is_labelled_again_from_what_may_be_quoted(
    network: Network, change: Callable[[Session, int], None]
) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        old_item = _label(session, topic_id)[1]
        change(session, topic_id)
    with network.database.session() as session:
        assert _label(session, topic_id)[2] == ""  # not shown any more
        report = network.service.update_topics(session, now=NOW + timedelta(hours=1))
        assert report.labelled == 1
    with network.database.session() as session:
        label, item, shown = _label(session, topic_id)
        assert shown == label and label and item not in {old_item, "-"}
        question = session.get(Question, int(item[2:]))
        assert question is not None and question.visibility == Visibility.PUBLIC and not question.channel_is_private
        assert all(word in question.text.lower() for word in label.lower().split())  # the quotable member's words
    with network.database.session() as session:  # a later run keeps it; the old label never comes back
        network.service.update_topics(session, now=NOW + timedelta(hours=2))
        assert _label(session, topic_id)[:2] == (label, item)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        assert plan.label == label and [c.name for c in plan.candidates] == ["Els Jacobs"]
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None
        asked = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in asked] == [True]
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        assert message.payload["label"] == label


def test_a_topic_with_no_member_left_to_quote_shows_no_label(network: Network) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        topic = session.get(NeedTopic, topic_id)
        assert topic is not None
        for key in needs_repo.list_need_assignments(session, topic_ids=[topic_id]):
            question = session.get(Question, int(key[2:]))
            assert question is not None
            question.channel_is_private = True
    with network.database.session() as session:
        network.service.update_topics(session, now=NOW + timedelta(hours=1))
    with network.database.session() as session:
        topic = session.get(NeedTopic, topic_id)
        assert topic is not None and (topic.label, topic.label_item) == ("", "-")
