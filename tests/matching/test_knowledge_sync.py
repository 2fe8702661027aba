"""Several replicas on one database: each process's index follows the others' register changes (``sync``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.knowledge import KnowledgeBase
from storage import register_repo as repo
from storage.db import Database
from storage.models import Consent, Expert

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def replicas(database_url: str) -> Iterator[tuple[Database, KnowledgeBase, Database]]:
    """This process (its own Database and index) and another replica's Database (writing without our events)."""
    ours = Database(database_url)
    theirs = Database(database_url)
    with ours.session() as session:
        expert = repo.create_expert(
            session, email="an@gent.be", name="An Peeters", organisation="Stad Gent", source="test", now=NOW
        )
        expert.consent = Consent.CONFIRMED
        expert.expertise = ["leegstandsheffing"]
    knowledge = KnowledgeBase(ours)
    knowledge.load()
    yield ours, knowledge, theirs
    knowledge.close()
    ours.dispose()
    theirs.dispose()


def names(knowledge: KnowledgeBase, query: str) -> list[str]:
    return [hit.doc.name for hit in knowledge.search(query, now=NOW).experts]


def test_another_replicas_edit_and_new_expert_reach_this_index(
    replicas: tuple[Database, KnowledgeBase, Database],
) -> None:
    _ours, knowledge, theirs = replicas
    knowledge.sync()  # re-reads at most what changed lately (an overlap for clock skew): harmless
    with theirs.session() as session:
        expert = session.scalars(select(Expert).where(Expert.email == "an@gent.be")).one()
        expert.expertise = ["kangoeroewonen"]
        added = repo.create_expert(
            session, email="bo@brugge.be", name="Bo Claes", organisation="Stad Brugge", source="test", now=NOW
        )
        added.consent = Consent.CONFIRMED
        added.expertise = ["kangoeroewonen", "zorgwonen"]
    assert "An Peeters" not in names(knowledge, "kangoeroewonen")  # not followed yet: another process wrote it
    assert knowledge.sync() >= 2
    assert set(names(knowledge, "kangoeroewonen")) == {"An Peeters", "Bo Claes"}
    assert "An Peeters" not in names(knowledge, "leegstandsheffing")


def test_an_expert_deleted_by_another_replica_leaves_this_index(
    replicas: tuple[Database, KnowledgeBase, Database],
) -> None:
    _ours, knowledge, theirs = replicas
    assert names(knowledge, "leegstandsheffing") == ["An Peeters"]
    with theirs.session() as session:
        session.delete(session.scalars(select(Expert).where(Expert.email == "an@gent.be")).one())
    knowledge.sync()
    assert names(knowledge, "leegstandsheffing") == []


def lock_free_now(knowledge: KnowledgeBase) -> bool:
    """From another thread: could it take the index lock right now (is nobody holding it)?"""
    free: list[bool] = []

    def probe() -> None:
        took = knowledge._lock.acquire(blocking=False)
        if took:
            knowledge._lock.release()
        free.append(took)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return free[0]


def test_sync_reads_the_index_under_its_lock(replicas: tuple[Database, KnowledgeBase, Database]) -> None:
    """The job runner's sync lists what the index holds while a request thread may refresh it: it takes the lock."""
    _ours, knowledge, _theirs = replicas
    matcher = knowledge.matcher
    assert matcher is not None
    listed = matcher.documents
    free_meanwhile: list[bool] = []

    def watched(kind: str) -> Mapping[int, object]:
        free_meanwhile.append(lock_free_now(knowledge))
        return listed(kind)

    matcher.documents = watched  # type: ignore[method-assign]
    knowledge.sync()
    assert free_meanwhile and not any(free_meanwhile)


def test_phrase_words_are_read_under_the_lock(replicas: tuple[Database, KnowledgeBase, Database]) -> None:
    """The needs service reads the glossary's phrase words while a request thread may replace the glossary: the
    knowledge base reads them under its lock."""
    _ours, knowledge, _theirs = replicas
    matcher = knowledge.matcher
    assert matcher is not None
    read = matcher.phrase_words
    free_meanwhile: list[bool] = []

    def watched() -> frozenset[str]:
        free_meanwhile.append(lock_free_now(knowledge))
        return read()

    matcher.phrase_words = watched  # type: ignore[method-assign]
    assert knowledge.phrase_words() == read()
    assert free_meanwhile == [False]
