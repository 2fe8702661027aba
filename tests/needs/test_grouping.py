"""The grouping core without a database: determinism, stability, incremental runs, the semantic hook, privacy of
nothing (pure), and the analysis it rests on."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from bot.matching import Matcher
from bot.matching.documents import ExpertDoc, ThemeDoc
from bot.matching.loader import shipped_places
from bot.needs.analysis import QuestionVocabulary, Vectoriser
from bot.needs.grouping import Grouper, GroupItem, idf_weights

TEXTS = [
    "Wie weet iets over de leegstandsheffing op winkelpanden?",
    "leegstandsheffing tarieven en vrijstellingen",
    "wie weet iets over leegstandsheffnig",
    "Who knows about a vacancy tax on empty homes?",
    "Wie heeft ervaring met fietsstraten in het centrum?",
    "fietsstraat invoeren: regels en signalisatie",
    "wie weet iets over fietstraten",
    "Wie weet iets over begraafplaatsbeheer en natuurbegraven?",
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    m = Matcher(
        themes=[ThemeDoc("wonen", "Wonen en woonbeleid", "Housing", ("huisvesting", "leegstand"))],
        places=shipped_places(),
    )
    m.build(
        experts=[
            ExpertDoc(1, "a@example.org", "An", "Stad Gent", expertise=("leegstandsheffing", "leegstand")),
            ExpertDoc(2, "b@example.org", "Bart", "Stad Leuven", expertise=("fietsstraten", "fietsbeleid")),
        ],
        practices=[],
        answers=[],
    )
    return m


def items_of(matcher: Matcher, texts: Sequence[str], start: int = 0) -> list[GroupItem]:
    v = Vectoriser(matcher.analyse, phrase_words=matcher.phrase_words())
    concepts = [v.concepts(t) for t in texts]
    vocabulary = QuestionVocabulary(concepts, weight=v.weights.compound)
    return [
        GroupItem(f"q:{start + i}", (start + i,), vocabulary.extend(c), t)
        for i, (t, c) in enumerate(zip(texts, concepts, strict=True))
    ]


def placement(items: Sequence[GroupItem], assigned: dict[str, int] | None = None) -> dict[str, int]:
    result = Grouper().run(items, assigned=assigned or {}, next_topic_id=1 + max((assigned or {0: 0}).values()))
    return {**(assigned or {}), **{p.key: p.topic_id for p in result.placements}}


def test_wordings_of_one_topic_group_and_others_do_not(matcher: Matcher) -> None:
    got = placement(items_of(matcher, TEXTS))
    assert got["q:0"] == got["q:1"] == got["q:2"]
    assert got["q:4"] == got["q:5"] == got["q:6"]
    assert got["q:0"] != got["q:4"] and got["q:7"] not in {got["q:0"], got["q:4"]}


def test_deterministic_whatever_the_input_order(matcher: Matcher) -> None:
    items = items_of(matcher, TEXTS)
    first = placement(items)
    shuffled = list(items)
    random.Random(7).shuffle(shuffled)
    assert placement(shuffled) == first
    assert placement(items_of(matcher, TEXTS)) == first  # a fresh analyser too


def test_incremental_run_never_moves_placed_items(matcher: Matcher) -> None:
    old = items_of(matcher, TEXTS[:6])
    before = placement(old)
    more = [*TEXTS[:6], "leegstandsheffing voor winkels", "fietsstraten en autoverkeer", "rattenbestrijding"]
    after = placement(items_of(matcher, more), dict(before))
    assert {k: after[k] for k in before} == before
    assert after["q:6"] == before["q:0"] and after["q:7"] == before["q:4"]
    assert after["q:8"] > max(before.values())  # a new topic gets a new, higher id


def test_idf_counts_at_least_a_thousand_questions(matcher: Matcher) -> None:
    concepts = [i.concepts for i in items_of(matcher, TEXTS[:2])]
    idf = idf_weights(concepts)
    shared = next(t for t in concepts[0].terms if t in concepts[1].terms)
    assert idf[shared] > 6.0  # ln(1 + 1000 / 2), not ln(1 + 2 / 2)


class FakeEmbedder:
    """Says two texts mean the same when they are in the same group."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.groups = groups

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            index = next((n for n, g in enumerate(self.groups) if text in g), len(self.groups))
            out.append([1.0 if i == index else 0.0 for i in range(len(self.groups) + 1)])
        return out


def test_semantic_signal_joins_wordings_without_shared_words(matcher: Matcher) -> None:
    texts = ["leegstandsheffing op woningen", "leegstandsheffing en vrijstellingen", "belasting op lege huizen"]
    items = items_of(matcher, texts)
    lexical = {p.key: p.topic_id for p in Grouper().run(items, assigned={}, next_topic_id=1).placements}
    assert lexical["q:2"] != lexical["q:0"]
    signal = FakeEmbedder([texts])
    both = Grouper(semantic=signal, semantic_weight=0.6, semantic_floor=0.5)
    semantic = {p.key: p.topic_id for p in both.run(items, assigned={}, next_topic_id=1).placements}
    assert semantic["q:2"] == semantic["q:0"] == semantic["q:1"]


def test_text_without_content_words_stands_alone(matcher: Matcher) -> None:
    items = items_of(matcher, ["wie weet iets over", *TEXTS[:2]])
    got = placement(items)
    assert got["q:0"] not in {got["q:1"], got["q:2"]}


def test_labels_use_the_askers_words(matcher: Matcher) -> None:
    v = Vectoriser(matcher.analyse, phrase_words=matcher.phrase_words())
    assert v.concepts("Wie weet iets over Leegstandsheffing in Gent?").words == ("Leegstandsheffing",)
