"""The grouping core without a database: determinism, stability, incremental runs, meaning (centred, per
language), and the analysis it rests on."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from bot.matching import Matcher
from bot.matching.documents import ExpertDoc, ThemeDoc
from bot.matching.loader import shipped_places
from bot.needs.analysis import QuestionVocabulary, Vectoriser
from bot.needs.grouping import (
    DEFAULT_MEANING_THRESHOLD,
    RESCUE_THRESHOLD,
    Grouper,
    GroupItem,
    Placement,
    Topic,
    Vector,
    centred,
    idf_weights,
)
from bot.needs.topic_space import Batch, MeaningRows, renumber_new_topics
from tests.needs.conftest import ToyVectors, unit

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


def fragmented_need(*, others: int = 6) -> list[GroupItem]:
    """One need asked in two families of wordings (two questions each, axes 1 and 2) beside ``others`` unrelated
    needs of three questions; every question has its own noise axis and words of its own (no shared terms)."""
    toy = ToyVectors()
    for family in (1, 2):
        for _ in range(2):
            toy.add([(0, 0.8), (family, 0.8)])
    for other in range(others):
        for _ in range(3):
            toy.add([(3 + other, 1.0)])
    return toy.items()


def test_fragments_of_one_need_join_as_groups() -> None:
    items = fragmented_need()
    alone = Grouper(fragment_size=0, rescue_threshold=None)  # neither the fragments pass nor the second step
    apart = {p.key: p.topic_id for p in alone.run(items, assigned={}, next_topic_id=1).placements}
    # no question of one family is close enough to the other family to join it on its own
    assert apart["q:0"] == apart["q:1"] != apart["q:2"] == apart["q:3"]
    got = {p.key: p.topic_id for p in Grouper().run(items, assigned={}, next_topic_id=1).placements}
    assert got["q:0"] == got["q:1"] == got["q:2"] == got["q:3"]
    # the unrelated needs stay whole and apart
    others = [{got[f"q:{4 + 3 * n + k}"] for k in range(3)} for n in range(6)]
    assert all(len(ids) == 1 for ids in others)
    assert len({next(iter(ids)) for ids in others} | {got["q:0"]}) == 7
    assert sorted(set(got.values())) == list(range(1, 8))  # numbered again without gaps


def test_a_fragment_joins_an_earlier_topic_which_never_moves() -> None:
    items = fragmented_need()
    # the first family and the unrelated needs were placed in an earlier run
    earlier = [i for i in items if i.key not in {"q:2", "q:3"}]
    before = {p.key: p.topic_id for p in Grouper().run(earlier, assigned={}, next_topic_id=1).placements}
    result = Grouper().run(items, assigned=before, next_topic_id=max(before.values()) + 1)
    after = {p.key: p.topic_id for p in result.placements}
    assert set(after) == {"q:2", "q:3"}
    assert after["q:2"] == after["q:3"] == before["q:0"]
    assert all(result.topics[t].members for t in result.topics)
    assert {k for t in result.topics.values() for k in t.members} == {i.key for i in items}


def test_refinement_scores_every_topic_exactly(matcher: Matcher) -> None:
    """The vectorised scoring of a refinement pass equals the cosine computed one pair at a time, with the item
    taken out of its own topic (words and meaning, items without a vector among them)."""
    items = items_of(matcher, TEXTS)
    rng = np.random.default_rng(3)
    vectors = [unit(*rng.normal(size=8)) for _ in items]
    mixed = [replace(item, meaning=vectors[i]) if i != 2 else item for i, item in enumerate(items)]
    grouper = Grouper(refine=0, fragment_size=0, meaning_threshold=0.05)
    result = grouper.run(mixed, assigned={}, next_topic_id=1)
    where = {p.key: p.topic_id for p in result.placements}
    ordered = sorted(mixed, key=lambda i: (i.order, i.key))
    state = grouper.start(ordered, assigned={}, fit=grouper.fit(ordered))
    meanings, words = state.meanings, state.words
    assert state.fit.idf == idf_weights(i.concepts for i in ordered)

    def full(key: str) -> tuple[dict[str, float], np.ndarray]:
        sem = meanings.get(key)
        return words[key], (np.zeros(8) if sem is None else sem.astype(np.float64))

    def cosine(key: str, members: Sequence[str]) -> float:
        w, m = full(key)
        cw: dict[str, float] = {}
        cm = np.zeros(8)
        for other in members:
            ow, om = full(other)
            for t, x in ow.items():
                cw[t] = cw.get(t, 0.0) + x
            cm += om
        norm2 = sum(x * x for x in cw.values()) + float(cm @ cm)
        dot = sum(x * cw.get(t, 0.0) for t, x in w.items()) + float(m @ cm)
        return dot / math.sqrt(norm2) if norm2 > 1e-12 else 0.0

    # the topics as the run built them, in the run's own matrices
    keys = [i.key for i in ordered]
    grouper._space = MeaningRows(8)
    topics: dict[int, Topic] = {}
    postings: dict[str, dict[int, float]] = {}
    for key in keys:
        topic = topics.setdefault(where[key], Topic(where[key]))
        grouper._join(topic, key, words[key], meanings.get(key), postings)
    batch = Batch(keys, words, meanings, grouper._space)
    best_ids, best_sims = batch.best(sorted(topics), [where[k] for k in keys], topics)
    # read through the items' terms' postings (what a refinement pass does): the same sums, bit for bit
    by_postings = batch.best(sorted(topics), [where[k] for k in keys], topics, postings)
    assert by_postings[0] == best_ids and np.array_equal(by_postings[1], best_sims)
    for i, key in enumerate(keys):
        expected = {t: cosine(key, [k for k in keys if where[k] == t and k != key]) for t in sorted(topics)}
        top = max(expected.values())
        assert best_sims[i] == pytest.approx(top, abs=1e-6)
        assert expected[best_ids[i]] == pytest.approx(top, abs=1e-6)


def needs_and_a_straggler(
    *, lean: float, between: float = 0.0, first: int = 4, pair: float = 0.0, family: int = 2
) -> list[GroupItem]:
    """Six needs (the first of ``first`` questions, the others of four; axes 0-5, each question with its own noise
    axis and words of its own) and, last, one question leaning ``lean`` towards need 0 and ``between`` towards need
    1, with more noise: a wording whose vector is a little off its need. With ``pair``, a second such question
    follows, both also ``pair`` along an axis of their own (two wordings of one family, off their need); ``family``
    such questions in all."""
    toy = ToyVectors()
    for need in range(6):
        for _ in range(first if need == 0 else 4):
            toy.add([(need, 0.8)])
    toy.add([(0, lean), (1, between), (7, pair)], 1.0)
    for _ in range(family - 1 if pair else 0):
        toy.add([(0, lean), (1, between), (7, pair)], 1.0)
    return toy.items()


def placed(items: Sequence[GroupItem], grouper: Grouper) -> dict[str, int]:
    return {p.key: p.topic_id for p in grouper.run(items, assigned={}, next_topic_id=1).placements}


def test_a_lone_wording_joins_the_one_need_it_is_clearly_closest_to() -> None:
    items = needs_and_a_straggler(lean=0.45)
    last = items[-1].key
    # below the joining threshold: alone without the second step
    without = placed(items, Grouper(rescue_threshold=None))
    assert without[last] not in {without[i.key] for i in items[:-1]}
    result = Grouper().run(items, assigned={}, next_topic_id=1)
    got = {p.key: p for p in result.placements}
    assert got[last].topic_id == got["q:0"].topic_id
    assert RESCUE_THRESHOLD <= got[last].similarity < DEFAULT_MEANING_THRESHOLD
    assert not got[last].seeded
    assert sorted({p.topic_id for p in result.placements}) == list(range(1, 7))  # no gap where it stood alone


def test_a_lone_wording_stays_alone_when_far_or_between_two_needs() -> None:
    for items in (
        needs_and_a_straggler(lean=0.3),  # too far from every need
        needs_and_a_straggler(lean=0.45, between=0.45),  # as near to need 1 as to need 0: no clear need
        needs_and_a_straggler(lean=0.45, between=0.45, first=1),  # ... also when need 0 is one lone question
    ):
        got = placed(items, Grouper())
        last = items[-1].key
        assert got[last] not in {got[i.key] for i in items[:-1]}


def test_two_lone_wordings_clearly_closest_to_each_other_pair_up() -> None:
    """Two questions left alone, each the other's clearly closest (mutual, with the margin on both sides), make a
    pair (``rescue_mutual``, the default); without it a lone question only joins a topic of two or more."""
    items = needs_and_a_straggler(lean=0.45, first=1)
    last = items[-1].key
    got = placed(items, Grouper())
    assert got[last] == got["q:0"]
    assert len({got[i.key] for i in items}) == 6
    single = placed(items, Grouper(rescue_mutual=False))
    assert single[last] not in {single[i.key] for i in items[:-1]}


def needs_and_wordings(*wordings: Sequence[tuple[int, float]]) -> list[GroupItem]:
    """Six needs of four questions (as in ``needs_and_a_straggler``), then one question per ``wordings`` entry:
    its (axis, value) parts and a noise axis of its own."""
    toy = ToyVectors()
    for need in range(6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    for parts in wordings:
        toy.add(parts, 1.0)
    return toy.items()


def test_the_second_step_repeats_so_a_wording_follows_its_closest_question_into_its_need() -> None:
    """X leans on Y more than on need 0; Y joins need 0 in the first round of the second step, and X, whose closest
    is now need 0 with Y in it, follows in the next (``rescue_rounds``); with one round X stays alone."""
    items = needs_and_wordings([(0, 0.4), (7, 0.6)], [(0, 0.5), (7, 0.3)])
    x, y = items[-2].key, items[-1].key
    three = placed(items, Grouper())
    assert three[x] == three[y] == three["q:0"]
    one = placed(items, Grouper(rescue_rounds=1))
    assert one[y] == one["q:0"] != one[x]


def test_a_lone_wording_never_moves_an_earlier_topic() -> None:
    items = needs_and_a_straggler(lean=0.45)
    before = placed(items[:-1], Grouper())
    result = Grouper().run(items, assigned=before, next_topic_id=max(before.values()) + 1)
    assert [(p.key, p.topic_id) for p in result.placements] == [(items[-1].key, before["q:0"])]


def test_pairs_take_the_second_step_unless_told_not_to() -> None:
    """By default (``rescue_size=3``) a new pair leaning towards one need joins it whole; with ``rescue_size=1``
    it stays a topic of its own; a pair between two needs stays apart."""
    items = needs_and_a_straggler(lean=0.5, pair=0.8)
    a, b = items[-2].key, items[-1].key
    singles = placed(items, Grouper(rescue_size=1))
    assert singles[a] == singles[b] != singles["q:0"]
    pairs = placed(items, Grouper())
    assert pairs[a] == pairs[b] == pairs["q:0"]
    between = needs_and_a_straggler(lean=0.5, between=0.5, pair=0.8)
    got = placed(between, Grouper())
    assert got[a] == got[b] not in {got[i.key] for i in between[:-2]}


def test_three_wordings_off_their_need_take_the_second_step_together() -> None:
    """Three new wordings of one family leaning towards one need join it whole (``rescue_size=3``, the default
    since dev4: a need asked in two families of three); with ``rescue_size=2`` they stay a topic of their own, and
    three between two needs stay apart."""
    items = needs_and_a_straggler(lean=0.5, pair=0.8, family=3)
    family = [i.key for i in items[-3:]]
    pairs_only = placed(items, Grouper(rescue_size=2))
    assert len({pairs_only[k] for k in family}) == 1
    assert pairs_only[family[0]] != pairs_only["q:0"]
    got = placed(items, Grouper())
    assert {got[k] for k in family} == {got["q:0"]}
    between = needs_and_a_straggler(lean=0.5, between=0.5, pair=0.8, family=3)
    apart = placed(between, Grouper())
    assert len({apart[k] for k in family}) == 1
    assert apart[family[0]] not in {apart[i.key] for i in between[:-3]}


def straggler_with_a_twin(twin: int, closeness: float) -> list[GroupItem]:
    """Six needs of four questions (as in ``needs_and_a_straggler``) and, last, one question as near to need 0 as to
    need 1 by their centroids (no margin between them), written much like question ``q:{twin}`` alone: it shares
    that question's own axis by ``closeness``."""
    toy = ToyVectors()
    for need in range(6):
        for _ in range(4):
            toy.add([(need, 0.8)])
    toy.add([(0, 0.45), (1, 0.45), (40 + twin, closeness)], 1.0)
    return toy.items()


