"""Incremental grouping: the collection statistics kept between full refits (the refit rule), a run's work in
proportion to what is new (rows read, texts analysed, topics touched), and the state a running process keeps equal
to the one a new process rebuilds from the database (restart, another replica, an erasure)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from bot.actors import Actor
from bot.knowledge import DatabaseVectorStore
from bot.needs import NeedsConfig, NeedsService
from bot.needs.grouping import Grouper, GroupItem, GroupState
from bot.needs.meaning import QuestionMeaning
from bot.needs.state import REFIT_GROWTH, needs_refit
from bot.privacy import erase_person
from storage import needs_repo
from storage.db import Database
from storage.models import NeedFit, Question
from tests.needs.conftest import NOW, Network, add_question, build_network
from tests.needs.test_grouping import fragmented_need, needs_and_a_straggler
from tests.needs.test_meaning import TopicEmbedder

MORE = [
    ("UGENT", "leegstandsheffing en vrijstellingen bij renovatie"),
    ("ULEUVEN", "fietsstraten: ervaringen met handhaving?"),
    ("UAALST", "Wie weet iets over begraafplaatsbeheer en natuurbegraven?"),
    ("UKORTRIJK", "belasting op lege huizen en winkels"),
    ("UGENT", "Hoe pakken jullie fietsstraten aan in de binnenstad?"),
    ("ULEUVEN", "natuurbegraafplaats: wie heeft er een?"),
    ("UGENT", "Wie weet iets over hondenlosloopweides in parken?"),
    ("UAALST", "hondenlosloopweide aanleggen: ervaringen?"),
]


def test_refit_rule() -> None:
    assert needs_refit(None, 1) and needs_refit(0, 5)  # nothing fitted yet
    assert not needs_refit(1000, 1099) and needs_refit(1000, 1100)  # grown by 10 %
    assert REFIT_GROWTH == 0.1
    assert not needs_refit(1000, 1400, growth=0.5) and needs_refit(1000, 1500, growth=0.5)


# --- the grouping core: a kept state and a rebuilt one are the same ---------------------------------------------


def same_state(a: GroupState, b: GroupState) -> None:
    """Bit for bit: the topics' members, word sums, postings and meaning rows."""
    assert sorted(a.topics) == sorted(b.topics)

    def postings(state: GroupState) -> dict[tuple[str, int], float]:
        return {(t, topic_id): x for t, post in state.postings.items() for topic_id, x in post.items()}

    assert postings(a) == postings(b)
    for topic_id, topic in a.topics.items():
        other = b.topics[topic_id]
        assert topic.members == other.members
        assert topic.centroid == other.centroid and topic.words2 == other.words2
        if a.space is not None and topic.row >= 0:
            assert b.space is not None and other.row >= 0
            assert np.array_equal(a.space.matrix[topic.row], b.space.matrix[other.row])


