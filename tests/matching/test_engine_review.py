"""Findings of the review of the matching engine (#13): what a practice's meaning may bring in, when the gap model
may use the register's calibration, and what judging a real-word repair may cost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

import pytest

from bot.matching import MatchConfig, Matcher, engine
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.embedding import KINDS, fill
from bot.matching.gapmodel import GapModel
from bot.matching.semantic import SemanticIndex
from tests.matching.conftest import EXPERTS, PLACES, PRACTICES, THEMES, TODAY, expert
from tests.matching.test_semantic import ZORBLAX, FakeEmbedder


def _documents(m: Matcher) -> dict[str, object]:
    return {k: m.documents(k) for k in KINDS}


def _with_meaning(m: Matcher) -> Matcher:
    m.semantic = SemanticIndex(FakeEmbedder(), weight=2.0, z_floor=0.5)
    fill(m.semantic, _documents(m), None)  # type: ignore[arg-type]
    return m


class TestPracticeEvidenceByMeaning:
    # 60 experts who name the climate in passing: enough for the pruning of candidates to apply at limit 1
    FILLERS: ClassVar[list[ExpertDoc]] = [
        expert(100 + i, f"Filler{i:02d}", city="Gent", bio=f"Werkt soms rond klimaat, dossier {i:02d}.")
        for i in range(60)
    ]
    # the contact of this practice withdrew consent: the practice stays, its contact is not in the expert index
    ORPHAN = PracticeDoc(9, "Zorblax-proefproject", "Een proef met zorblax.", city="Gent", contact_expert_id=999)

    def _experts(self, practices: list[PracticeDoc]) -> list[int]:
        m = Matcher(themes=THEMES, places=PLACES, config=MatchConfig(practice_meaning_evidence=1.0))
        m.build(experts=self.FILLERS, practices=practices, answers=[])
        r = _with_meaning(m).search("klimaat quux", limit=1, today=TODAY)
        assert 999 not in [h.doc.id for h in r.experts]
        return [h.doc.id for h in r.experts]

    def test_a_practice_whose_contact_is_gone_prunes_no_real_expert(self) -> None:
        without = self._experts(list(PRACTICES))
        assert without  # someone who works on the climate is found
        # the practice matches the question by meaning; its contact is no one and must not raise the cut-off
        assert self._experts([*PRACTICES, self.ORPHAN]) == without


class TestGapModelCalibration:
    LEXICAL = GapModel(("confidence",), (-1.0,), 0.0, (0.0,), (1.0,), 0.5)
    # uses the practices' calibrated similarity: uncalibrated it would read 0.0, far below "nobody here"
    PRACTICE_RELATIVE = GapModel(("confidence", "p_semantic_rel"), (-1.0, -1.0), 5.0, (0.0, 0.0), (1.0, 1.0), 0.5)

    def _search(self, practices: list[PracticeDoc], monkeypatch: pytest.MonkeyPatch) -> tuple[Matcher, float, dict]:
        models = {"lexical": self.LEXICAL, "semantic": self.PRACTICE_RELATIVE}
        monkeypatch.setattr(engine, "shipped_models", lambda: models)
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=[*EXPERTS, ZORBLAX], practices=practices, answers=[])
        _with_meaning(m)  # the probes too: every kind with vectors is calibrated
        r = m.search("zorblax", today=TODAY)
        return m, r.gap_probability, r.gap_features

    def test_without_the_practices_calibration_words_alone_decide(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO, logger=engine.__name__)
        m, p, features = self._search(PRACTICES[:2], monkeypatch)  # fewer than 3 practices: no practice vectors
        assert m.semantic is not None
        assert m.semantic.calibration("expert") is not None and m.semantic.calibration("practice") is None
        assert p == pytest.approx(self.LEXICAL.probability(features), abs=1e-4)
        assert p != pytest.approx(self.PRACTICE_RELATIVE.probability(features), abs=1e-2)
        m.search("zorblax", today=TODAY)
        told = [rec for rec in caplog.records if "calibration of the practice vectors" in rec.getMessage()]
        assert len(told) == 1  # said once, not per search

    def test_with_both_calibrations_the_model_that_uses_them_decides(self, monkeypatch: pytest.MonkeyPatch) -> None:
        m, p, features = self._search(list(PRACTICES), monkeypatch)
        assert m.semantic is not None and m.semantic.calibration("practice") is not None
        assert p == pytest.approx(self.PRACTICE_RELATIVE.probability(features), abs=1e-4)


class _Counted(dict[int, float]):
    """A posting list that counts the postings visited (walked or looked up)."""

    visits = 0

    def __iter__(self) -> Iterator[int]:
        for d in super().__iter__():
            _Counted.visits += 1
            yield d

    def __contains__(self, key: object) -> bool:
        _Counted.visits += 1
        return super().__contains__(key)


class TestRealWordContextCost:
    """``_overlap`` (does the rest of the question vouch for repairing a real word?) runs for every repair and
    content word under the knowledge base's lock: its work must not grow with the posting lists it cannot use."""

    @staticmethod
    def _register() -> tuple[Matcher, dict[str, str]]:
        experts: list[ExpertDoc] = [expert(1 + i, f"A{i:03d}", expertise=("zorblaxbeleid",)) for i in range(100)]
        experts += [expert(201 + i, f"B{i:03d}", expertise=("quuxelplan",)) for i in range(100)]
        experts += [expert(301 + i, f"C{i:03d}", expertise=("fnordwerking",)) for i in range(3)]
        m = Matcher(themes=THEMES, places=PLACES)
        m.build(experts=experts, practices=[], answers=[])
        stems = {w: m._stem(w) for w in ("zorblaxbeleid", "quuxelplan", "fnordwerking")}
        coll = m._kinds["expert"].collection
        for s in stems.values():
            coll.postings[s] = _Counted(coll.postings[s])
        return m, stems

    @staticmethod
    def _share(m: Matcher, a: str, b: str) -> float:
        pa, pb = m._kinds["expert"].collection.postings[a], m._kinds["expert"].collection.postings[b]
        return len(pa.keys() & pb.keys()) / max(len(pa), len(pb))

    def test_what_cannot_reach_the_floor_is_not_walked_to_the_end(self) -> None:
        m, s = self._register()
        common_a, common_b, rare = s["zorblaxbeleid"], s["quuxelplan"], s["fnordwerking"]
        _Counted.visits = 0
        assert m._overlap(rare, common_a) < 0.4  # 3 documents against 100: the sizes alone say no
        assert _Counted.visits == 0
        assert m._overlap(common_a, common_b) < 0.4  # disjoint: out of reach once 61 of 100 are missed
        assert 0 < _Counted.visits <= 2 * 61  # each walked and looked up; all 100 would be 200
        _Counted.visits = 0
        assert m._overlap(common_a, common_b) < 0.4  # asked again (the next query): remembered
        assert _Counted.visits == 0

    def test_the_answer_is_exact_where_it_matters_and_the_memory_follows_the_index(self) -> None:
        m, s = self._register()
        a, b = s["zorblaxbeleid"], s["quuxelplan"]
        assert m._overlap(a, a) == pytest.approx(1.0)
        assert m._overlap(a, b, floor=0.0) == pytest.approx(self._share(m, a, b)) == 0.0
        # half of the b's experts also work on a's subject: the overlap reaches the floor and is exact
        more = [expert(501 + i, f"D{i:03d}", expertise=("zorblaxbeleid", "quuxelplan")) for i in range(100)]
        for doc in more:
            m.upsert_expert(doc)
        assert m._overlap(a, b) == pytest.approx(self._share(m, a, b)) == pytest.approx(0.5)
