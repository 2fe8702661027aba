"""The bulk (array) scoring and index layout against plain references: a document-at-a-time score computed from
the forward index, and an index rebuilt from scratch after updates."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.engine import _Kind
from bot.matching.index import Collection
from bot.matching.query import ParsedQuery

from .conftest import PLACES, THEMES
from .test_mechanisms import _random_register

WORDS = [
    "leegstandsheffing",
    "ontharding",
    "warmtenet",
    "wonen",
    "stad",
    "wijk",
    "beleid",
    "zwerfvuil",
    "burgerbegroting",
    "huisvesting",
    "woonwinkel",
    "sociaal verhuurkantoor",
    "Gent",
]


def _reference(kind: _Kind, pq: ParsedQuery) -> tuple[dict[int, float], dict[int, int]]:
    """Per document: the raw score (per group the best variant, DisMax; a multi-word synonym only with all its
    words) and the bit mask of the concepts of the groups that matched — one document at a time."""
    coll = kind.collection
    scores: dict[int, float] = {}
    masks: dict[int, int] = {}
    for doc_id in kind.docs:
        sats = coll.term_sats(doc_id)
        total = 0.0
        mask = 0
        for g in pq.groups:
            best = 0.0
            for v in g.variants:
                if v.whole and not all(t in sats for t in v.terms):
                    continue
                got = sum(v.weight / len(v.terms) * coll.idf(t) * sats[t] for t in v.terms if t in sats)
                best = max(best, got)
            if best > 0.0:
                total += best
                mask |= g.concepts
        if total > 0.0:
            scores[doc_id] = total
            masks[doc_id] = mask
    return scores, masks


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_bulk_scores_equal_a_document_at_a_time_reference(seed: int) -> None:
    experts, practices, answers = _random_register(seed, 120)
    # no term is "common" (candidates of common terms come from their strong postings only, by design)
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), common_df_min=10**9))
    m.build(experts=experts, practices=practices, answers=answers)
    rng = random.Random(seed)
    for _ in range(20):
        pq = m._parser.parse(" ".join(rng.sample(WORDS, rng.randint(1, 4))))
        for kind in m._kinds.values():
            got = m._score(kind, pq.groups, k=10**9, boost_max=1.3, concepts=max(pq.concepts, 2), masks=True)
            want, want_masks = _reference(kind, pq)
            scores = got.as_dict()
            assert {d for d, s in scores.items() if s > 0.0} == set(want)
            for d, s in want.items():
                assert scores[d] == pytest.approx(s, rel=1e-9, abs=1e-12)
            assert {d: got.mask_dict()[d] for d in want} == want_masks


def test_scores_after_updates_equal_a_fresh_build() -> None:
    experts, practices, answers = _random_register(8, 120)
    m = Matcher(themes=THEMES, places=PLACES)
    m.build(experts=experts, practices=practices, answers=answers)
    rng = random.Random(8)
    for e in rng.sample(experts, 30):
        m.remove_expert(e.id)
    for p in rng.sample(practices, 40):  # replaced: new slots at the end, holes left behind
        m.upsert_practice(replace(p, title=p.title + " warmtenet"))
    for a in rng.sample(answers, 30):
        m.remove_answer(a.id)
    fresh = Matcher(themes=THEMES, places=PLACES)
    fresh.build(
        experts=list(m.documents("expert").values()),  # type: ignore[arg-type]
        practices=list(m.documents("practice").values()),  # type: ignore[arg-type]
        answers=list(m.documents("answer").values()),  # type: ignore[arg-type]
    )
    for query in ("warmtenet", "leegstandsheffing wonen", "ontharding beleid wijk", "zwerfvuil stad"):
        pq = m._parser.parse(query)
        for name in ("expert", "practice", "answer"):
            a = m._score(m._kinds[name], pq.groups, k=10**9, boost_max=1.0).as_dict()
            b = fresh._score(fresh._kinds[name], pq.groups, k=10**9, boost_max=1.0).as_dict()
            assert a.keys() == b.keys()
            for d in a:  # the field-length averages of a fresh build differ a little from the running snapshot
                assert a[d] == pytest.approx(b[d], rel=0.05)


def _as_dicts(coll: Collection) -> dict[str, dict[int, float]]:
    return {t: dict(zip(coll.ids[p.slots].tolist(), p.sats.tolist(), strict=True)) for t, p in coll.postings.items()}


def test_collection_updates_and_compaction_keep_the_postings_of_a_reset() -> None:
    fields = {"title": 2.0, "body": 1.0}
    rng = random.Random(1)
    vocab = [f"w{i}" for i in range(60)]

    def doc() -> list[tuple[dict[str, float], int]]:
        title = dict.fromkeys(rng.sample(vocab, 2), 1.0)
        body = {w: float(rng.randint(1, 3)) for w in rng.sample(vocab, 5)}
        return [(title, 2), (body, 8)]

    docs = {i: doc() for i in range(1, 1500)}
    coll = Collection(fields, {"title": 0.3, "body": 0.75}, k1=1.2, refresh_drift=10.0)
    coll.reset(docs.items())
    for i in rng.sample(sorted(docs), 1000):  # more than half: the slots are compacted on the way
        assert coll.remove(i)
        del docs[i]
    assert coll.n_slots < 1500
    for i in rng.sample(sorted(docs), 50):
        docs[i] = doc()
        coll.add(i, docs[i])
    assert len(coll) == len(docs)
    # a reset with the same length snapshot: the same postings (document, saturated weight) per term
    ref = Collection(fields, {"title": 0.3, "body": 0.75}, k1=1.2, refresh_drift=10.0)
    ref.reset(docs.items())
    ref_snapshot = ref._snapshot
    coll_snapshot = coll._snapshot
    assert coll_snapshot is not None and ref_snapshot is not None
    got = _as_dicts(coll)
    if coll_snapshot == ref_snapshot:
        assert got == _as_dicts(ref)
    else:  # same documents per term, slots ascending in every list
        assert {t: set(d) for t, d in got.items()} == {t: set(d) for t, d in _as_dicts(ref).items()}
    for p in coll.postings.values():
        assert (p.slots[1:] > p.slots[:-1]).all()
    for i, fts in docs.items():
        assert set(coll.term_sats(i)) == {t for tf, _ in fts for t in tf}