@pytest.mark.parametrize("items", [fragmented_need(), needs_and_a_straggler(lean=0.5, pair=0.3)])
def test_a_kept_state_equals_one_rebuilt_from_the_placements(items: Sequence[GroupItem]) -> None:
    grouper = Grouper()
    ordered = sorted(items, key=lambda i: i.order)
    basis, later, last = ordered[: len(ordered) // 2], ordered[len(ordered) // 2 : -2], ordered[-2:]
    fit = grouper.fit(basis)
    kept = grouper.start(basis, assigned={}, fit=fit)
    assigned = {p.key: p.topic_id for p in grouper.place(kept, basis, next_topic_id=1).placements}
    for batch in (later, last):
        result = grouper.place(kept, batch, next_topic_id=max(assigned.values()) + 1)
        assigned.update((p.key, p.topic_id) for p in result.placements)
        # what a new process makes of the placements so far: the same statistics (fitted on the basis), the same sums
        rebuilt = grouper.start(ordered, assigned=assigned, fit=grouper.fit(basis))
        same_state(kept, rebuilt)
    assert kept.fit.idf == fit.idf  # the statistics stayed those of the basis
    assert set(assigned) == {i.key for i in items}


def test_a_full_run_is_a_fit_a_start_and_a_place() -> None:
    items = needs_and_a_straggler(lean=0.5)
    assert (
        Grouper().run(items, assigned={}, next_topic_id=1).placements
        == (
            Grouper().place(Grouper().start(items, assigned={}, fit=Grouper().fit(items)), items, next_topic_id=1)
        ).placements
    )


def test_a_run_touches_only_the_topics_its_items_join() -> None:
    items = needs_and_a_straggler(lean=0.0, first=4)
    grouper = Grouper()
    ordered = sorted(items, key=lambda i: i.order)
    state = grouper.start(ordered[:-1], assigned={}, fit=grouper.fit(ordered[:-1]))
    first = grouper.place(state, ordered[:-1], next_topic_id=1)
    assert len(state.touched) == len(first.topics) > 2
    result = grouper.place(state, ordered[-1:], next_topic_id=max(first.topics) + 1)
    assert state.touched == {p.topic_id for p in result.placements}  # one topic: the one the new item is in


# --- through the database ----------------------------------------------------------------------------------------


def ask(network: Network, n: int, *, start: int = 0) -> list[str]:
    keys = []
    with network.database.session() as session:
        for i, (asker, text) in enumerate(MORE[start : start + n]):
            q = add_question(session, text, asker=asker, created_at=NOW + timedelta(hours=1 + start + i))
            keys.append(f"q:{q.id}")
    return keys


def fits(network: Network) -> list[tuple[int, int]]:
    with network.database.session() as session:
        return [(f.items, f.last_item_id) for f in session.scalars(select(NeedFit).order_by(NeedFit.id))]


def update(service: NeedsService, network: Network, hours: int) -> Any:
    with network.database.session() as session:
        return service.update_topics(session, now=NOW + timedelta(hours=hours))


class Work:
    """What a run reads and analyses: every source listing (None: all of them) and every analysed text."""

    def __init__(self, service: NeedsService, monkeypatch: pytest.MonkeyPatch) -> None:
        self.listed: list[Sequence[str] | None] = []
        self.analysed: list[str] = []
        self.item_rows = 0
        self.rows = 0  # sources read, in all
        listed, rows, analyse = (
            needs_repo.list_need_sources,
            needs_repo.list_need_item_rows,
            service.core.vectoriser.concepts,
        )

        def list_sources(session: Any, **kw: Any) -> Any:
            got = listed(session, **kw)
            if kw.get("placed") is not False:  # the unplaced ones: what is new
                self.listed.append(kw.get("keys"))
            self.rows += len(got)
            return got

        def item_rows(session: Any) -> Any:
            self.item_rows += 1
            return rows(session)

        def concepts(text: str) -> Any:
            self.analysed.append(text)
            return analyse(text)

        monkeypatch.setattr(needs_repo, "list_need_sources", list_sources)
        monkeypatch.setattr(needs_repo, "list_need_item_rows", item_rows)
        monkeypatch.setattr(service.core.vectoriser, "concepts", concepts)


def test_an_incremental_run_reads_and_analyses_only_what_is_new(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    assert update(service, network, 0).placed == 8
    assert fits(network) == [(8, fits(network)[0][1])]
    new = ask(network, 2)
    work = Work(service, monkeypatch)
    report = update(service, network, 3)
    assert report.placed == 2 and report.items == 10
    # no listing of every question, no placement read back, only the two new texts analysed
    assert None not in work.listed and work.item_rows == 0
    assert sorted(work.analysed) == sorted(t for _, t in MORE[:2])
    assert all(set(keys or ()) <= set(new) | _members_of_unlabelled(network) for keys in work.listed)
    cache = service.topics._cache
    assert cache is not None
    with network.database.session() as session:
        assigned = needs_repo.list_need_assignments(session)
    assert cache.state.touched == {assigned[k] for k in new}  # only the topics the new questions joined
    assert len(fits(network)) == 1  # no refit


def test_a_first_run_reads_each_source_once(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unplaced sources a refit run read first are not read again for the refit, nor for the labels."""
    service = NeedsService(network.knowledge)
    work = Work(service, monkeypatch)
    report = update(service, network, 0)
    assert report.placed == 8 and report.labelled > 0
    assert work.rows == 8


def _members_of_unlabelled(network: Network) -> set[str]:
    with network.database.session() as session:
        unlabelled = {t.id for t in needs_repo.list_unlabelled_need_topics(session)}
        return {k for k, t in needs_repo.list_need_assignments(session).items() if t in unlabelled}


def test_the_statistics_are_refitted_when_the_collection_has_grown_by_the_share(network: Network) -> None:
    service = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=0.5))
    update(service, network, 0)
    ask(network, 3)  # 11 < 8 * 1.5: kept
    update(service, network, 4)
    assert [items for items, _ in fits(network)] == [8]
    ask(network, 1, start=3)  # 12 = 8 * 1.5: refitted on all twelve
    update(service, network, 5)
    assert [items for items, _ in fits(network)] == [8, 12]
    with network.database.session() as session:
        assert fits(network)[-1][1] == needs_repo.get_need_items_extent(session)[1]
        assert needs_repo.get_need_items_extent(session)[0] == 12


def meaning_service(network: Network, config: NeedsConfig) -> NeedsService:
    store = DatabaseVectorStore(network.database, now=NOW)
    embedder = TopicEmbedder()
    embedder.axes["begraaf"] = 2
    return NeedsService(network.knowledge, config=config, meaning=QuestionMeaning(embedder, store))


def embed_all(network: Network, service: NeedsService) -> None:
    meaning = service.meaning
    assert meaning is not None
    with network.database.session() as session:
        texts = [s.text for s in needs_repo.list_need_sources(session)]
    meaning.embed_missing(texts, budget_seconds=60.0)


def rebuilt(network: Network, config: NeedsConfig) -> GroupState:
    """The state a process started now makes of the database."""
    fresh = meaning_service(network, config)
    with network.database.session() as session:
        fit = needs_repo.get_last_need_fit(session)
        assert fit is not None
        return fresh.topics._rebuild(session, fresh.topics.grouper(), fit).state


def test_a_running_bot_keeps_the_state_a_restarted_one_rebuilds(database: Database) -> None:
    """Words and meaning; across runs, another replica's run and an erasure."""
    network = build_network(database)
    try:
        config = NeedsConfig(refit_growth=10.0)
        running = meaning_service(network, config)
        embed_all(network, running)
        update(running, network, 0)
        for start in (0, 2):
            ask(network, 2, start=start)
            embed_all(network, running)
            update(running, network, 10 + start)
            assert running.topics._cache is not None
            same_state(running.topics._cache.state, rebuilt(network, config))
        # another replica places a question: the running bot sees the placements changed and rebuilds
        ask(network, 1, start=4)
        other = meaning_service(network, config)
        embed_all(network, other)
        update(other, network, 20)
        ask(network, 1, start=5)
        embed_all(network, running)
        assert update(running, network, 21).placed == 1
        assert running.topics._cache is not None
        same_state(running.topics._cache.state, rebuilt(network, config))
        # an erasure deletes a placed question: rebuilt too
        with database.session() as session:
            session.execute(delete(Question).where(Question.id == network.questions["cycling"].id))
        ask(network, 1, start=0)
        embed_all(network, running)
        update(running, network, 22)
        assert running.topics._cache is not None
        same_state(running.topics._cache.state, rebuilt(network, config))
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(NeedFit)) == 1
    finally:
        network.knowledge.close()


def test_a_gap_in_the_topic_ids_makes_the_next_run_rebuild(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a topic made and dropped (a rolled-back run) uses a sequence value: a new topic then gets
    another database id than the grouping gave it; the state is rebuilt under the stored ids. (SQLite reuses a
    dropped last id, so the gap is made here by a topic made and dropped during the run, on both databases.)"""
    config = NeedsConfig(refit_growth=10.0)
    running = NeedsService(network.knowledge, config=config)
    update(running, network, 0)
    with network.database.session() as session:
        provisional = needs_repo.get_last_need_topic_id(session) + 1
    create = needs_repo.create_need_topic

    def with_a_gap(session: Any, **kw: Any) -> Any:
        burnt = create(session, **kw)
        topic = create(session, **kw)
        session.delete(burnt)
        return topic

    monkeypatch.setattr(needs_repo, "create_need_topic", with_a_gap)
    ask(network, 1, start=6)
    assert update(running, network, 1).new_topics == 1
    monkeypatch.undo()
    with network.database.session() as session:
        assert needs_repo.get_last_need_topic_id(session) > provisional  # a real gap: not the grouping's id
    ask(network, 1, start=7)
    assert update(running, network, 2).placed == 1
    with network.database.session() as session:
        assigned = needs_repo.list_need_assignments(session)
        fit = needs_repo.get_last_need_fit(session)
        assert fit is not None
        fresh = NeedsService(network.knowledge, config=config)
        state = fresh.topics._rebuild(session, fresh.topics.grouper(), fit).state
    assert running.topics._cache is not None
    same_state(running.topics._cache.state, state)
    assert set(state.topics) == set(assigned.values())


def test_an_erasure_that_redacts_a_text_leaves_nothing_of_it_in_the_kept_state(network: Network) -> None:
    """Erasing a person named in someone else's question redacts the text but deletes no placed item: the running
    bot must not keep weighing (or label with) the erased name."""
    running = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    update(running, network, 0)
    with network.database.session() as session:
        add_question(
            session,
            "Wie weet iets over hondenlosloopweides? An Peeters had een voorbeeld",
            asker="UAALST",
            created_at=NOW + timedelta(hours=1),
        )
    update(running, network, 2)
    cache = running.topics._cache
    assert cache is not None and any("peeter" in t for t in cache.state.postings)  # the name is weighed
    with network.database.session() as session:
        report = erase_person(session=session, actor=Actor.cli("test"), slack_user_id="ULEAD", now=NOW)
        assert report.counts.get("values_swept")
    ask(network, 1, start=7)
    assert update(running, network, 3).placed == 1
    cache = running.topics._cache
    assert cache is not None
    assert not any("peeter" in t for t in cache.state.postings)
    assert not any("peeter" in t for words in cache.state.words.values() for t in words)
    assert not any("peeters" in text.lower() for text in cache.concepts)
    assert not any("peeters" in w.lower() for c in cache.concepts.values() for w in c.words)
    with network.database.session() as session:
        assert not any("peeters" in t.label.lower() for t in needs_repo.list_need_topics(session))
        same_state(cache.state, running.topics._rebuild(session, running.topics.grouper(), _last_fit(session)).state)


def _last_fit(session: Any) -> NeedFit:
    fit = needs_repo.get_last_need_fit(session)
    assert fit is not None
    return fit


def kept_equals_rebuilt(service: NeedsService, network: Network) -> None:
    """The state ``service`` kept equals one rebuilt from the database, bit for bit."""
    cache = service.topics._cache
    assert cache is not None
    with network.database.session() as session:
        same_state(cache.state, service.topics._rebuild(session, service.topics.grouper(), _last_fit(session)).state)


def test_a_rolled_back_run_keeps_nothing(network: Network) -> None:
    """A run's state is kept only once its transaction commits: after a rollback the next run rebuilds from what
    is stored, not from placements that never happened. The rolled-back run made a topic, which leaves its id used
    on PostgreSQL (a sequence does not roll back; SQLite gives it again): the next run still gives its new topics
    the ids the database gives them, so its state is kept and the run after it does not rebuild again."""
    running = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    update(running, network, 0)
    ask(network, 1, start=6)
    with pytest.raises(RuntimeError), network.database.session() as session:
        assert running.update_topics(session, now=NOW + timedelta(hours=1)).new_topics == 1
        raise RuntimeError("the pass fails after grouping (e.g. while proposing)")
    assert running.topics._cache is None
    ask(network, 1, start=7)
    report = update(running, network, 2)
    assert report.placed == 2 and report.new_topics >= 1
    rebuilds = running.topics.rebuilds
    ask(network, 1, start=0)
    assert update(running, network, 3).placed == 1
    assert running.topics.rebuilds == rebuilds  # the state the run after the rollback kept
    kept_equals_rebuilt(running, network)


def test_an_item_id_reused_after_a_delete_is_seen(network: Network) -> None:
    """SQLite gives a deleted last need item's id to the next one: the count and the last id are the same again,
    yet another question is placed (by another process) — the running bot must rebuild."""
    running = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    update(running, network, 0)
    (last,) = ask(network, 1, start=6)
    update(running, network, 1)
    with network.database.session() as session:
        session.execute(delete(Question).where(Question.id == int(last[2:])))
    ask(network, 1, start=3)
    update(NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0)), network, 2)  # another replica
    ask(network, 1, start=7)
    assert update(running, network, 3).placed == 1
    kept_equals_rebuilt(running, network)


def test_moves_by_another_process_are_seen(network: Network) -> None:
    """Moving placed items (another process's run) changes neither their count nor their last id."""
    running = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    update(running, network, 0)
    with network.database.session() as session:
        assigned = needs_repo.list_need_assignments(session)
        key, topic = next(iter(sorted(assigned.items())))
        other = next(t for t in sorted(set(assigned.values())) if t != topic)
        needs_repo.update_need_item_topics(session, moves=[(key, other, 0.5)])
    ask(network, 1, start=7)
    assert update(running, network, 1).placed == 1
    kept_equals_rebuilt(running, network)


def test_a_second_thread_does_not_run_the_pass_at_once(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's claim of the grouping lock always succeeds: a request thread (``overview``, ``wait=False``) must
    not take the same kept state while the job runner's pass is grouping; it reports busy."""
    running = NeedsService(network.knowledge, config=NeedsConfig(refit_growth=10.0))
    update(running, network, 0)
    ask(network, 1, start=6)
    inside, go_on = threading.Event(), threading.Event()
    listed = needs_repo.list_unplaced_need_sources

    def slow(session: Any) -> Any:
        inside.set()
        assert go_on.wait(10)
        return listed(session)

    monkeypatch.setattr(needs_repo, "list_unplaced_need_sources", slow)
    reports: list[Any] = []
    job = threading.Thread(target=lambda: reports.append(update(running, network, 1)))
    job.start()
    try:
        assert inside.wait(10)
        with network.database.session() as session:
            assert running.update_topics(session, now=NOW + timedelta(hours=1), wait=False).busy
    finally:
        go_on.set()
        job.join(10)
    assert reports and reports[0].placed == 1


def test_a_replica_catches_up_with_another_ones_placements(network: Network) -> None:
    """Two replicas alternate runs under one refit: each adds the other's new placements to its kept state (no
    rebuild), and that state equals one rebuilt from the database."""
    config = NeedsConfig(refit_growth=10.0)
    first, second = NeedsService(network.knowledge, config=config), NeedsService(network.knowledge, config=config)
    update(first, network, 0)
    update(second, network, 1)
    for n, start in enumerate((6, 7, 3)):
        ask(network, 1, start=start)
        update(first if n % 2 == 0 else second, network, 2 + n)
    ask(network, 1, start=5)
    update(second, network, 9)
    # one rebuild: its first placing run, with nothing kept yet (its first run had nothing to place); then catch-ups
    assert second.topics.rebuilds == 1
    assert second.topics.catch_ups == 1
    kept_equals_rebuilt(second, network)


def test_a_replica_rebuilds_when_another_one_moved_a_placed_question(network: Network) -> None:
    """New placements by another replica are caught up only when they are the whole change: a question it moved
    to another topic as well (a later run may move one) makes the kept state rebuilt, never silently kept."""
    config = NeedsConfig(refit_growth=10.0)
    first, second = NeedsService(network.knowledge, config=config), NeedsService(network.knowledge, config=config)
    update(first, network, 0)
    ask(network, 1, start=6)
    update(second, network, 1)
    assert second.topics._cache is not None
    ask(network, 1, start=7)
    update(first, network, 2)
    with network.database.session() as session:
        rows = needs_repo.list_need_item_rows(session)
        topics = sorted({topic for _, _, topic in rows})
        assert len(topics) >= 2
        key, topic = next((key, topic) for _, key, topic in rows)
        target = next(t for t in topics if t != topic)
        needs_repo.update_need_item_topics(session, moves=[(key, target, 0.5)])
    rebuilds, catch_ups = second.topics.rebuilds, second.topics.catch_ups
    ask(network, 1, start=3)
    update(second, network, 3)
    assert (second.topics.rebuilds, second.topics.catch_ups) == (rebuilds + 1, catch_ups)
    kept_equals_rebuilt(second, network)
