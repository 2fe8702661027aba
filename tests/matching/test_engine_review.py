"""Findings of the review of the matching engine (#13): what a practice's meaning may bring in, when the gap model
may use the register's calibration, and what judging a real-word repair may cost."""

from __future__ import annotations

from typing import ClassVar

from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.semantic import KINDS, SemanticIndex, fill
from tests.matching.conftest import PLACES, PRACTICES, THEMES, TODAY, expert
from tests.matching.test_semantic import FakeEmbedder


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