def test_between_two_needs_a_wording_joins_the_one_holding_a_question_much_like_it() -> None:
    """Without a margin between the two closest topics, the members decide: a question at least as close as the
    joining threshold to one member of a topic of this run, and closer to it than to any member of the other,
    joins that topic; nearer by its whole need than by one question, it stays alone."""
    for twin, need in ((0, "q:0"), (4, "q:4")):  # q:0 opens need 0, q:4 need 1
        items = straggler_with_a_twin(twin, 0.5)
        got = placed(items, Grouper())
        assert got[items[-1].key] == got[need]
        assert len(set(got.values())) == 6
        assert placed(items, Grouper(rescue_threshold=None))[items[-1].key] not in {got[i.key] for i in items[:-1]}
    far = straggler_with_a_twin(0, 0.3)  # below the joining threshold even to its closest question
    got = placed(far, Grouper())
    assert got[far[-1].key] not in {got[i.key] for i in far[:-1]}


def test_the_members_decide_only_between_topics_of_this_run() -> None:
    """An earlier topic takes a wording only with the margin (its need may not have been asked in full yet)."""
    items = straggler_with_a_twin(0, 0.5)
    before = placed(items[:-1], Grouper())
    result = Grouper().run(items, assigned=before, next_topic_id=max(before.values()) + 1)
    assert [(p.key, p.seeded) for p in result.placements] == [(items[-1].key, True)]
    assert result.placements[0].topic_id not in before.values()


