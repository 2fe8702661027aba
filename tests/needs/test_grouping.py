"""The grouping core without a database: determinism, stability, incremental runs, meaning (centred, per
language), and the analysis it rests on."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from bot.matching import Matcher
from bot.matching.documents import ExpertDoc, ThemeDoc
from bot.matching.loader import shipped_places
from bot.needs.analysis import QuestionVocabulary, Vectoriser
from bot.needs.grouping import Grouper, GroupItem, Vector, centred, idf_weights

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


def unit(*values: float) -> Vector:
    vec = np.asarray(values, dtype=np.float32)
    return vec / np.linalg.norm(vec)


def with_meaning(
    items: Sequence[GroupItem], vectors: Sequence[Vector], languages: Sequence[str] = ()
) -> list[GroupItem]:
    langs = list(languages) or ["nl"] * len(items)
    return [replace(i, meaning=v, language=lang) for i, v, lang in zip(items, vectors, langs, strict=True)]


def test_meaning_joins_wordings_without_shared_words(matcher: Matcher) -> None:
    texts = [
        "leegstandsheffing op woningen",
        "leegstandsheffing en vrijstellingen",
        "belasting op lege huizen",
        "fietsstraten en autoverkeer",
    ]
    items = items_of(matcher, texts)
    lexical = placement(items)
    assert lexical["q:2"] != lexical["q:0"] == lexical["q:1"]
    # the first three mean the same, the fourth something else
    vectors = [unit(1, 0.05, 0, 0), unit(1, 0, 0.05, 0), unit(1, 0, 0, 0.05), unit(0, 1, 0, 0)]
    both = {
        p.key: p.topic_id for p in Grouper().run(with_meaning(items, vectors), assigned={}, next_topic_id=1).placements
    }
    assert both["q:0"] == both["q:1"] == both["q:2"] != both["q:3"]


def test_centring_per_language_brings_translations_together() -> None:
    # two needs (axes 0 and 1) asked in two languages (axes 2 and 3); the language component is the larger one
    vectors: dict[str, Vector] = {}
    languages: dict[str, str] = {}
    for need in (0, 1):
        for lang, axis in (("nl", 2), ("fr", 3)):
            for n in range(10):
                values = [0.0] * 6
                values[need] = 1.0
                values[axis] = 2.0
                values[4 + n % 2] = 0.1 * n
                vectors[f"{need}{lang}{n}"] = unit(*values)
                languages[f"{need}{lang}{n}"] = lang

    def cos(a: str, b: str, got: dict[str, Vector]) -> float:
        return float(np.dot(got[a], got[b]))

    plain = centred(vectors)
    by_language = centred(vectors, languages=languages)
    # without the language means, a question is closer to another need in its language than to its translation
    assert cos("0nl0", "1nl1", plain) > cos("0nl0", "0fr1", plain)
    assert cos("0nl0", "0fr1", by_language) > 0.5 > cos("0nl0", "1nl1", by_language)
    assert all(abs(float(np.linalg.norm(v)) - 1.0) < 1e-5 for v in by_language.values())


def test_a_small_collection_is_centred_towards_the_reference_mean() -> None:
    prior = unit(1, 1, 0)
    alone = centred({"a": unit(1, 0, 0), "b": unit(1, 0.2, 0)})
    helped = centred({"a": unit(1, 0, 0), "b": unit(1, 0.2, 0)}, prior=prior)
    # centred on their own mean, two similar questions point in opposite directions; with the reference they stay close
    assert float(np.dot(alone["a"], alone["b"])) < -0.9
    assert float(np.dot(helped["a"], helped["b"])) > 0.9


def test_items_without_a_vector_are_compared_by_their_words(matcher: Matcher) -> None:
    items = items_of(matcher, TEXTS)
    vectors = [unit(1, 0.1 * i, 0) for i in range(len(items))]
    mixed = [replace(item, meaning=vectors[i]) if i % 2 else item for i, item in enumerate(items)]
    got = placement(mixed)
    assert got["q:0"] == got["q:1"] == got["q:2"]  # q:0 and q:2 without a vector
    assert got["q:4"] == got["q:5"] == got["q:6"]


def test_text_without_content_words_stands_alone(matcher: Matcher) -> None:
    items = items_of(matcher, ["wie weet iets over", *TEXTS[:2]])
    got = placement(items)
    assert got["q:0"] not in {got["q:1"], got["q:2"]}


def test_labels_use_the_askers_words(matcher: Matcher) -> None:
    v = Vectoriser(matcher.analyse, phrase_words=matcher.phrase_words())
    assert v.concepts("Wie weet iets over Leegstandsheffing in Gent?").words == ("Leegstandsheffing",)
