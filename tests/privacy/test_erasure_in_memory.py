"""An erasure also empties the running processes' memory: the matcher's index and every cache derived from it.

Lieve Vermeulen (``tests.privacy.conftest``) is searched for, typed with typos and asked about while a knowledge base
is live (her private question went through the matcher when it was routed), then erased as the Slack command does
(in this process: the session events) and as the CLI does (another process: this one learns it through ``sync``).
Afterwards no string reachable from the knowledge base — index, vocabularies, protected-name sets, memos, caches of
analysed words and of question vectors — holds her name, her e-mail address or her private question's text. The scan
walks every object the knowledge base holds, so a cache added later that keeps them fails here too.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import types
import weakref
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import event

from bot.actors import Actor
from bot.cli import main
from bot.knowledge import KnowledgeBase
from bot.needs.core import Asker, NeedsConfig
from bot.needs.jobs import NeedsPass
from bot.needs.meaning import QuestionMeaning
from bot.needs.periods import parse_period
from bot.needs.proposals import Proposals
from bot.needs.service import NeedsService
from bot.privacy import erase_person
from storage.db import Database
from storage.enums import ERASURE_ENTITY
from storage.models import AuditLog
from tests.privacy.conftest import LATER, LIEVE, LIEVE_EMAIL, Ids, _routing_for
from tests.routing.conftest import NOW, World, add_expert

PRIVATE_TEXT = "Hoe int je een leegstandsheffing bij een faillissement?"
# what must be gone: her surname and its stem (her first name, "lieve", is a Dutch word), her e-mail address, her
# private question
FORBIDDEN = ("vermeul", "lieve.vermeulen", "int je een leegstandsheffing bij een faillissement")
QUERIES = (
    "Lieve Vermeulen",
    "vermeulen leegstandsheffing",
    "wie is vermeulem",  # a typo of her surname: the repair and the typo vocabulary look at it
    "lieve.vermeulen@example.org",
    "leegstandsheffing",
    PRIVATE_TEXT,  # as the routing searched it
)
_OPAQUE = (
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    Database,
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    np.ndarray,
    type(threading.RLock()),
    type(threading.Lock()),
)


class RememberingEmbedder:
    """A stand-in for multilingual-e5 that, like ``E5Embedder``, caches question vectors by their text."""

    model_id = "test-embedder"

    def __init__(self) -> None:
        self.questions: dict[str, np.ndarray] = {}

    def passages(self, texts: Sequence[str]) -> Any:
        return np.stack([self._vector(t) for t in texts])

    def query(self, text: str) -> Any:
        got = self.questions.get(text)
        if got is None:
            got = self.questions[text] = self._vector(text)
        return got

    def forget_queries(self) -> None:
        self.questions.clear()

    @staticmethod
    def _vector(text: str) -> np.ndarray:
        v = np.random.default_rng(len(text)).standard_normal(8).astype(np.float32)
        return v / np.linalg.norm(v)


def reachable_strings(*roots: object) -> Iterator[str]:
    """Every string reachable from ``roots`` (through containers and instances; the database connection, modules,
    classes and functions are not followed)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, _OPAQUE) or type(obj).__module__.startswith(("sqlalchemy", "logging", "threading")):
            continue
        elif isinstance(obj, dict):  # (the garbage collector does not follow a dict's string keys)
            stack.extend(obj.keys())
            stack.extend(obj.values())
        else:
            stack.extend(gc.get_referents(obj))


def traces(*roots: object) -> list[str]:
    return sorted({s for s in reachable_strings(*roots) if any(f in s.casefold() for f in FORBIDDEN)})


def use(knowledge: KnowledgeBase) -> None:
    """Search the way people do, so that every memo and cache holds her name."""
    knowledge.embed_pending(now=LATER)  # the documents' vectors: a search embeds its question then
    for query in QUERIES:
        knowledge.search(query, now=LATER)
        knowledge.analyse(query)


def search_shows(knowledge: KnowledgeBase, query: str) -> str:
    result = knowledge.search(query, now=LATER, limit=20)
    return repr((result.experts, result.practices, result.answers)).casefold()  # the hits, their reasons


@pytest.fixture
def live(world: World, lieve: Ids) -> Iterator[KnowledgeBase]:
    """The world's knowledge base (this process) with a meaning signal, used by people before the erasure."""
    with world.db.session() as s:  # three experts with a vector: the meaning signal is used (its question embedded)
        add_expert(s, "Sofie Maes", organisation="Stad Brugge", expertise=["erfpacht"], slack="U0SOFIE01")
    kb = world.kb
    kb.close()
    kb.embedder = RememberingEmbedder()
    kb.load()
    use(kb)
    assert traces(kb), "the test must first see her name in memory"
    assert any("faillissement" in q for q in kb.embedder.questions)  # type: ignore[union-attr]
    yield kb
    kb.close()