def neighbour_needs() -> list[GroupItem]:
    """Two neighbouring needs and four unrelated ones of three questions (``ToyVectors``). Need A is ``q:0`` and ``q:5``
    to ``q:7``; need B is ``q:1`` to ``q:4``, its first wording ``q:1`` written between the two needs (as close to A's
    later wordings, 0.285, as to B's, 0.332: below the young topics' 0.35), the others much alike (0.36)."""
    toy = ToyVectors()
    toy.add([(0, 0.8)])
    toy.add([(0, 0.6), (1, 0.7)])
    for _ in range(3):
        toy.add([(1, 0.8), (0, 0.4)])
    for _ in range(3):
        toy.add([(0, 0.8), (1, 0.4)])
    for other in range(4):
        for _ in range(3):
            toy.add([(3 + other, 0.8)])
    return toy.items()


def test_a_young_topic_takes_a_question_only_when_one_of_its_members_is_much_like_it() -> None:
    """In the first pass a topic of this run of one or two questions takes a question by its centroid only when the
    question is also ``young_threshold`` close to one of its members: a wording between two needs that seeded a
    topic does not become the centre of both (with ``young_size=0`` it draws A's later wordings and the needs run
    together); its own need's next wordings start a topic of their own, which it joins later."""
    items = neighbour_needs()
    need_a, need_b = ("q:0", "q:5", "q:6", "q:7"), ("q:1", "q:2", "q:3", "q:4")
    got = placed(items, Grouper())
    assert len({got[k] for k in need_a}) == len({got[k] for k in need_b}) == 1
    assert got["q:0"] != got["q:1"]
    assert len(set(got.values())) == 6  # the unrelated needs stay whole and apart
    first = {
        p.key: p
        for p in Grouper(refine=0, fragment_size=0, rescue_threshold=None)
        .run(items, assigned={}, next_topic_id=1)
        .placements
    }
    assert first["q:2"].seeded  # 0.332 from the lone q:1: not much like it
    assert not first["q:3"].seeded and first["q:3"].topic_id == first["q:2"].topic_id  # 0.36 from q:2
    old = placed(items, Grouper(young_size=0))
    assert len({old[k] for k in (*need_a, *need_b)}) == 1


