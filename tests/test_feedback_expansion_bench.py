"""``bench/feedback_expansion.py``, the script behind round 16 of docs/matching-evaluation.md (pseudo-relevance
feedback, tried): on a tiny register, the concepts the first pass's top documents share join the question as
expansion groups that count for no concept of the question, the expanded search finds who names only that concept,
and the evaluation it runs reads the development sets only."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.matching import Matcher
from bot.matching.documents import ExpertDoc

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = list(sys.path)
    try:
        return load_script(ROOT / "bench" / "feedback_expansion.py", "feedback_expansion_for_test")
    finally:  # the script puts bench/ first on the path, where a script named like a package would shadow it
        sys.path[:] = path


def expert(i: int, *expertise: str) -> ExpertDoc:
    return ExpertDoc(id=i, email=f"e{i}@stad.be", name=f"Expert {i}", organisation="Stad", expertise=expertise)


def register() -> Matcher:
    m = Matcher(themes=[], places=[])
    m.build(
        experts=[
            expert(1, "zorgzame buurt", "buurtconciërge"),
            expert(2, "zorgzame buurt", "buurtconciërge", "mantelzorg"),
            expert(3, "buurtconciërge"),
            expert(4, "leegstandsheffing"),
        ],
        practices=[],
        answers=[],
    )
    return m


def test_the_concept_the_top_documents_share_finds_who_names_only_it(bench: ModuleType) -> None:
    m = register()
    run = bench.install(m, bench.Options(depth=5, min_docs=2, top=3, weight=0.3))
    first, second = run("zorgzame buurt")
    assert sorted(h.doc.id for h in first.experts) == [1, 2]  # the first pass: who names the question's words
    got = [h.doc.id for h in second.experts]
    assert got[:2] in ([1, 2], [2, 1]) and 3 in got and 4 not in got  # the question's own matches stay first
    assert bench.LISTING[-1].endswith(": buurtconcierge")
    # the expansion counts for no concept of the question: the gap decision of the first pass is unchanged
    assert first.gap_features["coverage"] == second.gap_features["coverage"]


def test_no_feedback_concept_without_enough_documents_sharing_it(bench: ModuleType) -> None:
    m = register()
    run = bench.install(m, bench.Options(depth=5, min_docs=3))
    first, second = run("zorgzame buurt")
    assert second is first  # "buurtconciërge" is shared by two documents only: nothing to add


def test_a_variant_is_read_from_its_spec(bench: ModuleType) -> None:
    opts = bench._variant("source=meaning,depth=10,gate=0.3,experts_only=1")
    assert (opts.source, opts.depth, opts.gate, opts.experts_only, opts.top) == ("meaning", 10, 0.3, True, 3)


def test_the_evaluation_reads_the_development_sets_only(bench: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    argv: list[list[str]] = []
    monkeypatch.setattr(bench.em, "main", argv.append)
    monkeypatch.setattr(bench.em, "wieweet_system", bench.em.wieweet_system)  # main replaces it; restored after
    bench.main([])
    assert argv == [["--sets", "dev"]]