@pytest.fixture
def replica(world: World, lieve: Ids) -> Iterator[KnowledgeBase]:
    """Another process's knowledge base over the same database, used before the erasure. She also answered a
    public question whose text does not name her: only her answer changes when she is erased."""
    asked = world.ask(text="Wie heeft ervaring met een leegstandsheffing voor garages?")
    with world.db.session() as s:
        routing_id = _routing_for(world, asked, LIEVE)
        world.service.answer(s, routing_id=routing_id, actor_slack_id=LIEVE, text="Een register.", now=LATER)
    other = Database(world.db.url)
    kb = KnowledgeBase(other, embedder=RememberingEmbedder())
    kb.load()
    use(kb)
    assert traces(kb)
    yield kb
    kb.close()
    other.dispose()


def erase_as_slack_does(world: World) -> None:
    with world.db.session() as session:
        erase_person(session=session, actor=Actor.slack(LIEVE, is_staff=False), slack_user_id=LIEVE, now=LATER)


def test_erasure_in_this_process_leaves_no_trace_in_its_memory(world: World, live: KnowledgeBase) -> None:
    erase_as_slack_does(world)
    assert traces(live) == []
    for query in QUERIES:  # (a search for her name after the erasure remembers its words again: they are typed)
        assert "vermeulen" not in search_shows(live, query)


def test_another_process_converges_after_its_sync(world: World, replica: KnowledgeBase) -> None:
    result = CliRunner().invoke(main, ["--database", world.db.url, "privacy", "erase", "--email", LIEVE_EMAIL, "--yes"])
    assert result.exit_code == 0, result.output
    assert traces(replica), "before its sync, another process still holds what it read"
    replica.sync()
    assert traces(replica) == []
    for query in QUERIES:
        assert "vermeulen" not in search_shows(replica, query)


def test_both_processes_after_a_slack_erasure(world: World, live: KnowledgeBase, replica: KnowledgeBase) -> None:
    erase_as_slack_does(world)
    assert traces(live) == []
    replica.sync()
    assert traces(replica) == []
    assert search_shows(live, "leegstandsheffing") == search_shows(replica, "leegstandsheffing")


def test_searches_rank_as_a_fresh_start_after_an_erasure(world: World, live: KnowledgeBase) -> None:
    """What stays is what a process started after the erasure would have: the same results."""
    erase_as_slack_does(world)
    fresh = KnowledgeBase(world.db)
    fresh.load()
    try:
        for query in (*QUERIES, "leegstand", "leegstandsheffing winkelpanden", "tweede verblijven"):
            assert search_shows(live, query) == search_shows(fresh, query), query
    finally:
        fresh.close()
    assert NOW < LATER


def test_the_knowledge_needs_forget_the_texts_they_analysed(world: World, live: KnowledgeBase) -> None:
    """The grouping of questions into topics remembers texts (analyses, vectors by text): they go too."""
    assert live.embedder is not None
    needs = NeedsService(live, meaning=QuestionMeaning(live.embedder, None))  # as ``NeedsService.from_settings``
    assert needs.meaning is not None
    needs.core.vectoriser.concepts(PRIVATE_TEXT)
    needs.meaning.embed_missing([PRIVATE_TEXT], budget_seconds=60.0)
    assert needs.meaning.vectors([PRIVATE_TEXT])
    grouping = NeedsService(live)  # by words: every question is placed at once
    with world.db.session() as session:
        assert grouping.update_topics(session, now=LATER).placed
        staff = Actor.slack("U0STAFF01", is_staff=True)
        assert grouping.overview(session, actor=staff, period=parse_period("2026-Q4"), now=LATER).topics
    for service in (needs, grouping):
        assert [t for t in traces(service) if "faillissement" in t]
    erase_as_slack_does(world)
    assert traces(needs) == []
    assert traces(grouping) == []


def test_each_erasure_is_followed_once_per_process(world: World, live: KnowledgeBase, replica: KnowledgeBase) -> None:
    """Forgetting costs a rebuild of the vocabularies: a sync without a new erasure does not forget again."""
    followed = {"live": 0, "replica": 0}
    live.on_erasure(lambda: followed.__setitem__("live", followed["live"] + 1))
    replica.on_erasure(lambda: followed.__setitem__("replica", followed["replica"] + 1))
    replica.sync()
    assert followed == {"live": 0, "replica": 0}
    erase_as_slack_does(world)
    live.sync()
    replica.sync()
    replica.sync()
    assert followed == {"live": 1, "replica": 1}