def test_the_young_topics_rule_leaves_earlier_topics_as_they_were() -> None:
    """A topic of an earlier run not named movable takes a question by its centroid alone, as before: the rule is
    for topics of this run and young earlier ones that may still move (an earlier run's placement stands)."""
    items = neighbour_needs()
    earlier = [i for i in items if i.key not in {"q:0", "q:2", "q:3", "q:4", "q:5", "q:6", "q:7"}]
    before = placed(earlier, Grouper())
    runs = [
        grouper.run(items, assigned=before, next_topic_id=max(before.values()) + 1).placements
        for grouper in (Grouper(), Grouper(young_size=0))
    ]
    assert runs[0] == runs[1]
    assert {p.key: p.topic_id for p in runs[0]}["q:2"] == before["q:1"]


def test_a_young_lone_topic_of_an_earlier_run_asks_its_member_too() -> None:
    """A movable topic of an earlier run (young, nothing proposed) of one question is judged like a young topic of
    this run: the lone earlier wording q:1 sits between two needs, and q:2 (0.332 from it, over the joining threshold
    by the centroid) seeds a topic of its own in the first pass instead of joining it; with
    ``earlier_young_size=0`` it joins by the centroid alone. A topic not named movable takes it as before."""
    items = neighbour_needs()
    earlier = [i for i in items if i.key not in {"q:0", "q:2", "q:3", "q:4", "q:5", "q:6", "q:7"}]
    before = placed(earlier, Grouper())
    lone = before["q:1"]
    first_new = max(before.values()) + 1

    def first_pass(grouper: Grouper, movable: tuple[int, ...]) -> dict[str, Placement]:
        state = grouper.start(items, assigned=before, fit=grouper.fit(items))
        new = [i for i in items if i.key not in before]
        result = grouper.place(state, new, next_topic_id=first_new, movable=movable)
        return {p.key: p for p in result.placements}

    bare = {"refine": 0, "fragment_size": 0, "rescue_threshold": None}
    asked = first_pass(Grouper(**bare), (lone,))
    assert asked["q:2"].seeded
    assert not asked["q:3"].seeded and asked["q:3"].topic_id == asked["q:2"].topic_id
    by_centroid = first_pass(Grouper(earlier_young_size=0, **bare), (lone,))
    assert by_centroid["q:2"].topic_id == lone and not by_centroid["q:2"].seeded
    assert first_pass(Grouper(**bare), ())["q:2"].topic_id == lone  # not movable: as before
    # the whole run: the need B is whole again, the lone earlier wording having joined its need's later wordings
    grouper = Grouper()
    state = grouper.start(items, assigned=before, fit=grouper.fit(items))
    result = grouper.place(state, [i for i in items if i.key not in before], next_topic_id=first_new, movable=(lone,))
    whole = {p.key: p.topic_id for p in result.placements}
    need_b = {whole[k] for k in ("q:2", "q:3", "q:4")}
    assert len(need_b) == 1 and [(m.key, m.topic_id) for m in result.moved] == [("q:1", *need_b)]
    assert not need_b & {whole[k] for k in ("q:0", "q:5", "q:6", "q:7")}


def test_a_new_topic_left_with_only_an_earlier_question_is_numbered_too() -> None:
    """An earlier question placed again into a new topic of the run, whose own questions then went elsewhere, leaves
    a new topic that no placement of the run names: it is still numbered (after those that are), not lost."""
    topics = {1: Topic(1), 7: Topic(7), 8: Topic(8), 9: Topic(9)}
    topics[1]._joined["q:a"] = None
    topics[7]._joined["q:b"] = None  # an earlier question, moved here; the run's q:c left for 9
    topics[9]._joined["q:c"] = None
    where = {"q:c": 9}
    placements = [Placement("q:c", 8, 1.0, True)]
    out = renumber_new_topics(placements, where, {"q:c": 1.0}, topics, 7)
    assert out == [Placement("q:c", 7, 1.0, True)]
    assert sorted(topics) == [1, 7, 8]
    assert list(topics[7]._joined) == ["q:c"] and list(topics[8]._joined) == ["q:b"] and topics[8].id == 8
