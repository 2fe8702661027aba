"""The bulk candidate pass (bot.matching.dense) gives what the Python walk of ``Matcher._score`` gives: the same
documents with the same (unrounded) scores in the same dict order, the same concept masks and statistics, before and
after updates; and the posting arrays it reads follow every change of their lists."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

import bot.matching.engine as engine
from bot.matching import MatchConfig, Matcher, dense
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc
from bot.matching.index import Collection

from .conftest import PLACES, THEMES
from .generated import QUERY_WORDS, field_doc, random_register


def _both(m: Matcher, monkeypatch: pytest.MonkeyPatch, kind: str, query: str, forced: tuple[int, ...] = ()) -> bool:
    """Score one kind both ways and compare everything; True when the walk stopped early and cut to the depth."""
    pq = m._parser.parse(query)
    out = []
    for threshold in (10**12, 0):  # the Python walk, then the bulk path for any query
        monkeypatch.setattr(engine, "_BULK_MIN", threshold)
        masks: dict[int, int] = {}
        raw = m._score(m._kinds[kind], pq.groups, k=5, boost_max=1.3, forced=forced, concepts=pq.concepts, masks=masks)
        out.append((list(raw.items()), masks, m.last_stats[kind]))
    assert out[0] == out[1], (kind, query)
    n_found, stop, _, seen, kept = out[0][2]
    return stop < n_found and kept < seen


@pytest.mark.parametrize("seed", [1, 2])
def test_bulk_pass_gives_the_walks_scores_order_masks_and_stats(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    experts, practices, answers = random_register(seed, 120)
    # ties everywhere (the register repeats few words: many equal scores), a small depth so the cut happens
    cfg = replace(MatchConfig(), common_df=0.01, common_df_min=10, rerank_depth=20)
    m = Matcher(themes=THEMES, places=PLACES, config=cfg)
    m.build(experts=experts, practices=practices, answers=answers)
    rng = random.Random(seed)
    cut = 0
    for step in range(40):
        query = " ".join(rng.sample(QUERY_WORDS, rng.randint(1, 4)))
        for kind in ("expert", "practice", "answer"):
            forced = tuple(rng.sample(range(1, 121), 3)) if kind == "expert" else ()
            cut += _both(m, monkeypatch, kind, query, forced)
        if step % 5 == 4:  # updates between searches: changed lists, new ids above the old range, removals
            i = 1000 + step
            m.upsert_answer(AnswerDoc(id=i, question="leegstandsheffing en wonen", answer="stad beleid", expert_id=1))
            m.upsert_practice(PracticeDoc(id=i, title="ontharding in de wijk", summary="project warmtenet"))
            m.upsert_expert(
                ExpertDoc(
                    id=i, email=f"n{i}@x.org", name="N", organisation="Stad Gent", expertise=("zwerfvuil", "wonen")
                )
            )
            m.remove_answer(rng.randint(1, 240))
            m.remove_expert(rng.randint(1, 120))
    assert cut > 10  # the stop and the re-ranking cut were exercised


def test_search_results_are_the_same_through_either_path(monkeypatch: pytest.MonkeyPatch) -> None:
    experts, practices, answers = random_register(3, 150)
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), common_df_min=10, rerank_depth=30))
    m.build(experts=experts, practices=practices, answers=answers)
    calls: list[str] = []
    real = dense.score

    def spy(coll: Collection, *args: object, **kw: object) -> object:
        calls.append("bulk")
        return real(coll, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(dense, "score", spy)
    for query in ("wie weet iets over leegstandsheffing en wonen in Gent?", "ontharding warmtenet", "stad beleid"):
        monkeypatch.setattr(engine, "_BULK_MIN", 10**12)
        walk = m.search(query, limit=5)
        assert not calls
        monkeypatch.setattr(engine, "_BULK_MIN", 0)
        bulk = m.search(query, limit=5)
        assert calls
        calls.clear()
        assert bulk == walk


def test_posting_arrays_follow_every_change_of_their_list() -> None:
    coll = Collection({"title": 2.0, "text": 0.3}, {"title": 0.5, "text": 0.75}, k1=1.2, refresh_drift=0.2)
    rng = random.Random(7)
    words = ["woning", "heffing", "leegstand", "premie"]

    def doc() -> list[tuple[dict[str, float], int]]:
        return field_doc(rng, words)

    def same(p: dict[int, float]) -> bool:
        ids, sat = coll.arrays(p)
        return list(zip(ids.tolist(), sat.tolist(), strict=True)) == list(p.items())

    coll.reset((i, doc()) for i in range(1, 41))
    p = coll.postings["woning"]
    assert same(p)
    made = coll._array_postings
    assert same(p) and coll._array_postings == made  # remembered while the list is unchanged
    assert coll.arrays(p)[1].dtype == np.float64 and coll._arrays[id(p)][1][1].dtype == np.uint16  # kept compact
    derived = {3: 0.1 + 0.2, 1: 1 / 3, 2: 0.5}  # weights that are no thousandths (a multi-word name's sums)
    assert same(derived)
    for step in range(150):
        d = rng.randint(1, 80)
        if step % 3 == 0:
            coll.remove(d)
        else:
            coll.add(d, doc())
        for w in words:
            if w in coll.postings:
                assert same(coll.postings[w])
                assert same(coll.strong_postings(w))
    assert coll.id_bound == 81 and not coll.negative_ids
    coll.reset((i, doc()) for i in range(1, 6))
    assert same(coll.postings["woning"]) and coll.id_bound == 6


def test_bulk_path_is_refused_where_ids_cannot_index_arrays() -> None:
    coll = Collection({"text": 1.0}, {"text": 0.75}, k1=1.2, refresh_drift=0.2)
    coll.reset([(1, [({"woning": 1.0}, 1)]), (2, [({"woning": 1.0}, 1)])])
    item = dense.Item(1.0, 0, [(coll.postings["woning"], 0.5)], [(coll.postings["woning"], 0.5)], True)
    assert dense.usable(coll, [item], [1, 2], concepts=2)
    assert not dense.usable(coll, [item], [7], concepts=2)  # a forced id outside the range
    assert not dense.usable(coll, [item], [], concepts=70)  # concept masks beyond 62 bits
    coll.add(10**7, [({"woning": 1.0}, 1)])  # sparse ids: arrays far larger than the collection
    assert not dense.usable(coll, [item], [], concepts=2)
    coll.add(-1, [({"woning": 1.0}, 1)])
    assert coll.negative_ids


def test_a_replaced_multi_word_list_leaves_the_array_cache() -> None:
    """A multi-word name's list is rebuilt after every change of its collection; the arrays of the old list are
    dropped then, so the cache never keeps superseded lists alive (before, only its size cap cleared them)."""
    experts, practices, answers = random_register(3, 150)
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), common_df_min=10, rerank_depth=30))
    m.build(experts=experts, practices=practices, answers=answers)
    kind = m._kinds["expert"]
    coll = kind.collection
    terms = next(
        (a, b)
        for a in sorted(coll.postings)
        for b in sorted(coll.postings)
        if a < b and len(coll.postings[a].keys() & coll.postings[b].keys()) >= 2
    )
    first = m._phrase(kind, terms, 0.5)
    assert first is not None
    coll.arrays(first[0])
    assert coll.has_arrays(first[0])
    before = coll._array_postings
    doc = next(d for d in kind.docs.values() if isinstance(d, ExpertDoc))
    m.upsert_expert(replace(doc, bio=doc.bio + " extra"))  # any change of the collection
    second = m._phrase(kind, terms, 0.5)
    assert second is not None and second[0] is not first[0]
    assert not coll.has_arrays(first[0])
    assert coll._array_postings == before - len(first[0])


def test_variant_parts_are_made_again_after_any_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variant's postings, coefficients (weight x IDF) and bound are remembered per kind while its collection is
    unchanged; an update moves the IDF of the words it contains, so the next search must not read the remembered
    coefficients: it scores as the same matcher does with nothing remembered."""
    experts, practices, answers = random_register(4, 150)
    cfg = replace(MatchConfig(), common_df_min=10, rerank_depth=30)
    query = "wie weet iets over leegstandsheffing, ontharding en wonen?"
    new = [AnswerDoc(id=1000 + i, question="leegstandsheffing ontharding", answer="wonen " * 3) for i in range(40)]
    results = []
    for memo in (10_000, 0):
        monkeypatch.setattr(engine, "_ITEM_MEMO_MAX", memo)
        m = Matcher(themes=THEMES, places=PLACES, config=cfg)
        m.build(experts=experts, practices=practices, answers=answers)
        first = m.search(query, limit=5)
        made = m._item_memo["answer"][2]
        assert bool(made) == bool(memo)
        assert m.search(query, limit=5) == first
        assert (m._item_memo["answer"][2] is made) == bool(memo)  # read by the next search, not made again
        for doc in new:
            m.upsert_answer(doc)
        after = m.search(query, limit=5)
        assert after.answers != first.answers
        results.append((first, after))
    assert results[0] == results[1]