def test_an_erasure_stamped_by_a_slower_clock_is_followed_too(world: World, replica: KnowledgeBase) -> None:
    """Replicas' clocks differ: the newest erasure is the highest audit id, not the latest stamp."""
    followed: list[int] = []
    replica.on_erasure(lambda: followed.append(1))
    erase_as_slack_does(world)
    replica.sync()
    assert followed == [1]
    with world.db.session() as session:  # another erasure, recorded by a process whose clock is a day behind
        session.add(
            AuditLog(
                at=LATER - timedelta(days=1),
                actor="erased",
                action="erase",
                entity_type=ERASURE_ENTITY,
                entity_key="person:erased",
            )
        )
    replica.sync()
    assert followed == [1, 1]


def test_an_erasure_committed_while_a_sync_reads_is_followed_after_its_records(
    world: World, replica: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erasure may commit while another process's sync is reading (PostgreSQL's READ COMMITTED: each statement
    sees the latest commits). The sync must not take the erasure as followed before it re-read the records the
    erasure changed: the vocabularies would then be rebuilt from her records still in the index, and never again."""
    from storage import index_repo  # noqa: PLC0415

    read_themes = index_repo.get_latest_theme_change
    erased: list[bool] = []

    def erase_meanwhile(session: Any) -> Any:  # after the records were listed, before the sync ends
        if not erased:
            erased.append(True)
            erase_as_slack_does(world)
        return read_themes(session)

    monkeypatch.setattr(index_repo, "get_latest_theme_change", erase_meanwhile)
    replica.sync()
    monkeypatch.undo()
    replica.sync()  # the records the erasure changed are re-read now, and what was derived from them goes
    assert erased and traces(replica) == []


# --- what this process does after a commit (``after_commit``) runs once the change is committed: a failure there must
# not reach whoever committed (an erasure that worked would be reported as an error), and what was missed is followed
# at the next ``sync`` (for an erasure: forgotten again)


def _failing_once(original: object) -> tuple[list[int], object]:
    calls: list[int] = []

    def fail_first(*args: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a cache could not be rebuilt")
        return original(*args)  # type: ignore[operator]

    return calls, fail_first


def test_a_failing_refresh_after_an_erasure_is_logged_and_the_next_sync_forgets(
    world: World, live: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert live.matcher is not None
    calls, fail_first = _failing_once(live.matcher.forget_erased)
    monkeypatch.setattr(live.matcher, "forget_erased", fail_first)
    with caplog.at_level(logging.ERROR, logger="bot.knowledge"):
        erase_as_slack_does(world)  # the commit returns normally: the erasure is done
    assert calls == [1]
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "bot.knowledge"]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert traces(live), "what the failed refresh should have forgotten is still there"
    live.sync()
    assert calls == [1, 1]
    assert traces(live) == []
    live.sync()  # followed: not forgotten again
    assert calls == [1, 1]


def test_a_failing_erasure_callback_does_not_reach_the_committer(
    world: World, live: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    forgotten: list[int] = []

    def forget() -> None:
        forgotten.append(1)
        if len(forgotten) == 1:
            raise RuntimeError("the needs' caches could not be dropped")

    live.on_erasure(forget)
    with caplog.at_level(logging.ERROR, logger="bot.knowledge"):
        erase_as_slack_does(world)
    assert forgotten == [1]
    assert any(r.exc_info for r in caplog.records if r.name == "bot.knowledge")
    live.sync()
    assert forgotten == [1, 1] and traces(live) == []


def test_a_failing_sync_keeps_what_it_missed_for_the_next(
    world: World, replica: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's erasure, followed at a sync that fails: the sync after follows it still."""
    assert replica.matcher is not None
    calls, fail_first = _failing_once(replica.matcher.forget_erased)
    monkeypatch.setattr(replica.matcher, "forget_erased", fail_first)
    erase_as_slack_does(world)
    with pytest.raises(RuntimeError):
        replica.sync()
    assert traces(replica)
    replica.sync()
    assert calls == [1, 1] and traces(replica) == []


# --- a needs pass running while an erasure is followed (another thread) ------------------------------------------


