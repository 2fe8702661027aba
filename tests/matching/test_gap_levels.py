"""The register's own levels of the words' gap features (round 18): an option, off by default, measured in the
background, read by the search only once they are there and only where the semantic model decides."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from bot.config import read_settings
from bot.knowledge import KnowledgeBase
from bot.matching import MatchConfig, Matcher
from bot.matching.embedding import fill
from bot.matching.gapmodel import shipped_models
from bot.matching.levels import (
    LEVELS_SAMPLE,
    MIN_SD,
    WORD_FEATURES,
    RegisterLevels,
    levels_model,
    measure_levels,
    naming,
    pseudo_questions,
)
from bot.matching.results import SearchResult
from bot.matching.semantic import SemanticIndex
from storage.db import Database
from tests.matching.conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert
from tests.matching.test_semantic import NOW, FakeEmbedder, _seed

ON = replace(MatchConfig(), gap_levels="register")
QUESTIONS = ("leegstandsheffing", "wie kent iets van buurtbudget in Gent?", "zorblax", "quux", "housing", "ontharding")


def build(config: MatchConfig | None = None, *, semantic: bool = True) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=config)
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    if semantic:
        m.semantic = SemanticIndex(FakeEmbedder())
        fill(m.semantic, {k: m.documents(k) for k in ("expert", "practice")}, None)
    return m


def same(a: SearchResult, b: SearchResult) -> None:
    assert (a.gap, a.gap_probability, a.gap_features) == (b.gap, b.gap_probability, b.gap_features)
    assert [(h.doc.id, h.score, h.reasons, h.weak) for h in a.experts] == [
        (h.doc.id, h.score, h.reasons, h.weak) for h in b.experts
    ]
    assert [(h.doc.id, h.score) for h in a.practices] == [(h.doc.id, h.score) for h in b.practices]
    assert [(h.doc.id, h.score) for h in a.answers] == [(h.doc.id, h.score) for h in b.answers]


class TestLevels:
    def test_measured_from_the_register_alone(self) -> None:
        m = build(semantic=False)
        levels = measure_levels(m)
        assert levels is not None
        with_items = [e for e in m.documents("expert").values() if any(i.strip() for i in e.expertise)]  # type: ignore[union-attr]
        assert levels.questions == len(with_items)
        assert [name for name, _, _ in levels.levels] == list(WORD_FEATURES)
        assert all(sd >= MIN_SD for _, _, sd in levels.levels)
        assert levels.state == m.state()
        mean = {n: mu for n, mu, _ in levels.levels}
        assert 0.0 < mean["coverage"] < 1.0  # someone here covers the item, nobody here does not
        placed = levels.place({"coverage": mean["coverage"], "semantic_whole_z": 2.5})
        assert placed["coverage"] == 0.0  # at the register's mean
        assert placed["semantic_whole_z"] == 2.5  # the meaning features as they are

    def test_nobody_here_leaves_out_every_document_naming_the_item(self) -> None:
        m = build(semantic=False)
        docs = {k: dict(m.documents(k)) for k in ("expert", "practice", "answer")}
        from bot.matching.levels import _texts  # noqa: PLC0415 - the fields an item is looked for in

        gone = naming(docs, _texts(docs), "leegstandsheffing", 1)
        assert 1 in gone["expert"]
        theirs = {i for i, d in docs["practice"].items() if d.contact_expert_id in gone["expert"]}  # type: ignore[union-attr]
        answered = {i for i, d in docs["answer"].items() if d.expert_id in gone["expert"]}  # type: ignore[union-attr]
        assert theirs and theirs <= gone["practice"]
        assert answered <= gone["answer"]
        q = "Wie weet iets over leegstandsheffing?"
        here = m.word_gap_features(q, limit=10)
        nobody = m.word_gap_features(q, limit=10, without=gone)
        assert here["coverage"] > 0.5
        assert nobody["coverage"] < here["coverage"]
        assert nobody["confidence"] < here["confidence"]

    def test_the_words_features_are_the_searchs(self) -> None:
        m = build(semantic=False)
        for q in QUESTIONS:
            full = m.search(q, limit=10, today=TODAY).gap_features
            words = m.word_gap_features(q, limit=10)
            assert {f: full[f] for f in WORD_FEATURES} == {f: words[f] for f in WORD_FEATURES}

    def test_at_most_the_sample_whatever_the_register_size(self) -> None:
        many = [expert(i, f"E{i}", expertise=(f"onderwerp {i}", "extra")) for i in range(1, 901)]
        chosen = pseudo_questions(many)
        assert len(chosen) == LEVELS_SAMPLE
        assert [e.id for e, _ in chosen] == sorted({e.id for e, _ in chosen})  # evenly spaced, each once
        assert chosen[0][0].id == 1 and chosen[-1][0].id > 890
        assert chosen == pseudo_questions(reversed(many))  # the same every run
        assert all(item == e.expertise[e.id % 2] for e, item in chosen)

    def test_one_search_at_a_time_under_the_guard_and_stop_is_heard(self) -> None:
        m = build(semantic=False)
        entered: list[int] = []

        def guard() -> AbstractContextManager[object]:
            entered.append(1)
            return nullcontext()

        levels = measure_levels(m, guard=guard)
        assert levels is not None
        assert len(entered) == 2 * levels.questions + 1  # the snapshot, then each search on its own
        assert measure_levels(m, stop=lambda: True) is None


class TestTheOption:
    def test_off_by_default_and_then_nothing_changes_even_with_levels(self) -> None:
        assert MatchConfig().gap_levels == "off"
        plain, with_levels = build(), build()
        with_levels.gap_levels = measure_levels(with_levels)
        for q in QUESTIONS:
            same(plain.search(q, today=TODAY), with_levels.search(q, today=TODAY))

    def test_on_without_levels_the_shipped_model_answers(self) -> None:
        plain, on = build(), build(ON)
        for q in QUESTIONS:
            same(plain.search(q, today=TODAY), on.search(q, today=TODAY))
        assert on.gap_levels is None  # a search never measures them

    def test_on_with_levels_the_levels_model_decides_and_the_rankings_stay(self) -> None:
        model = levels_model()
        assert model is not None
        assert model.features == shipped_models()["semantic"].features
        plain, on = build(), build(ON)
        on.gap_levels = levels = measure_levels(on)
        assert levels is not None
        moved = 0
        for q in QUESTIONS:
            a, b = plain.search(q, today=TODAY), on.search(q, today=TODAY)
            assert a.gap_features == b.gap_features  # the features are returned as read (raw)
            assert b.gap_probability == round(model.probability(levels.place(b.gap_features)), 4)
            moved += a.gap_probability != b.gap_probability
            assert [(h.doc.id, h.score, h.reasons) for h in a.experts] == [
                (h.doc.id, h.score, h.reasons) for h in b.experts
            ]
            assert [(h.doc.id, h.score) for h in a.practices] == [(h.doc.id, h.score) for h in b.practices]
        assert moved

    def test_on_with_levels_but_words_alone_deciding_the_shipped_lexical_model_answers(self) -> None:
        plain, on = build(semantic=False), build(ON, semantic=False)
        on.gap_levels = measure_levels(on)
        for q in QUESTIONS:
            same(plain.search(q, today=TODAY), on.search(q, today=TODAY))

    def test_the_setting(self) -> None:
        assert read_settings({})[0].gap_levels == "off"
        assert read_settings({"WIEWEET_GAP_LEVELS": "Register"})[0].gap_levels == "register"
        settings, problems = read_settings({"WIEWEET_GAP_LEVELS": "on"})
        assert settings.gap_levels == "off"
        assert any("WIEWEET_GAP_LEVELS" in p for p in problems)


class TestInTheBackground:
    def test_measured_by_the_background_fill_never_by_load_or_a_search(self, database: Database) -> None:
        _seed(database)
        kb = KnowledgeBase(database, embedder=FakeEmbedder(), gap_levels="register")
        kb.load()
        assert kb.matcher is not None and kb.matcher.config.gap_levels == "register"
        kb.search("zorblax", now=NOW)
        assert kb.matcher.gap_levels is None  # neither the start nor a request measured them
        kb.embed_pending(budget_seconds=60, now=NOW)
        levels = kb.matcher.gap_levels
        assert isinstance(levels, RegisterLevels) and levels.questions == 4
        kb.embed_pending(now=NOW)
        assert kb.matcher.gap_levels is levels  # the register did not change: not measured again
        kb.close()

    def test_not_measured_with_the_option_off(self, database: Database) -> None:
        _seed(database)
        kb = KnowledgeBase(database, embedder=FakeEmbedder())
        kb.load()
        kb.embed_pending(budget_seconds=60, now=NOW)
        assert kb.matcher is not None and kb.matcher.gap_levels is None
        kb.close()
