"""The meaning-based signal: vectors stored by text hash and model, filled in the background, reused across restarts
and replicas; the lexical engine answers alone while they are missing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.jobs import EMBED_JOB_ID, JobRunner
from bot.knowledge import KnowledgeBase
from bot.matching import Matcher
from bot.matching.documents import ExpertDoc
from bot.matching.semantic import KINDS, SemanticIndex, content_key, document_text, fill
from bot.routing import RoutingService
from handlers.context import Services
from handlers.outbox import OutboxSender
from storage import register_repo as repo
from storage.db import Database
from storage.models import Consent, Embedding, Expert
from tests.matching.conftest import EXPERTS, PLACES, THEMES, TODAY, expert

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOPICS = ("zorblax", "huur", "leegstand", "wijk", "klimaat", "armoede", "europa")


class FakeEmbedder:
    """Texts about the same made-up topic point the same way; counts what it embeds."""

    model_id = "fake-model-1"

    def __init__(self) -> None:
        self.embedded = 0
        self.queries = 0

    def _vec(self, text: str) -> np.ndarray:
        t = text.lower()
        v = np.array([1.0 if k in t else 0.0 for k in TOPICS] + [0.3 + (len(t) % 5) / 10], dtype=np.float32)
        return v / np.linalg.norm(v)

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += len(texts)
        return np.stack([self._vec(t) for t in texts])

    def query(self, text: str) -> np.ndarray:
        self.queries += 1
        v = self._vec(text)
        if "quux" in text:  # a paraphrase of zorblax no word of which is in the register
            v = self._vec("zorblax")
        return v


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], bytes] = {}

    def get(self, model_id: str, keys: Sequence[str]) -> dict[str, bytes]:
        return {k: self.rows[(model_id, k)] for k in keys if (model_id, k) in self.rows}

    def put(self, model_id: str, items: Sequence[tuple[str, bytes]]) -> None:
        self.rows.update(((model_id, k), v) for k, v in items)


ZORBLAX = expert(50, "Mats", city="Gent", role="zorblax-expert", expertise=("zorblax",))


def build(experts: list[ExpertDoc]) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=[], answers=[])
    return m


def documents(m: Matcher) -> dict[str, object]:
    return {k: m.documents(k) for k in KINDS}


class TestEngine:
    def test_a_paraphrase_is_found_by_meaning_with_a_reason(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        assert m.search("quux", today=TODAY).experts == []  # lexically: nothing
        m.semantic = SemanticIndex(FakeEmbedder(), weight=0.5, z_floor=0.5)
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
        r = m.search("quux", today=TODAY)
        assert [h.doc.name for h in r.experts][:1] == ["Mats"]
        assert [x.kind for x in r.experts[0].reasons] == ["meaning"]
        assert r.gap_features["semantic"] > 0.9

    def test_without_vectors_the_lexical_engine_answers_alone(self) -> None:
        plain = build([*EXPERTS, ZORBLAX])
        waiting = build([*EXPERTS, ZORBLAX])
        embedder = FakeEmbedder()
        waiting.semantic = SemanticIndex(embedder)  # nothing filled yet
        for q in ("leegstandsheffing", "wijkwerking in Gent", "zorblax"):
            a, b = plain.search(q, today=TODAY), waiting.search(q, today=TODAY)
            assert [(h.doc.id, h.score, h.weak) for h in a.experts] == [(h.doc.id, h.score, h.weak) for h in b.experts]
            assert a.gap == b.gap
        assert embedder.queries == 0  # no vectors: the question is not even embedded

    def test_a_changed_text_loses_its_vector_an_unchanged_one_keeps_it(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        m.semantic = SemanticIndex(FakeEmbedder())
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
        assert m.semantic.wanted(documents(m)) == []  # type: ignore[arg-type]
        m.upsert_expert(ExpertDoc(**{**_fields(ZORBLAX), "availability": "away"}))  # same text
        assert m.semantic.wanted(documents(m)) == []  # type: ignore[arg-type]
        changed = ExpertDoc(**{**_fields(ZORBLAX), "expertise": ("zorblax", "huur")})
        m.upsert_expert(changed)
        wanted = m.semantic.wanted(documents(m))  # type: ignore[arg-type]
        assert [(k, d) for k, d, _, _ in wanted] == [("expert", 50)]
        m.remove_expert(50)
        assert m.semantic.count("expert") == len(EXPERTS) - 1  # the withdrawn expert is never indexed

    def test_fill_reuses_stored_vectors_and_respects_its_budget(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        store = MemoryStore()
        first = FakeEmbedder()
        report = fill(SemanticIndex(first), documents(m), store, budget_seconds=0.0)  # type: ignore[arg-type]
        assert report.embedded == 0 and report.missing > 0  # no time: nothing computed, nothing lost
        report = fill(SemanticIndex(first), documents(m), store, batch=2)  # type: ignore[arg-type]
        assert report.embedded == first.embedded == report.loaded + report.embedded > 0
        again = FakeEmbedder()
        index = SemanticIndex(again)
        report = fill(index, documents(m), store)  # type: ignore[arg-type]
        assert again.embedded == 0 and report.loaded == first.embedded and report.missing == 0
        key = content_key(document_text(ZORBLAX) or "")
        assert index.has("expert", 50, key)


def _fields(doc: ExpertDoc) -> dict[str, object]:
    return {f: getattr(doc, f) for f in doc.__slots__}  # type: ignore[attr-defined]


def _seed(database: Database) -> None:
    with database.session() as s:
        for email, name, topic in (
            ("an@gent.be", "An Peeters", "leegstandsheffing"),
            ("bo@gent.be", "Bo Claes", "wijkwerking"),
            ("cas@gent.be", "Cas Maes", "klimaatadaptatie"),
            ("dirk@gent.be", "Dirk Wouters", "zorblax"),
        ):
            e = repo.create_expert(s, email=email, name=name, organisation="Stad Gent", source="test", now=NOW)
            e.consent = Consent.CONFIRMED
            e.expertise = [topic]


class TestInTheDatabase:
    def test_load_never_embeds_the_job_does_and_a_restart_reuses_the_vectors(self, database: Database) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        assert embedder.embedded == 0  # starting up (a request, an import, make demo) never computes vectors
        assert [h.doc.name for h in kb.search("leegstandsheffing", now=NOW).experts][:1] == ["An Peeters"]
        report = kb.embed_pending(budget_seconds=60, now=NOW)
        assert report.embedded == 4 and report.missing == 0
        with database.session() as s:
            assert s.scalar(select(func.count()).select_from(Embedding)) == 4
        assert [h.doc.name for h in kb.search("quux", now=NOW).experts][:1] == ["Dirk Wouters"]
        kb.close()
        # a restart (or another replica): the vectors come from the database, nothing is embedded again
        restarted_embedder = FakeEmbedder()
        restarted = KnowledgeBase(database, embedder=restarted_embedder)
        restarted.load()
        assert restarted_embedder.embedded == 0
        assert restarted.matcher is not None and restarted.matcher.semantic is not None
        assert restarted.matcher.semantic.count("expert") == 4
        assert restarted.embed_pending(now=NOW).embedded == 0
        restarted.close()

    def test_an_edited_profile_is_embedded_anew_and_the_old_vector_purged(self, database: Database) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        kb.embed_pending(now=NOW)
        with database.session() as s:
            e = s.scalars(select(Expert).where(Expert.email == "bo@gent.be")).one()
            e.expertise = ["huurwaarborg"]
        report = kb.embed_pending(now=NOW + timedelta(hours=1))
        assert report.embedded == 1
        with database.session() as s:
            assert s.scalar(select(func.count()).select_from(Embedding)) == 5  # the old one is recent: kept a while
        kb.embed_pending(now=NOW + timedelta(days=2))
        with database.session() as s:
            assert s.scalar(select(func.count()).select_from(Embedding)) == 4
        kb.close()

    def test_the_job_runner_embeds_in_its_own_job(self, database: Database) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: NOW)
        client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
        runner = JobRunner(
            services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client), worker_id="test"
        )
        runner.embed_documents()
        assert embedder.embedded == 4
        runner.run_pass()  # the routing pass does not embed
        assert embedder.embedded == 4
        kb.close()

    def test_without_the_signal_no_embedding_job_is_scheduled(self, database: Database) -> None:
        kb = KnowledgeBase(database)
        kb.load()
        services = Services(settings=Settings(), db=database, knowledge=kb, clock=lambda: NOW)
        client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")
        runner = JobRunner(
            services, routing=RoutingService(knowledge=kb), sender=OutboxSender(services, client), worker_id="test"
        )
        assert kb.embedder is None
        runner.start()
        try:
            assert runner.scheduler.get_job(EMBED_JOB_ID) is None
        finally:
            runner.shutdown()
            kb.close()