def test_a_needs_pass_during_an_erasure_drops_the_texts_it_read_before(
    world: World, live: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass read her private question before the erasure and analyses it after the erasure dropped the caches:
    what it put back goes at the end of the pass."""
    if world.db.dialect == "sqlite":
        # SQLite: the grouping's unit of work holds the database's write lock from before its first read
        # (``claim_needs_lock``), so no erasure commits during it; one commits between the pass's units (below)
        pytest.skip("an erasure cannot commit during the grouping on SQLite: its unit holds the write lock")
    grouping = NeedsService(live)
    vectoriser = grouping.core.vectoriser
    concepts = vectoriser.concepts
    erased: list[bool] = []

    def erase_meanwhile(text: str) -> Any:  # the texts are read; now the erasure commits and is followed
        if not erased:
            erased.append(True)
            erase_as_slack_does(world)
        return concepts(text)

    monkeypatch.setattr(vectoriser, "concepts", erase_meanwhile)
    with contextlib.suppress(Exception), world.db.session() as session:  # it may fail on a row the erasure deleted
        grouping.update_topics(session, now=LATER)
    assert erased
    assert traces(grouping) == []


def _everyone_in_one_city(_session: Any, slack_user_ids: Iterable[str]) -> dict[str, Asker]:
    return dict.fromkeys(slack_user_ids, Asker("Stad Gent", "Gent"))


def test_an_erasure_between_the_units_of_a_needs_pass_leaves_nothing_it_read(
    world: World, live: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The pass's grouping read and analysed her private question and committed; the erasure commits before the
    pass's proposals count what is due (on SQLite too: the pass holds no lock between its units) and is followed at
    once. The proposals (one organisation is enough here, so there are some) read nothing of her and analyse no text
    of hers for their "who could lead it" search; and nothing is left once the pass is done (the grouping's state,
    kept at its commit, goes at the pass's end). The order is recorded: a pass that counted its proposals in the
    grouping's unit of work would see the erasure only after them."""
    grouping = NeedsService(live, config=NeedsConfig(min_organisations=1), directory=_everyone_in_one_city)
    update_topics, state, search, due = grouping.update_topics, grouping.core.state, grouping.core.search, Proposals.due
    order: list[str] = []
    read: list[list[str]] = []  # what each proposal unit read of her: the members of the topics it proposes
    searched: list[str] = []  # what the proposals' views analysed

    def grouped(*args: Any, **kwargs: Any) -> Any:
        report = update_topics(*args, **kwargs)
        assert traces(grouping), "the grouping must have read her question"
        order.append("grouped")
        return report

    def committed(_session: Any) -> None:  # the grouping's unit of work committed: the erasure commits now
        if order == ["grouped"]:
            order.append("erased")
            erase_as_slack_does(world)

    def proposing(self: Proposals, *args: Any, **kwargs: Any) -> Any:
        order.append("proposing")
        return due(self, *args, **kwargs)

    def reading(*args: Any, **kwargs: Any) -> Any:
        found = state(*args, **kwargs)
        if "proposing" in order:
            read.append(traces(found))
        return found

    def analysing(query: str, **kwargs: Any) -> Any:
        searched.append(query)
        return search(query, **kwargs)

    monkeypatch.setattr(grouping, "update_topics", grouped)
    monkeypatch.setattr(grouping.core, "state", reading)
    monkeypatch.setattr(grouping.core, "search", analysing)
    monkeypatch.setattr(Proposals, "due", proposing)
    event.listen(world.db.sessions, "after_commit", committed)
    request.addfinalizer(lambda: event.remove(world.db.sessions, "after_commit", committed))
    result = NeedsPass(world.db, grouping, worker_id="test").run(LATER)
    assert result.ran and order[:3] == ["grouped", "erased", "proposing"]
    assert result.proposals and read and searched  # there were proposals, so what they read is checked
    assert read == [[]] * len(read)
    assert [q for q in searched if any(f in q.casefold() for f in FORBIDDEN)] == []
    assert traces(grouping) == []


def test_a_needs_service_is_not_kept_alive_by_the_knowledge_base(live: KnowledgeBase) -> None:
    """Each ``NeedsService`` registers for erasures once; a service no longer used is not kept (nor called)."""
    services = [weakref.ref(NeedsService(live)) for _ in range(3)]
    gc.collect()
    assert [ref() for ref in services] == [None, None, None]
    kept = NeedsService(live)
    forgotten: list[int] = []
    drop_topics = kept.topics.forget

    def count() -> None:
        forgotten.append(1)
        drop_topics()

    kept.topics.forget = count  # type: ignore[method-assign]
    live.refresh([("erasure", 1)])  # what following an erasure does
    assert forgotten == [1]
