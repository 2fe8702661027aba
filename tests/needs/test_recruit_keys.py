"""Which recruiting DMs count as "asked": the button accepts any label the person was asked about that the topic
still shows (asked about A, then B, then labelled A again: the A DM adds A), and a DM queued before the outbox key
held the label (``expertise_request:<topic>:<user>``) keeps the person from being asked the same label again."""

from __future__ import annotations

from handlers.needs import handle_add_topic
from storage.models import Expert, NeedTopic, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_label_gone import _asked, _relabelled, _sent_newest, _turn


def _asked_about_a_then_b_then_labelled_a(network: Network) -> tuple[int, int, str]:
    topic_id, expert_id, label_a = _asked(network)
    with network.database.session() as session:
        _relabelled(session, topic_id)  # B
    with network.database.session() as session:
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
        _sent_newest(session, "1700000000.000200")
    with network.database.session() as session:
        session.get(NeedTopic, topic_id).label = label_a  # type: ignore[union-attr]  # labelled A again
    return topic_id, expert_id, label_a


def test_labelled_back_the_click_adds_the_label_an_older_dm_asked_about(network: Network) -> None:
    topic_id, expert_id, label_a = _asked_about_a_then_b_then_labelled_a(network)
    with network.database.session() as session:
        turn = _turn(network, session)
        handle_add_topic(turn, topic_id)
    turn.tell.assert_not_called()  # not refused, nothing drawn "gone"
    (refs, text, _), _ = turn.update_messages.call_args
    assert len(refs) == 2 and label_a in text
    assert turn.outcome == f"topic added topic={topic_id}"
    with network.database.session() as session:
        assert session.get(Expert, expert_id).expertise[-1] == label_a  # type: ignore[union-attr]


def test_labelled_back_asking_again_queues_nothing_as_the_person_was_asked_already(network: Network) -> None:
    topic_id, expert_id, _ = _asked_about_a_then_b_then_labelled_a(network)
    with network.database.session() as session:
        again = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in again] == [False]  # the A DM's button works (above)


def _keyed_as_before(network: Network, topic_id: int, expert_id: int) -> None:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        expert = session.get(Expert, expert_id)
        assert expert is not None
        message.dedupe_key = f"expertise_request:{topic_id}:{expert.slack_user_id}"  # as the previous release did


def test_a_person_asked_under_the_old_key_is_not_asked_the_same_label_again(network: Network) -> None:
    topic_id, expert_id, label = _asked(network)
    _keyed_as_before(network, topic_id, expert_id)
    with network.database.session() as session:
        session.get(NeedTopic, topic_id).label = f" {label.upper()} "  # type: ignore[union-attr]
    with network.database.session() as session:
        again = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in again] == [False]
        assert session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count() == 1


def test_a_person_asked_under_the_old_key_is_asked_about_a_new_label(network: Network) -> None:
    topic_id, expert_id, _ = _asked(network)
    _keyed_as_before(network, topic_id, expert_id)
    with network.database.session() as session:
        _relabelled(session, topic_id)
    with network.database.session() as session:
        again = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert [r.queued for r in again] == [True]