def test_largest_keeps_ties_in_order_of_first_appearance() -> None:
    """``_State.largest`` sorts only the scores from the n-th best up: the same documents, in the same order, as a
    stable sort of every touched document (ties with the n-th best included, in order of first appearance)."""
    coll = Collection({"text": 1.0}, {"text": 0.75}, k1=1.2, refresh_drift=0.2)
    coll.reset((i, [({"woning": 1.0}, 1)]) for i in range(1, 301))
    rng = random.Random(5)
    st = dense._State(coll, 1)
    docs = np.array(rng.sample(range(1, 301), 200), np.int64)
    st.appear(docs[:120])
    st.appear(docs[100:])
    st.score[docs] = [rng.choice([0.1, 0.2, 0.25, 0.3]) for _ in range(len(docs))]
    ranked = sorted(docs.tolist(), key=lambda d: -float(st.score[d]))  # stable: ties in order of appearance
    for n in (1, 5, 20, 60, 99, 200, 250):
        assert st.largest(n).tolist() == ranked[:n]
        for least in (0.2, 0.3, 0.35):
            assert st.largest(n, least).tolist() == [d for d in ranked if st.score[d] >= least][:n]


@pytest.mark.parametrize("members", [True, False])
def test_small_merges_on_floats_match_the_array_merges(members: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A merge of a few documents into a filled group is made document by document on Python floats: the same
    scores to the last bit (``(score + x) - old``, not ``score + (x - old)``), bests, membership and order of first
    appearance as the array operations give."""
    coll = Collection({"text": 1.0}, {"text": 0.75}, k1=1.2, refresh_drift=0.2)
    coll.reset((i, [({"woning": 1.0}, 1)]) for i in range(1, 61))
    states = []
    for few in (0, dense._FEW):  # every merge through the arrays, then the small ones on floats
        monkeypatch.setattr(dense, "_FEW", few)
        rng = random.Random(11)
        st = dense._State(coll, 3, members=members)
        for step in range(300):
            n = rng.choice([0, 1, 2, 3, 5, 8, 9, 20]) if step else 20  # (the first merge fills group 0)
            docs = np.array(rng.sample(range(1, 61), n), np.int64)
            x = np.array([rng.choice([0.1, 0.3, 1 / 3, 0.7, 2 / 3]) * rng.random() for _ in range(n)])
            group = 0 if step < 3 else rng.randrange(3)
            st.merge(docs, x, group, new=rng.random() < 0.7)
            if step % 7 == 0:
                st.touched()
        states.append(st)
    arrays, floats = states
    assert arrays.score.tobytes() == floats.score.tobytes()
    assert arrays.touched().tolist() == floats.touched().tolist()
    for g in range(3):
        assert arrays.best[g].tobytes() == floats.best[g].tobytes()
        if members:
            assert arrays.member[g].tolist() == floats.member[g].tolist()
    assert (floats.score != 0.0).sum() > 40  # scores moved by several groups' merges
