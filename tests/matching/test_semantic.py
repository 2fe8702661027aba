"""The meaning-based signal: vectors stored by text hash and model, filled in the background, reused across restarts
and replicas; the lexical engine answers alone while they are missing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.cli import CliContext
from bot.cli.ask_cmds import run_console
from bot.config import Settings
from bot.jobs import EMBED_JOB_ID, JobRunner
from bot.knowledge import BackgroundEmbedding, KnowledgeBase
from bot.matching import MatchConfig, Matcher, engine
from bot.matching.calibration import Calibration
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.embedding import (
    KINDS,
    PART_KIND,
    content_key,
    document_parts,
    document_text,
    fill,
    probe_keys,
    probe_texts,
)
from bot.matching.gapmodel import ALL_FEATURES, CALIBRATED_FEATURES, GapModel, with_source
from bot.matching.semantic import SemanticIndex
from bot.routing import RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import register_repo as repo
from storage.db import Database
from storage.models import Consent, Embedding, Expert
from tests.matching.conftest import EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert

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


def assert_best_parts_mixed(
    index: SemanticIndex, embedder: FakeEmbedder, ids: list[int], matrix: Any
) -> Iterator[tuple[Any, Any]]:
    """For every test question: each expert's mixed cosine is 0.7 × its whole text's + 0.3 × its best part's (its
    whole text's alone without parts), and the best part overall is reported; yields (cosines, mixed) for more
    checks."""
    for question in QUESTIONS:
        q = embedder.query(question)
        cos = matrix @ q
        mixed, top_part = index._with_parts("expert", ids, cos, q)
        want, best_part = [], 0.0
        for row, doc_id in enumerate(ids):
            parts = [float(index._parts[k] @ q) for k in index._owners["expert"].get(doc_id, ()) if k in index._parts]
            want.append(0.7 * cos[row] + 0.3 * max(parts) if parts else cos[row])
            best_part = max([best_part, *parts])
        np.testing.assert_allclose(mixed, want, rtol=0, atol=1e-6)
        assert top_part == pytest.approx(best_part, abs=1e-6)
        yield cos, mixed


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

    def test_a_practice_found_by_meaning_brings_its_contact_with_that_practice_as_reason(self) -> None:
        noor = expert(60, "Noor", city="Gent", role="klimaatadviseur", expertise=("klimaatadaptatie",))
        work = PracticeDoc(9, "Zorblax-proefproject", "Een proef met zorblax.", city="Gent", contact_expert_id=60)

        def search(cfg: MatchConfig) -> list[tuple[str, list[str]]]:
            m = Matcher(themes=THEMES, places=PLACES, config=cfg)
            m.build(experts=[*EXPERTS, noor], practices=[*PRACTICES, work], answers=[])
            m.semantic = SemanticIndex(FakeEmbedder(), weight=0.5, z_floor=0.5)
            fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
            r = m.search("quux", today=TODAY)  # no word of it anywhere; the practice says the same thing
            assert [h.doc.id for h in r.practices][:1] == [9]
            return [(h.doc.name, [x.render("en") for x in h.reasons]) for h in r.experts]

        assert ("Noor", ["via practice: Zorblax-proefproject"]) in search(MatchConfig())
        assert "Noor" not in [name for name, _ in search(MatchConfig(practice_meaning_evidence=0.0))]

    def test_meaning_counts_more_when_the_words_cover_little_of_the_question(self) -> None:
        def ranking(cfg: MatchConfig, query: str) -> tuple[float, list[tuple[str, float]]]:
            m = Matcher(themes=THEMES, places=PLACES, config=cfg)
            m.build(experts=[*EXPERTS, ZORBLAX], practices=[], answers=[])
            m.semantic = SemanticIndex(FakeEmbedder())  # the default weight and floor
            fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
            r = m.search(query, today=TODAY)
            return r.gap_features["coverage"], [(h.doc.name, h.score) for h in r.experts]

        # "quux" means zorblax (Mats's topic) and is in no profile; "blorp" is no word at all; Bram's "buurtbudget"
        # is the only word the register knows: his match by words covers little of the question
        cover, lean = ranking(MatchConfig(), "quux blorp buurtbudget")
        assert cover < MatchConfig().meaning_lean_cover
        assert [name for name, _ in lean][:2] == ["Mats", "Bram"]
        _, flat = ranking(MatchConfig(meaning_lean=0.0), "quux blorp buurtbudget")
        assert [name for name, _ in flat][:2] == ["Bram", "Mats"]
        # a question the words cover well is ranked as before: the lean is no general rise of the meaning weight
        cover, lean = ranking(MatchConfig(), "quux buurtbudget wijkwerking")
        assert cover >= MatchConfig().meaning_lean_cover
        assert lean == ranking(MatchConfig(meaning_lean=0.0), "quux buurtbudget wijkwerking")[1]

    def test_a_question_in_another_language_gets_no_lean(self) -> None:
        def ranking(cfg: MatchConfig, query: str) -> tuple[float, float, list[str]]:
            m = Matcher(themes=THEMES, places=PLACES, config=cfg)
            m.build(experts=[*EXPERTS, ZORBLAX], practices=[], answers=[])
            m.semantic = SemanticIndex(FakeEmbedder())
            fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
            r = m.search(query, today=TODAY)
            return r.gap_features["coverage"], r.gap_features["foreign"], [h.doc.name for h in r.experts]

        # an English question: its words reach Bram's neighbourhood work only through translations, and so cover
        # little of it — which says nothing about them being noise; meaning alone (quux = zorblax) says Mats
        query = "quux neighbourhood work residents"
        cover, foreign, names = ranking(MatchConfig(), query)
        assert cover < MatchConfig().meaning_lean_cover and foreign >= MatchConfig().meaning_lean_foreign
        assert names[:2] == ["Bram", "Mats"]
        assert ranking(MatchConfig(meaning_lean_foreign=1.01), query)[2][:2] == ["Mats", "Bram"]  # with the lean
        # what is no word at all ("quux", "blorp") is no other language: a Dutch question keeps its lean
        cover, foreign, names = ranking(MatchConfig(), "quux blorp buurtbudget")
        assert foreign >= MatchConfig().meaning_lean_foreign  # the gap feature counts them
        assert names[:2] == ["Mats", "Bram"]

    def test_the_gap_features_carry_the_best_part_and_practice_similarity(self) -> None:
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=[*EXPERTS, ZORBLAX], practices=PRACTICES, answers=[])
        m.semantic = SemanticIndex(FakeEmbedder(), weight=0.5, z_floor=0.5)
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
        # Mats's expertise item "zorblax" alone is exactly the question's meaning; no practice is about it
        f = m.search("quux", today=TODAY).gap_features
        assert f["semantic_part"] == pytest.approx(1.0, abs=1e-3)  # vectors are stored compactly
        assert f["semantic_part"] >= f["semantic"]
        assert 0.0 <= f["p_semantic"] < 0.9
        # without part vectors the feature is 0, not an error
        m.semantic.part_weight = 0.0
        assert m.search("quux", today=TODAY).gap_features["semantic_part"] == 0.0

    def test_a_search_embeds_its_question_once_for_experts_and_practices(self) -> None:
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=[*EXPERTS, ZORBLAX], practices=PRACTICES, answers=[])
        embedder = FakeEmbedder()  # no cache of questions: each call is a model call
        m.semantic = SemanticIndex(embedder, weight=0.5, z_floor=0.5)
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
        assert m.semantic.count("expert") >= 3 and m.semantic.count("practice") >= 3
        before = embedder.queries  # (the fill embedded the out-of-domain probes as questions)
        r = m.search("quux", today=TODAY)
        assert embedder.queries == before + 1
        assert r.gap_features["semantic"] > 0.9 and r.gap_features["p_semantic"] > 0.0  # both kinds read it

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
        # the profile's new text, and the new expertise item ("zorblax" has its vector already)
        assert [(k, d, t) for k, d, _, t in wanted][1:] == [(PART_KIND, 50, "huur")]
        assert [(k, d) for k, d, _, _ in wanted] == [("expert", 50), (PART_KIND, 50)]
        m.remove_expert(50)
        assert m.semantic.count("expert") == len(EXPERTS) - 1  # the withdrawn expert is never indexed

    def test_an_expertise_item_paraphrased_counts_beside_the_whole_profile(self) -> None:
        # a broad profile: one of five topics is zorblax, so the profile as a whole is only a little about it
        broad = expert(60, "Wide", role="", expertise=("zorblax", "huur", "leegstand", "wijk", "klimaat"), bio="")
        m = build([*EXPERTS, broad])
        embedder = FakeEmbedder()
        whole = SemanticIndex(embedder, part_weight=0.0)
        mixed = SemanticIndex(embedder, part_weight=0.3)
        for index in (whole, mixed):
            fill(index, documents(m), None)  # type: ignore[arg-type]
        assert whole.count(PART_KIND) == mixed.count(PART_KIND) > 0
        profile = float(whole.similarity("expert", "quux").boosts.get(60, 0.0))
        boosted = float(mixed.similarity("expert", "quux").boosts.get(60, 0.0))
        # its "zorblax" item is exactly the question's meaning: cosine 1 for that part
        profile_cos = float(np.dot(embedder._vec(document_text(broad) or ""), embedder.query("quux")))
        assert profile_cos < 0.6
        sim = mixed.similarity("expert", "quux")
        assert sim.top_id == 60 and sim.top == pytest.approx(0.7 * profile_cos + 0.3 * 1.0, abs=1e-3)
        assert boosted > profile

    def test_each_documents_best_part_is_the_largest_of_its_parts_whatever_their_number(self) -> None:
        # one to five items, the best one first, last or in between, items shared; one expert's items have no vectors
        many = [
            expert(61, "One", role="", expertise=("zorblax",), bio=""),
            expert(62, "Five", role="", expertise=("huur", "leegstand", "wijk", "klimaat", "zorblax"), bio=""),
            expert(63, "Two", role="", expertise=("armoede", "europa"), bio=""),
            expert(64, "Three", role="", expertise=("europa", "zorblax wijk", "huur"), bio=""),
            expert(65, "Bare", role="", expertise=("klimaat armoede", "europa huur"), bio=""),
        ]
        m = build([*EXPERTS, *many])
        embedder = FakeEmbedder()
        index = SemanticIndex(embedder)
        bare = {content_key(t) for t in document_parts(many[-1])}
        for kind, doc_id, key, text in index.wanted(documents(m)):  # type: ignore[arg-type]
            if key not in bare:
                index.put(kind, doc_id, key, index.decode(index.encode(embedder.passages([text])[0])))
        snapshot = index._kind_matrix("expert")
        assert snapshot is not None
        ids, matrix = snapshot
        for cos, mixed in assert_best_parts_mixed(index, embedder, ids, matrix):
            assert mixed[ids.index(65)] == cos[ids.index(65)]  # no part vector yet: its whole text's cosine

    def test_a_document_with_many_parts_does_not_widen_every_documents_gather(self) -> None:
        # one expert lists 60 items, the others one to three: the columns gathered per search stay within twice the
        # parts' count (not 60 per document), the long list's other parts are maxed in on their own
        long = expert(90, "Long", role="", expertise=(*(f"onderwerp {i}" for i in range(59)), "zorblax"), bio="")
        many = [
            expert(91 + i, f"Short {i}", role="", expertise=("huur", "wijk klimaat", "europa")[: 1 + i % 3])
            for i in range(30)
        ]
        m = build([*EXPERTS, long, *many])
        embedder = FakeEmbedder()
        index = SemanticIndex(embedder)
        for kind, doc_id, key, text in index.wanted(documents(m)):  # type: ignore[arg-type]
            index.put(kind, doc_id, key, index.decode(index.encode(embedder.passages([text])[0])))
        snapshot = index._kind_matrix("expert")
        assert snapshot is not None
        ids, matrix = snapshot
        n_parts = sum(len(index._owners["expert"].get(d, ())) for d in ids)
        list(assert_best_parts_mixed(index, embedder, ids, matrix))
        cached = index._part_matrix["expert"]
        assert cached is not None
        assert cached[2][1].size <= 2 * n_parts

    def test_experts_listing_the_same_item_share_its_vector(self) -> None:
        twins = [expert(70 + i, f"Twin {i}", expertise=("zorblax", f"huur {i}")) for i in range(3)]
        m = build([*EXPERTS, *twins])
        embedder = FakeEmbedder()
        index = SemanticIndex(embedder)
        fill(index, documents(m), None)  # type: ignore[arg-type]
        items = {x for e in [*EXPERTS, *twins] for x in e.expertise}
        assert index.count(PART_KIND) == len(items)  # "zorblax" embedded once for the three of them
        assert embedder.embedded == index.count("expert") + len(items)
        m.remove_expert(71)
        assert index.wanted(documents(m)) == []  # type: ignore[arg-type]
        assert index.count(PART_KIND) == len(items) - 1  # "huur 1" was only Twin 1's

    def test_a_practice_title_and_tags_are_parts_of_it(self) -> None:
        wide = PracticeDoc(
            80, "Zorblax in de wijk", "Over huur, leegstand, klimaat en armoede.", tags=("huur", "klimaat")
        )
        assert document_parts(wide) == ("Zorblax in de wijk", "huur", "klimaat")
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=EXPERTS, practices=[*PRACTICES, wide], answers=[])
        embedder = FakeEmbedder()
        whole = SemanticIndex(embedder, part_weight=0.0)
        mixed = SemanticIndex(embedder)
        for index in (whole, mixed):
            fill(index, documents(m), None)  # type: ignore[arg-type]
        # the title says zorblax and (nearly) nothing else: its part pulls the practice towards the question
        assert mixed.similarity("practice", "quux").top_id == 80
        assert mixed.similarity("practice", "quux").top > whole.similarity("practice", "quux").top

    def test_items_without_vectors_leave_the_profile_similarity_as_it_was(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        embedder = FakeEmbedder()
        whole = SemanticIndex(embedder, part_weight=0.0)
        waiting = SemanticIndex(embedder)
        fill(whole, documents(m), None)  # type: ignore[arg-type]
        for kind, doc_id, key, text in waiting.wanted(documents(m)):  # type: ignore[arg-type]
            if kind != PART_KIND:
                waiting.put(kind, doc_id, key, waiting.decode(waiting.encode(embedder.passages([text])[0])))
        assert waiting.count(PART_KIND) == 0
        # (the calibration against out-of-domain probes is the fill's: only ``whole`` was filled)
        uncalibrated = replace(
            whole.similarity("expert", "quux"),
            top_rel=0.0,
            part_rel=0.0,
            calibrated=False,
            top_pos=0.0,
            part_pos=0.0,
            whole_pos=0.0,
        )
        assert waiting.similarity("expert", "quux") == uncalibrated

    def test_the_register_is_calibrated_against_out_of_domain_probes_stored_like_vectors(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        store = MemoryStore()
        first = FakeEmbedder()
        index = SemanticIndex(first)
        assert index.similarity("expert", "zorblax").calibrated is False
        fill(index, documents(m), store)  # type: ignore[arg-type]
        assert first.queries == len(probe_texts())  # each probe embedded once, as a question
        assert all((first.model_id, k) in store.rows for k in probe_keys())
        calib = index.calibration("expert")
        assert calib is not None and calib.top_std > 0.0
        # the probes' best cosines in *this* register: their mean is the "nobody here" level
        sims = [index.similarity("expert", t) for t in probe_texts()]
        assert calib.top_mean == pytest.approx(sum(x.top for x in sims) / len(sims), abs=1e-5)
        assert sum(x.top_rel for x in sims) == pytest.approx(0.0, abs=1e-3)
        sim = index.similarity("expert", "quux")
        assert sim.calibrated and sim.top_rel == pytest.approx((sim.top - calib.top_mean) / calib.top_std)
        assert m.search("zorblax", today=TODAY).gap_features["semantic_rel"] == 0.0  # no index attached yet
        m.semantic = index
        got = m.search("zorblax", today=TODAY).gap_features
        assert got["semantic_rel"] == pytest.approx(index.similarity("expert", "zorblax").top_rel, abs=1e-5) != 0.0
        # a restart: the probes come from the store, nothing is embedded, the calibration is the same
        again = FakeEmbedder()
        restarted = SemanticIndex(again)
        fill(restarted, documents(m), store, embed=False)  # type: ignore[arg-type]
        assert again.queries == again.embedded == 0
        assert restarted.calibration("expert") == calib

    def test_a_cosine_is_placed_between_the_registers_nobody_here_and_someone_here_levels(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        index = SemanticIndex(FakeEmbedder())
        fill(index, documents(m), None)  # type: ignore[arg-type]
        calib = index.calibration("expert")
        assert calib is not None
        # "someone here": how close each profile's nearest other profile comes (whole texts), on average
        snapshot = index._kind_matrix("expert")
        assert snapshot is not None
        vectors = [[float(x) for x in row] for row in snapshot[1]]
        nearest = [
            max(sum(a * b for a, b in zip(v, w, strict=True)) for j, w in enumerate(vectors) if j != i)
            for i, v in enumerate(vectors)
        ]
        assert calib.near_mean == pytest.approx(sum(nearest) / len(nearest), abs=1e-4)
        # 0 at the probes' level, 1 at the profiles' own level
        sims = [index.similarity("expert", t) for t in probe_texts()]
        assert sum(x.top_pos for x in sims) == pytest.approx(0.0, abs=1e-3)
        sim = index.similarity("expert", "zorblax")
        # (the fake vectors put the probes above the profiles' own level: the span is then the smallest allowed)
        span = max(calib.near_mean - calib.top_mean, 0.01)
        assert sim.top_pos == pytest.approx((sim.top - calib.top_mean) / span)
        assert sim.part_pos == pytest.approx((sim.top_part - calib.part_mean) / span)
        m.semantic = index
        got = m.search("zorblax", today=TODAY).gap_features
        assert got["semantic_pos"] == pytest.approx(sim.top_pos, abs=1e-5) != 0.0
        assert got["semantic_part_pos"] == pytest.approx(sim.part_pos, abs=1e-5)
        assert got["p_semantic_pos"] == pytest.approx(index.similarity("practice", "zorblax").top_pos, abs=1e-5)

    def test_the_gap_features_can_read_the_whole_texts_cosines_without_the_parts(self) -> None:
        # the ranking mixes each profile's best part into its similarity; "nobody knows" may read the whole texts'
        # cosines alone, against levels measured on whole texts alike
        m = build([*EXPERTS, ZORBLAX])
        index = SemanticIndex(FakeEmbedder())
        fill(index, documents(m), None)  # type: ignore[arg-type]
        calib = index.calibration("expert")
        snapshot = index._kind_matrix("expert")
        assert calib is not None and snapshot is not None
        ids, matrix = snapshot
        probes = [float((matrix @ FakeEmbedder().query(t)).max()) for t in probe_texts()]
        assert calib.whole_mean == pytest.approx(sum(probes) / len(probes), abs=1e-3)
        whole = matrix @ FakeEmbedder().query("zorblax")
        sim = index.similarity("expert", "zorblax")
        assert sim.whole == pytest.approx(float(whole.max()), abs=1e-4)
        assert sim.whole_id == ids[int(whole.argmax())] == 50
        assert sim.whole_z == pytest.approx(float((whole.max() - whole.mean()) / whole.std()), abs=1e-3)
        # the expertise item "zorblax" is mixed in: the mixed cosine is higher
        assert sim.top == pytest.approx(0.7 * sim.whole + 0.3 * sim.top_part, abs=1e-4)
        assert sim.top > sim.whole
        span = max(calib.near_mean - calib.whole_mean, 0.01)
        assert sim.whole_pos == pytest.approx((sim.whole - calib.whole_mean) / span)
        m.semantic = index
        got = m.search("zorblax", today=TODAY).gap_features
        assert got["semantic_whole"] == pytest.approx(sim.whole, abs=1e-5)
        assert got["semantic"] == pytest.approx(sim.top, abs=1e-5)
        assert got["semantic_whole_z"] == pytest.approx(sim.whole_z, abs=1e-5)
        assert got["semantic_whole_pos"] == pytest.approx(sim.whole_pos, abs=1e-5)
        assert got["agree_whole"] == 1.0
        p_sim = index.similarity("practice", "zorblax")
        assert got["p_semantic_whole_z"] == pytest.approx(p_sim.whole_z, abs=1e-5)
        assert got["p_semantic_whole_pos"] == pytest.approx(p_sim.whole_pos, abs=1e-5)

    def test_the_gap_models_similarity_source_is_a_choice_of_features(self) -> None:
        mixed = ("coverage", "semantic_z", "agree", "semantic_pos", "semantic_part_pos", "p_semantic_pos")
        assert with_source(mixed, "mix") == mixed
        whole = with_source(mixed, "whole")
        assert whole == (
            "coverage",
            "semantic_whole_z",
            "agree_whole",
            "semantic_whole_pos",
            "semantic_part_pos",  # a part's cosine alone has no whole-text counterpart
            "p_semantic_whole_pos",
        )
        assert with_source(mixed, "both") == (*mixed, *(f for f in whole if f not in mixed))
        assert set(whole) <= set(ALL_FEATURES)  # a shipped model may name them (``validated``)
        with pytest.raises(ValueError, match="similarity source"):
            with_source(mixed, "parts")
        # the whole-text position waits for the calibration like the others
        assert {"semantic_whole_pos", "p_semantic_whole_pos"} <= set(CALIBRATED_FEATURES)

    def test_a_whole_text_cosine_is_placed_between_levels_measured_on_whole_texts(self) -> None:
        calib = Calibration(top_mean=0.8, top_std=0.02, part_mean=0.82, part_std=0.02, near_mean=0.9, whole_mean=0.7)
        assert calib.whole_pos(0.7) == 0.0
        assert calib.whole_pos(0.8) == pytest.approx(0.5)
        assert calib.whole_pos(0.9) == pytest.approx(1.0)
        assert calib.top_pos(0.8) == 0.0  # the mixed cosine keeps its own "nobody here" level

    def test_a_register_of_alike_profiles_reads_the_same_cosine_as_less_close(self) -> None:
        # the same question and the same best cosine; in a register whose profiles are all about the same topic the
        # "someone here" level is higher, so the position is lower (a raw cosine or a z-score over the probes alone
        # would read the two the same)
        varied = Calibration(top_mean=0.8, top_std=0.02, part_mean=0.82, part_std=0.02, near_mean=0.9)
        alike = replace(varied, near_mean=0.95)
        assert alike.top(0.85) == varied.top(0.85)
        assert alike.top_pos(0.85) < varied.top_pos(0.85) == pytest.approx(0.5)
        assert varied.top_pos(0.8) == alike.top_pos(0.8) == 0.0
        assert varied.top_pos(0.9) == pytest.approx(1.0)
        assert varied.part_pos(0.87) == pytest.approx(0.5)

    def test_a_model_that_needs_the_calibration_waits_for_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        m = build([*EXPERTS, ZORBLAX])
        index = SemanticIndex(FakeEmbedder())
        for kind, doc_id, key, text in index.wanted(documents(m)):  # type: ignore[arg-type]
            index.put(kind, doc_id, key, index.decode(index.encode(FakeEmbedder().passages([text])[0])))
        m.semantic = index  # every vector, but no probe: not calibrated
        lexical = GapModel(("confidence",), (-1.0,), 0.0, (0.0,), (1.0,), 0.5)
        relative = GapModel(("semantic_rel",), (-1.0,), 5.0, (0.0,), (1.0,), 0.5)
        placed = GapModel(("semantic_pos",), (-1.0,), 5.0, (0.0,), (1.0,), 0.5)
        for model in (relative, placed):
            monkeypatch.setattr(engine, "shipped_models", lambda model=model: {"lexical": lexical, "semantic": model})
            r = m.search("zorblax", today=TODAY)
            assert r.gap_probability == pytest.approx(lexical.probability(r.gap_features), abs=1e-4)
        fill(index, documents(m), None)  # type: ignore[arg-type]  # the probes, then the calibration
        for model in (relative, placed):
            monkeypatch.setattr(engine, "shipped_models", lambda model=model: {"lexical": lexical, "semantic": model})
            r = m.search("zorblax", today=TODAY)
            assert r.gap_probability == pytest.approx(model.probability(r.gap_features), abs=1e-4)
        # every calibrated feature waits for the calibration of the kind it reads
        assert set(CALIBRATED_FEATURES) == engine.EXPERT_CALIBRATED | engine.PRACTICE_CALIBRATED

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


class Interleaved(dict[int, tuple[str, ...]]):
    """An index's owners map that runs ``then`` (the background fill, which takes no lock) right after the look-up
    of document ``at``: a search building its parts cache meets a change half-way, in the same order every run."""

    def __init__(self, owners: dict[int, tuple[str, ...]], at: int, then: Callable[[], object]) -> None:
        super().__init__(owners)
        self.at = at
        self.then: list[Callable[[], object]] = [then]

    def get(self, key: int, default: Any = None) -> Any:
        got = super().get(key, default)
        while key == self.at and self.then:
            self.then.pop()()
        return got


QUESTIONS = ("zorblax", "quux", "leegstand huur", "wijk klimaat", "armoede europa")


class TestChangesDuringASearch:
    """The fill changes the index while searches run (it takes no lock): what a search built from the index before
    a change is never used after it."""

    @staticmethod
    def similarities(index: SemanticIndex) -> list[tuple[dict[int, float], float, int | None]]:
        out = []
        for q in QUESTIONS:
            sim = index.similarity("expert", q)
            out.append(({k: round(v, 5) for k, v in sim.boosts.items()}, round(sim.top, 5), sim.top_id))
        return out

    # the first row (the rows after it shift), the last (its row is gone; its item stays, Mats lists it too)
    @pytest.mark.parametrize("gone", [EXPERTS[0].id, 51])
    def test_a_document_removed_while_a_search_builds_the_parts_cache(self, gone: int) -> None:
        m = build([*EXPERTS, ZORBLAX, expert(51, "Mia", role="adviseur", expertise=("zorblax", "huur"))])
        before = documents(m)
        after = {k: {i: d for i, d in docs.items() if (k, i) != ("expert", gone)} for k, docs in before.items()}  # type: ignore[attr-defined]
        index = SemanticIndex(FakeEmbedder())
        fill(index, before, None)  # type: ignore[arg-type]
        index._owners["expert"] = Interleaved(index._owners["expert"], gone, lambda: index.wanted(after))
        index._part_matrix["expert"] = None  # the fill's calibration built it: the search must build it anew here
        index.similarity("expert", "zorblax")  # built its caches from the rows before the removal
        assert index.count("expert") == len(after["expert"])  # the removal happened meanwhile
        fresh = SemanticIndex(FakeEmbedder())
        fill(fresh, after, None)
        assert self.similarities(index) == self.similarities(fresh)  # no IndexError, no part on another's row

    def test_a_part_added_while_a_search_builds_the_parts_cache(self) -> None:
        m = build([*EXPERTS, ZORBLAX])
        index = SemanticIndex(FakeEmbedder())
        item = EXPERTS[0].expertise[0]
        wanted = index.wanted(documents(m))  # type: ignore[arg-type]
        fill(index, documents(m), None)  # type: ignore[arg-type]
        part = next(w for w in wanted if w[0] == PART_KIND and w[3] == item)
        index._parts.pop(part[2])  # the first expert's first item has no vector yet...

        def arrives() -> None:  # ...and the fill puts it once the search has passed that expert's row
            index.put(*part[:3], index.embedder.passages([item])[0])

        index._owners["expert"] = Interleaved(index._owners["expert"], EXPERTS[1].id, arrives)
        index.similarity("expert", item)
        fresh = SemanticIndex(FakeEmbedder())
        fill(fresh, documents(m), None)  # type: ignore[arg-type]
        assert self.similarities(index) == self.similarities(fresh)  # the item counts from the next search on


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


PROBES = len(probe_keys())  # the calibration's out-of-domain questions are stored with the documents' vectors


class TestInTheDatabase:
    def test_load_never_embeds_the_job_does_and_a_restart_reuses_the_vectors(self, database: Database) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        assert embedder.embedded == 0  # starting up (a request, an import, make demo) never computes vectors
        assert [h.doc.name for h in kb.search("leegstandsheffing", now=NOW).experts][:1] == ["An Peeters"]
        report = kb.embed_pending(budget_seconds=60, now=NOW)
        assert report.embedded == 8 and report.missing == 0  # 4 profiles and their 4 expertise items
        with database.session() as s:
            assert s.scalar(select(func.count()).select_from(Embedding)) == 8 + PROBES
        assert [h.doc.name for h in kb.search("quux", now=NOW).experts][:1] == ["Dirk Wouters"]
        kb.close()
        # a restart (or another replica): the vectors come from the database, nothing is embedded again
        restarted_embedder = FakeEmbedder()
        restarted = KnowledgeBase(database, embedder=restarted_embedder)
        restarted.load()
        assert restarted_embedder.embedded == 0
        assert restarted.matcher is not None and restarted.matcher.semantic is not None
        assert restarted.matcher.semantic.count("expert") == 4
        assert restarted.matcher.semantic.count(PART_KIND) == 4
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
        assert report.embedded == 2  # the profile's new text and the new expertise item
        with database.session() as s:
            assert (
                s.scalar(select(func.count()).select_from(Embedding)) == 10 + PROBES
            )  # the old ones are recent: kept a while
        kb.embed_pending(now=NOW + timedelta(days=2))
        with database.session() as s:  # the old profile and item go; every item in use stays
            assert s.scalar(select(func.count()).select_from(Embedding)) == 8 + PROBES
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
        assert embedder.embedded == 8
        runner.run_pass()  # the routing pass does not embed
        assert embedder.embedded == 8
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


class TestBackgroundEmbedding:
    """Processes without the job runner (the console, ``wieweet demo``) fill the vectors in the background."""

    def test_it_works_only_while_idle_and_stores_what_it_computes(self, database: Database) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        filler = BackgroundEmbedding(kb, clock=lambda: NOW)
        filler.start()
        time.sleep(0.2)
        assert embedder.embedded == 0  # never told the process is idle: nothing computed
        filler.idle()
        assert filler.done.wait(10)
        assert filler.embedded == 8 and embedder.embedded == 8
        filler.stop()
        assert [h.doc.name for h in kb.search("quux", now=NOW).experts][:1] == ["Dirk Wouters"]
        with database.session() as s:
            assert s.scalar(select(func.count()).select_from(Embedding)) == 8 + PROBES
        kb.close()

    def test_busy_stops_it_after_the_current_text(self, database: Database) -> None:
        _seed(database)
        embedder = SlowEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        filler = BackgroundEmbedding(kb, clock=lambda: NOW)
        filler.start()
        filler.idle()
        assert embedder.started.wait(5)
        filler.busy()  # a question arrives while the first text is being embedded
        embedder.release.set()
        time.sleep(0.3)
        assert embedder.embedded == 1  # that text is finished, no other is started
        assert not filler.done.is_set()
        filler.idle()
        assert filler.done.wait(10)
        assert embedder.embedded == 8
        filler.stop()
        kb.close()

    def test_the_console_fills_after_its_first_answer_while_waiting(
        self, database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _seed(database)
        embedder = FakeEmbedder()
        kb = KnowledgeBase(database, embedder=embedder)
        kb.load()
        seen: list[int] = []
        lines = iter(["wie weet iets over leegstandsheffing?", "quux", ":quit"])

        def fake_input(_prompt: str = "") -> str:
            assert kb.matcher is not None and kb.matcher.semantic is not None
            if seen:  # from the second prompt on the vectors are filled while the console waits
                deadline = time.monotonic() + 10
                while kb.matcher.semantic.count("expert") < 4 and time.monotonic() < deadline:
                    time.sleep(0.01)
            seen.append(kb.matcher.semantic.count("expert"))
            return next(lines)

        monkeypatch.setattr("builtins.input", fake_input)
        cli = CliContext(settings=Settings(database_url=database.url), _db=database)
        run_console(cli, lang="nl", kb=kb, fill_vectors=True)
        assert seen[:2] == [0, 4]  # nothing before the first answer; all of it while waiting for the second question
        assert "Dirk Wouters" in capsys.readouterr().out  # found by meaning
        kb.close()


class SlowEmbedder(FakeEmbedder):
    """Holds the first text until released."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        self.started.set()
        self.release.wait(5)
        return super().passages(texts)
