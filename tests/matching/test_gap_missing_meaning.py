"""The gap decision's meaning of the missed words (``MatchConfig.gap_missing_meaning``, ``bot.matching.missing``):
how close the register comes in meaning to the words the best expert misses — a paraphrase of a topic the register
holds reads close, a topic nobody holds far; off, nothing is computed and nothing changes."""

from __future__ import annotations

from bot.matching import MatchConfig, Matcher
from bot.matching.missing import MISSING_FEATURES
from bot.matching.semantic import SemanticIndex, fill
from tests.matching.conftest import EXPERTS, PLACES, THEMES, TODAY
from tests.matching.test_semantic import ZORBLAX, FakeEmbedder, documents


def matcher(*, on: bool, semantic: bool = True) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=MatchConfig(gap_missing_meaning=on))
    m.build(experts=[*EXPERTS, ZORBLAX], practices=[], answers=[])
    if semantic:
        m.semantic = SemanticIndex(FakeEmbedder(), weight=0.5, z_floor=0.5)
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
    return m


def test_a_missed_paraphrase_of_a_held_topic_reads_closer_than_a_missed_topic_nobody_holds() -> None:
    m = matcher(on=True)
    paraphrase = m.search("huur quux", today=TODAY).gap_features  # "quux" means zorblax, an expertise item
    # "klimaatvluchteling": means klimaat, which no expertise item or practice title means
    topic = m.search("huur klimaatvluchteling", today=TODAY).gap_features
    assert paraphrase["missing_near"] > 0.9
    assert topic["missing_near"] < 0.6
    assert paraphrase["missing_near_z"] > topic["missing_near_z"]


def test_off_computes_nothing_and_changes_neither_ranking_nor_decision() -> None:
    for q in ("huur quux", "huur radon", "zorblax", "leegstand in de wijk"):
        off = matcher(on=False).search(q, today=TODAY)
        on = matcher(on=True).search(q, today=TODAY)
        assert not set(MISSING_FEATURES) & set(off.gap_features)
        assert set(MISSING_FEATURES) <= set(on.gap_features)  # the shipped model does not read them
        assert [(h.doc.id, h.score, h.reasons) for h in on.experts] == [
            (h.doc.id, h.score, h.reasons) for h in off.experts
        ]
        assert (on.gap, on.gap_probability) == (off.gap, off.gap_probability)


def test_without_vectors_nothing_is_computed() -> None:
    assert not set(MISSING_FEATURES) & set(matcher(on=True, semantic=False).search("huur radon").gap_features)
