"""The gap decision's meaning of the missed words (``MatchConfig.gap_missing_meaning``, ``bot.matching.missing``):
how close the register comes in meaning to the words the best expert misses, against the register's "nobody here"
level of a best part cosine — a paraphrase of a topic the register holds reads close, a topic nobody holds far; off,
without vectors or without the experts' calibration, nothing is computed."""

from __future__ import annotations

import numpy as np
import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import CALIBRATED_FEATURES, shipped_models
from bot.matching.missing import MISSING_FEATURES
from bot.matching.semantic import SemanticIndex, fill
from tests.matching.conftest import EXPERTS, PLACES, THEMES, TODAY
from tests.matching.test_semantic import ZORBLAX, FakeEmbedder, documents


def matcher(*, on: bool = True, semantic: bool = True) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=MatchConfig(gap_missing_meaning=on))
    m.build(experts=[*EXPERTS, ZORBLAX], practices=[], answers=[])
    if semantic:
        m.semantic = SemanticIndex(FakeEmbedder(), weight=0.5, z_floor=0.5)
        fill(m.semantic, documents(m), None)  # type: ignore[arg-type]
    return m


def nearest_part(m: Matcher, text: str) -> float:
    """The best cosine between ``text`` embedded as a question and any part the register holds."""
    assert m.semantic is not None
    q = np.asarray(m.semantic.embedder.query(text), dtype=np.float32)
    return max(float(np.asarray(v, dtype=np.float32) @ q) for v in m.semantic._parts.values())


def test_a_missed_paraphrase_of_a_held_topic_reads_closer_than_a_missed_topic_nobody_holds() -> None:
    m = matcher()
    assert m.semantic is not None
    calib = m.semantic.calibration("expert")
    assert calib is not None
    paraphrase = m.search("huur quux", today=TODAY).gap_features  # "quux" means zorblax, an expertise item
    # "klimaatvluchteling": means klimaat, which no expertise item or practice title means
    topic = m.search("huur klimaatvluchteling", today=TODAY).gap_features
    assert paraphrase["missing_near_rel"] > topic["missing_near_rel"]
    # in standard deviations above the experts' "nobody here" level of a best part cosine (``Calibration.part``)
    assert paraphrase["missing_near_rel"] == pytest.approx(calib.part(nearest_part(m, "quux")), abs=1e-5)
    assert topic["missing_near_rel"] == pytest.approx(calib.part(nearest_part(m, "klimaatvluchteling")), abs=1e-5)


def test_it_is_on_by_default_and_the_shipped_meaning_model_reads_it_once_calibrated() -> None:
    assert MatchConfig().gap_missing_meaning
    assert "missing_near_rel" in shipped_models()["semantic"].features
    assert "missing_near_rel" in CALIBRATED_FEATURES
    assert "missing_near_rel" not in shipped_models()["lexical"].features


def test_on_or_off_the_ranking_is_the_same_and_off_computes_nothing() -> None:
    for q in ("huur quux", "huur radon", "zorblax", "leegstand in de wijk"):
        off = matcher(on=False).search(q, today=TODAY)
        on = matcher(on=True).search(q, today=TODAY)
        assert not set(MISSING_FEATURES) & set(off.gap_features)
        assert set(MISSING_FEATURES) <= set(on.gap_features)
        assert [(h.doc.id, h.score, h.reasons) for h in on.experts] == [
            (h.doc.id, h.score, h.reasons) for h in off.experts
        ]


def test_without_vectors_nothing_is_computed() -> None:
    assert not set(MISSING_FEATURES) & set(matcher(semantic=False).search("huur radon", today=TODAY).gap_features)


def test_without_the_experts_calibration_nothing_is_computed_and_nothing_embedded() -> None:
    m = matcher()
    assert m.semantic is not None
    m.semantic._calibration = {}
    embedder = m.semantic.embedder
    assert isinstance(embedder, FakeEmbedder)
    before = embedder.queries
    res = m.search("huur quux", today=TODAY)
    assert not set(MISSING_FEATURES) & set(res.gap_features)
    assert embedder.queries == before + 1  # the question only, not the missed words
    m.semantic.calibrate()
    m.search("huur quux", today=TODAY)
    assert embedder.queries == before + 3  # calibrated: the question, then the missed words ("quux") once more
