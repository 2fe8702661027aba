"""Grouping by meaning through the database: question vectors computed by the needs pass, stored, reused by other
processes, purged when their text is gone; the pass across replicas; falling back to words when the model fails."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from bot.knowledge import DatabaseVectorStore
from bot.needs.jobs import NeedsPass, run_needs_pass
from bot.needs.meaning import QuestionMeaning
from bot.needs.model import UpdateReport
from bot.needs.service import NeedsService
from bot.question_keys import meaning_text, text_key
from storage import needs_repo
from storage.models import Embedding, Question
from tests.needs.conftest import NOW, Network, add_question

MODEL = "fake-e5@test"
LEGE_HUIZEN = "belasting op lege huizen"  # no word in common with "leegstandsheffing", the same need


class TopicEmbedder:
    """A stand-in for e5: a text mentioning one of ``axes``' words points along that word's axis."""

    model_id = MODEL

    def __init__(self, *, fail: bool = False) -> None:
        self.axes = {"leegstand": 0, "lege huizen": 0, "fiets": 1}
        self.fail = fail
        self.texts: list[str] = []

    def query(self, text: str) -> Any:
        if self.fail:
            raise RuntimeError("the model file is missing")
        self.texts.append(text)
        vec = np.full(6, 0.05, dtype=np.float32)
        for word, axis in self.axes.items():
            if word in text.lower():
                vec[axis] = 1.0
        vec[5] = 0.2 + 0.01 * (len(text) % 7)  # something of the wording
        return vec / np.linalg.norm(vec)

    def passages(self, texts: Sequence[str]) -> Any:
        return np.stack([self.query(t) for t in texts])


def meaning_service(network: Network, embedder: TopicEmbedder) -> NeedsService:
    store = DatabaseVectorStore(network.database, now=NOW)
    return NeedsService(network.knowledge, meaning=QuestionMeaning(embedder, store))


def _ask_about_empty_houses(network: Network) -> Question:
    with network.database.session() as session:
        question = add_question(session, LEGE_HUIZEN, asker="UMECHELEN", created_at=NOW - timedelta(days=3))
        session.expunge(question)
    return question


def _topics(network: Network) -> dict[str, int]:
    with network.database.session() as session:
        assigned = needs_repo.list_need_assignments(session)
        texts = {f"q:{q.id}": q.text for q in session.scalars(select(Question))}
    return {texts[k]: topic for k, topic in assigned.items() if k in texts}


def test_questions_wait_for_their_vector_and_the_pass_groups_them_by_meaning(network: Network) -> None:
    _ask_about_empty_houses(network)
    embedder = TopicEmbedder()
    service = meaning_service(network, embedder)
    with network.database.session() as session:
        before = service.update_topics(session, now=NOW)
    assert (before.placed, before.waiting) == (0, 9)  # nothing is placed without its vector

    result = run_needs_pass(network.database, service=service, now=NOW, worker_id="replica-a")
    assert result.ran and result.waiting == 0 and result.placed == 9
    assert result.embedded == len({meaning_text(t) for t in _topics(network)})
    assert all(not t.lower().startswith("wie") for t in embedder.texts)  # embedded without the framing
    topics = _topics(network)
    vacancy = topics["Wie weet iets over de leegstandsheffing op winkelpanden?"]
    assert topics[LEGE_HUIZEN] == vacancy  # by meaning: no word in common
    assert topics["fietsstraten invoeren: regels en signalisatie"] != vacancy
    assert len(result.proposals) == 1  # four organisations asked about vacancy tax
    with network.database.session() as session:
        stored = session.scalars(select(Embedding.content_hash).where(Embedding.model == f"{MODEL}#question")).all()
    assert set(stored) == {text_key(t) for t in topics}

    again = run_needs_pass(network.database, service=service, now=NOW + timedelta(minutes=5), worker_id="replica-a")
    assert (again.embedded, again.placed, again.proposals) == (0, 0, ())


def test_words_alone_do_not_join_the_wording_without_shared_words(network: Network) -> None:
    _ask_about_empty_houses(network)
    result = run_needs_pass(network.database, service=network.service, now=NOW, worker_id="replica-a")
    assert result.ran and result.embedded == 0 and result.placed == 9
    topics = _topics(network)
    assert topics[LEGE_HUIZEN] != topics["Wie weet iets over de leegstandsheffing op winkelpanden?"]


def test_another_process_reuses_the_stored_vectors(network: Network) -> None:
    first = TopicEmbedder()
    run_needs_pass(network.database, service=meaning_service(network, first), now=NOW, worker_id="replica-a")
    _ask_about_empty_houses(network)
    second = TopicEmbedder()
    result = run_needs_pass(
        network.database, service=meaning_service(network, second), now=NOW + timedelta(minutes=5), worker_id="b"
    )
    assert second.texts == [LEGE_HUIZEN]  # only the new wording is embedded
    assert result.placed == 1
    topics = _topics(network)
    assert topics[LEGE_HUIZEN] == topics["Wie weet iets over de leegstandsheffing op winkelpanden?"]


def test_a_pass_skips_grouping_while_another_process_groups(network: Network) -> None:
    service = meaning_service(network, TopicEmbedder())
    with network.database.session() as holder:
        assert needs_repo.claim_needs_lock(holder)
        if network.database.engine.dialect.name != "postgresql":
            return  # SQLite: the write lock, which the pass's embedding would wait for (tests/needs/test_needs_lock.py)
        result = run_needs_pass(network.database, service=service, now=NOW, worker_id="replica-b")
    assert not result.ran and result.placed == 0
    assert result.embedded > 0  # the vectors were computed meanwhile; the next pass groups
    after = run_needs_pass(network.database, service=service, now=NOW, worker_id="replica-b")
    assert after.ran and after.embedded == 0 and after.placed == 8


def test_when_the_model_fails_questions_are_grouped_by_words(
    network: Network, caplog: pytest.LogCaptureFixture
) -> None:
    service = meaning_service(network, TopicEmbedder(fail=True))
    with caplog.at_level(logging.ERROR):
        result = run_needs_pass(network.database, service=service, now=NOW, worker_id="replica-a")
    assert service.meaning is None
    assert result.placed == 8 and result.waiting == 0
    assert "grouping by words only" in caplog.text


def test_vectors_of_texts_no_question_has_any_more_are_purged(network: Network) -> None:
    _ask_about_empty_houses(network)
    service = meaning_service(network, TopicEmbedder())
    runner = NeedsPass(network.database, service, worker_id="replica-a")
    runner.run(NOW)
    with network.database.session() as session:
        question = session.scalars(select(Question).where(Question.text == LEGE_HUIZEN)).one()
        session.delete(question)
    assert runner.run(NOW + timedelta(hours=1)).purged == 0  # purged at most every few hours
    later = runner.run(NOW + timedelta(days=2))
    assert later.purged == 1
    with network.database.session() as session:
        left = set(session.scalars(select(Embedding.content_hash).where(Embedding.model == f"{MODEL}#question")))
    assert text_key(LEGE_HUIZEN) not in left and text_key(network.questions["cycling"].text) in left


def test_meaning_text_drops_the_framing_and_keeps_the_words() -> None:
    assert meaning_text("Wie weet iets over de leegstandsheffing in Gent?") == "de leegstandsheffing in Gent"
    assert meaning_text("Qui connaît la taxe sur les logements inoccupés ?") == "la taxe sur les logements inoccupés"
    assert meaning_text("who knows about Housing First?") == "Housing First"
    assert meaning_text("Wie weet?") == "Wie weet?"  # framing only: the text as it is
    assert len(meaning_text("woord " * 1000)) <= 1000


def _labels(network: Network) -> dict[int, tuple[str, str]]:
    with network.database.session() as session:
        return {t.id: (t.label, t.label_item) for t in needs_repo.list_need_topics(session)}


def test_a_pass_while_new_questions_wait_for_their_vector_reads_and_analyses_nothing(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = TopicEmbedder()
    service = meaning_service(network, embedder)
    run_needs_pass(network.database, service=service, now=NOW, worker_id="replica-a")
    topics, labels = _topics(network), _labels(network)
    _ask_about_empty_houses(network)  # no vector yet: it waits for the next pass's embedding
    work: list[str] = []
    listed, analysed = needs_repo.list_need_sources, service.core.vectoriser.concepts

    def list_sources(session: Any, **kw: Any) -> Any:
        if kw.get("placed") is not False:  # the unplaced ones (what every pass reads) do not count
            work.append("list")
        return listed(session, **kw)

    def concepts(text: str) -> Any:
        work.append(text)
        return analysed(text)

    monkeypatch.setattr(needs_repo, "list_need_sources", list_sources)
    monkeypatch.setattr(service.core.vectoriser, "concepts", concepts)
    meaning = service.meaning
    assert meaning is not None
    keyed = meaning.keyed
    with network.database.session() as session:
        report = service.update_topics(session, now=NOW + timedelta(minutes=5))
        known = needs_repo.count_need_sources(session)
    assert work == [] and meaning.keyed == keyed + 1  # only the waiting question's key; nothing listed or analysed
    # the report a full run gives: everything known, the new question waiting, nothing placed or labelled
    assert report == UpdateReport(items=known, placed=0, new_topics=0, joined=0, labelled=0, waiting=1)
    assert _topics(network) == topics and _labels(network) == labels

    # once its vector is there, the next pass places it by meaning (with the statistics kept since the first run)
    result = run_needs_pass(network.database, service=service, now=NOW + timedelta(minutes=10), worker_id="a")
    assert result.placed == 1 and result.waiting == 0 and work and "list" in work
    after = _topics(network)
    assert after[LEGE_HUIZEN] == after["Wie weet iets over de leegstandsheffing op winkelpanden?"]
    assert {t: after[t] for t in topics} == topics and _labels(network).items() >= labels.items()


def test_question_keys_are_computed_once_per_text(network: Network) -> None:
    meaning = QuestionMeaning(TopicEmbedder(), DatabaseVectorStore(network.database, now=NOW))
    texts = ["Wie weet iets over leegstand?", "fietsstraten", "Wie weet iets over leegstand?"]
    meaning.embed_missing(texts, budget_seconds=60)
    assert meaning.keyed == 2  # the pass that embeds them remembers their keys for the grouping run
    first = meaning.vectors(texts)
    assert meaning.keyed == 2 and set(first) == set(texts)
    again = meaning.vectors(texts)
    assert meaning.keyed == 2  # remembered: the framing is not stripped again
    assert all(np.array_equal(first[t], again[t]) for t in texts)
    assert all(meaning.key(t) == text_key(t) for t in texts)
