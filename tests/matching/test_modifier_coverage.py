"""A question concept a document matches only through the modifier of a compound (kinderen in kinderopvang) counts
part of a matched concept in the coverage factor (round 28, ``MatchConfig.modifier_coverage``)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching import engine as engine_module
from bot.matching.documents import ExpertDoc, PracticeDoc

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert
from .generated import QUERY_WORDS, random_register

# kinderen only in kinderopvang (its modifier), zwemmen whole
LOTTE = expert(70, "Lotte", city="Gent", role="consulent", expertise=("kinderopvang", "zwemlessen"), bio="Zwemmen.")
# both words whole
JENS = expert(71, "Jens", city="Gent", role="consulent", bio="Zwemmen met kinderen.")
# kinderen whole as well as in kinderopvang
EVA = expert(72, "Eva", city="Gent", role="consulent", expertise=("kinderopvang",), bio="Zwemmen met kinderen.")
# opvang is kinderopvang's head
NOOR = expert(73, "Noor", city="Gent", role="consulent", expertise=("kinderopvang",), bio="Zwemmen.")
QUESTION = "wie weet iets over kinderen en zwemmen"


def matcher(
    share: float, experts: list[ExpertDoc] | None = None, practices: list[PracticeDoc] | None = None
) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), modifier_coverage=share))
    m.build(
        experts=experts if experts is not None else [*EXPERTS, LOTTE, JENS, EVA],
        practices=practices if practices is not None else PRACTICES,
        answers=ANSWERS,
    )
    return m


def scores(m: Matcher, question: str = QUESTION) -> dict[str, float]:
    return {h.doc.name: h.score for h in m.search(question, limit=10, today=TODAY).experts}


def test_off_by_default() -> None:
    assert MatchConfig().modifier_coverage == 1.0


def test_a_concept_met_only_in_a_compounds_modifier_counts_part_of_a_concept() -> None:
    before, after = scores(matcher(1.0)), scores(matcher(0.5))
    w = MatchConfig().coverage_weight
    # two concepts, one of them (kinderen) half: the coverage factor falls from 1 to 1 - w + w * 1.5 / 2
    assert after["Lotte"] == pytest.approx(before["Lotte"] * (1.0 - w + w * 1.5 / 2), abs=1e-4)
    # the same word whole elsewhere in the profile, or whole only, keeps the concept covered
    assert after["Eva"] == pytest.approx(before["Eva"], abs=1e-4)
    assert after["Jens"] == pytest.approx(before["Jens"], abs=1e-4)


def test_a_compounds_head_is_a_full_match() -> None:
    question = "wie weet iets over opvang en zwemmen"
    m_before, m_after = matcher(1.0, [*EXPERTS, NOOR]), matcher(0.5, [*EXPERTS, NOOR])
    assert m_after._modifier_terms(m_after._kinds["expert"], NOOR.id) == {"kinder"}
    assert scores(m_after, question)["Noor"] == pytest.approx(scores(m_before, question)["Noor"], abs=1e-4)


def test_the_reasons_stay_what_they_were() -> None:
    for share in (1.0, 0.5):
        hits = matcher(share).search(QUESTION, limit=10, today=TODAY).experts
        lotte = next(h for h in hits if h.doc.name == "Lotte")
        assert ("compound", "expertise", "kinderopvang") in [(r.kind, r.field, r.target) for r in lotte.reasons]


def test_work_that_says_the_word_whole_covers_the_concept() -> None:
    # Lotte is the contact of a practice whose title says kinderen whole: through her work the concept is covered
    practice = PracticeDoc(90, "Zwemmen voor kinderen", "Lessen in het stedelijk zwembad.", contact_expert_id=70)
    m = matcher(0.5, practices=[*PRACTICES, practice])
    e_kind, p_kind = m._kinds["expert"], m._kinds["practice"]
    pq = m._parser.parse(QUESTION)
    own = {70: (1 << pq.concepts) - 1}
    part = m._modifier_bits(e_kind, pq.groups, own)
    assert part == {70: next(g.concepts for g in pq.groups if g.original == "kinderen")}
    p_mask = {90: (1 << pq.concepts) - 1}
    p_part = m._modifier_bits(p_kind, pq.groups, p_mask)
    assert p_part == {}
    assert m._with_work(part, own, (({70: [(1.0, 90)]}, p_mask, p_part),)) == {}
    # work that matches it only through a modifier too leaves it partly covered
    assert m._with_work(part, own, (({70: [(1.0, 90)]}, p_mask, {90: part[70]}),)) == part


def test_a_synonym_phrase_finds_a_document_only_with_all_its_words() -> None:
    m = matcher(0.5)
    pq = m._parser.parse("wie weet iets over het sociaal verhuurkantoor")
    g = pq.groups[0]
    postings = m._kinds["expert"].collection.postings
    assert m._finds(g, 10**9, postings, set()) == 0


def test_forgetting_an_erasure_empties_the_memo() -> None:
    m = matcher(0.5)
    m.search(QUESTION, today=TODAY)
    assert m._modifier_memo
    m.forget_erased()
    assert not m._modifier_memo


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_early_stop_keeps_the_top_k_exact(seed: int) -> None:
    """With the rule on, the candidate pass's stop compares unseen documents against each seen one's least coverage
    (every concept counted at the share): the top k is the exhaustive scoring's."""
    experts, practices, answers = random_register(seed, 150)
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), modifier_coverage=0.25))
    m.build(experts=experts, practices=practices, answers=answers)
    rng = random.Random(seed)
    partial = 0
    for _ in range(25):
        pq = m._parser.parse(" ".join(rng.sample(QUERY_WORDS, rng.randint(2, 4))))
        for kind in m._kinds.values():
            tops = []
            for k in (5, 10**9):
                masks: dict[int, int] = {}
                raw = m._score(kind, pq.groups, k=k, boost_max=1.3, concepts=pq.concepts, masks=masks)
                part = m._modifier_bits(kind, pq.groups, masks)
                partial += bool(part) and k == 5
                m._cover(raw, masks, pq.concepts, part=part)
                tops.append([(d, round(s, 9)) for d, s in sorted(raw.items(), key=lambda x: (-x[1], x[0]))[:5]])
            assert [s for _, s in tops[0]] == [s for _, s in tops[1]]
    assert partial  # the rule applied somewhere


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bulk_pass_stops_where_the_walk_does(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    experts, practices, answers = random_register(seed, 120)
    cfg = replace(MatchConfig(), common_df=0.01, common_df_min=10, rerank_depth=20, modifier_coverage=0.5)
    m = Matcher(themes=THEMES, places=PLACES, config=cfg)
    m.build(experts=experts, practices=practices, answers=answers)
    rng = random.Random(seed)
    for _ in range(20):
        pq = m._parser.parse(" ".join(rng.sample(QUERY_WORDS, rng.randint(2, 4))))
        for kind in ("expert", "practice", "answer"):
            out = []
            for threshold in (10**12, 0):  # the Python walk, then the bulk path
                monkeypatch.setattr(engine_module, "_BULK_MIN", threshold)
                masks: dict[int, int] = {}
                raw = m._score(m._kinds[kind], pq.groups, k=5, boost_max=1.3, concepts=pq.concepts, masks=masks)
                out.append((list(raw.items()), masks, m.last_stats[kind]))
            assert out[0] == out[1]


def test_the_stops_lower_bound_is_below_the_covered_score() -> None:
    """The candidate pass stops once what an unseen document can collect is below a lower bound of the k-th best
    final score: with the rule on, that bound must allow for a concept the document matched only through a
    modifier (Lotte's kinderen), or a document could be left out that would have ranked above her."""
    m = matcher(0.5)
    kind = m._kinds["expert"]
    pq = m._parser.parse(QUESTION)
    masks: dict[int, int] = {}
    raw = m._score(kind, pq.groups, k=10**9, boost_max=1.0, concepts=pq.concepts, masks=masks)
    partial = {70: raw[70]}
    best = [{70: 1.0} if g.concepts & masks[70] else {} for g in pq.groups]
    bound = m._kth_covered(partial, pq.groups, best, 1, pq.concepts, 0.0)
    covered = dict(partial)
    m._cover(covered, masks, pq.concepts, part=m._modifier_bits(kind, pq.groups, {70: masks[70]}))
    assert covered[70] < raw[70]
    assert bound <= covered[70]
