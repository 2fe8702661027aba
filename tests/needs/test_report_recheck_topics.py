"""The report "as it may be shared now" reads the topics' words again too (``report_data.shareable_topics``, run by
``without_gone``): a topic's label and the wordings it quotes were gathered with the figures, and the asker of a
quoted question may be erased, or withdraw it, on another replica before the report is uploaded or written. Their
words then go; the counts stay. Against both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.actors import Actor
from bot.needs import report_data
from bot.needs.periods import parse_period
from bot.needs.report import ReportData, collect_report, collect_report_to_share
from bot.needs.report_data import without_gone
from bot.privacy import erase_person
from storage.db import Database
from storage.models import NeedTopic, Question, QuestionStatus
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_claims import _rats

PERIOD = parse_period("2026-Q4")
WORDS = "rattenbestrijding in de riolering: ervaringen?"  # ULEUVEN's public question, the topic's label's source


@pytest.fixture
def other_replica(network: Network) -> Iterator[Database]:
    second = Database(network.database.url)
    yield second
    second.dispose()


def _collected(network: Network) -> tuple[int, ReportData]:
    topic_id = _rats(network)
    with network.database.session() as s:
        data = collect_report(s, service=network.service, actor=STAFF, period=PERIOD, now=NOW)
    view = next(v for v in data.topics if v.id == topic_id)
    assert view.quoted == (WORDS,) and "rattenbestrijding" in view.label.lower() and view.not_quoted == 1
    return topic_id, data


def _rechecked(network: Network, data: ReportData) -> ReportData:
    with network.database.session() as s:
        return without_gone(s, data, period=PERIOD)


def test_unchanged_the_topics_are_the_collected_ones(network: Network) -> None:
    _, data = _collected(network)
    assert _rechecked(network, data) is data


def test_an_erased_askers_words_are_not_in_the_report_to_share(
    network: Network, other_replica: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_id = _rats(network)
    gathered: list[ReportData] = []

    def collect_then_erase(*args: Any, **kwargs: Any) -> ReportData:
        gathered.append(collect_report(*args, **kwargs))
        with other_replica.session() as s:  # the quoted question's asker is forgotten meanwhile
            erase_person(session=s, actor=Actor.cli("ops"), slack_user_id="ULEUVEN", now=NOW)
        return gathered[-1]

    monkeypatch.setattr(report_data, "collect_report", collect_then_erase)
    with network.database.session() as s:  # the caller's unit of work, still open while the erasure commits
        data = collect_report_to_share(
            s, database=network.database, service=network.service, actor=STAFF, period=PERIOD, now=NOW
        )
    assert WORDS in repr(gathered[0].topics)  # quoted when gathered
    view = next(v for v in data.topics if v.id == topic_id)
    assert view.quoted == () and view.label == "" and "rattenbestrijding" not in repr(data.topics).lower()
    assert (view.questions, view.not_quoted) == (2, 1)  # counted as collected


def test_a_question_withdrawn_after_collecting_is_not_quoted(network: Network, other_replica: Database) -> None:
    topic_id, data = _collected(network)
    with other_replica.session() as s:
        topic = s.get(NeedTopic, topic_id)
        assert topic is not None
        question = s.get(Question, int(topic.label_item[2:]))
        assert question is not None and question.text.strip() == WORDS
        question.status = QuestionStatus.CANCELLED  # its asker withdrew it
    rechecked = _rechecked(network, data)
    view = next(v for v in rechecked.topics if v.id == topic_id)
    assert view.quoted == () and view.label == ""
    assert rechecked.experts == data.experts and [v.id for v in rechecked.topics] == [v.id for v in data.topics]


def test_a_topic_labelled_again_shows_its_label_now(network: Network, other_replica: Database) -> None:
    topic_id, data = _collected(network)
    with other_replica.session() as s:
        topic = s.get(NeedTopic, topic_id)
        assert topic is not None
        topic.label = "riolering"  # the grouping labelled it again (from the same, still public, question)
    view = next(v for v in _rechecked(network, data).topics if v.id == topic_id)
    assert view.label == "riolering" and view.quoted == (WORDS,)
