"""``bench/gap_self_calibration.py``, the script behind round 17 of docs/matching-evaluation.md ("nobody knows" read
relative to the register itself, tried): a pseudo-question per expert, what removing the expert (or every document
naming the item) does to the gap features, and the three ways a feature is placed against the register's own
"someone here" and "nobody here" sets. Only the validation's fit needs scikit-learn (the bench extra): that test
alone is skipped without it."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = list(sys.path)
    try:
        return load_script(ROOT / "bench" / "gap_self_calibration.py", "gap_self_calibration_for_test")
    finally:  # the script puts bench/ first on the path, where a script named like a package would shadow it
        sys.path[:] = path


def expert(i: int, *expertise: str, bio: str = "") -> ExpertDoc:
    return ExpertDoc(id=i, email=f"e{i}@stad.be", name=f"Expert {i}", organisation="Stad", expertise=expertise, bio=bio)


def matcher(*experts: ExpertDoc) -> Matcher:
    m = Matcher(themes=[], places=[], config=MatchConfig(gap_model=False))
    m.build(experts=list(experts), practices=[], answers=[])
    return m


def test_the_pseudo_question_asks_for_one_expertise_item_picked_by_id(bench: ModuleType) -> None:
    assert bench.pseudo_question(expert(3, "leegstandsheffing", "erfpacht")) == "Wie weet iets over erfpacht?"
    assert bench.pseudo_question(expert(4, "leegstandsheffing", "erfpacht")) == "Wie weet iets over leegstandsheffing?"
    assert bench.pseudo_question(expert(5, " ")) is None  # no item, no pseudo-question


def test_without_the_expert_the_question_reads_as_nobody_here(bench: ModuleType) -> None:
    e = expert(1, "leegstandsheffing")
    others = (expert(2, "parkeerbeleid"), expert(3, "jeugdwerk"))
    q = bench.pseudo_question(e)
    present = bench._features(matcher(e, *others), q)
    absent = bench._features(matcher(*others), q)
    assert present["coverage"] > 0.5 and present["confidence"] > 0.0  # the expert who lists it covers the question
    assert absent["coverage"] == 0.0 and absent["confidence"] == 0.0  # nobody left does


def test_place_between_reads_0_at_nobody_here_and_1_at_someone_here(bench: ModuleType) -> None:
    present = [{"coverage": 0.8}, {"coverage": 1.0}]
    absent = [{"coverage": 0.0}, {"coverage": 0.2}]
    place = bench.place_between(present, absent, ("coverage",))
    assert place({"coverage": 0.1}) == pytest.approx({"coverage": 0.0})
    assert place({"coverage": 0.9}) == pytest.approx({"coverage": 1.0})
    # a feature whose two levels lie close is centred on "nobody here" and scaled by its spread instead
    flat = bench.place_between([{"x": 1.0}, {"x": 3.0}], [{"x": 1.0}, {"x": 3.0}], ("x",))
    assert flat({"x": 3.0}) == pytest.approx({"x": 1.0})


def test_place_z_and_rank_read_the_register_s_pseudo_questions_together(bench: ModuleType) -> None:
    present = [{"x": 3.0}, {"x": 4.0}]
    absent = [{"x": 1.0}, {"x": 2.0}]
    assert bench.place_z(present, absent, ("x",))({"x": 2.5}) == pytest.approx({"x": 0.0})
    rank = bench.place_rank(present, absent, ("x",))
    assert rank({"x": 0.0}) == {"x": 0.0}
    assert rank({"x": 2.0}) == {"x": 0.375}  # one below, one equal (half) of four
    assert rank({"x": 9.0}) == {"x": 1.0}


def test_a_placement_of_some_features_leaves_the_others_raw(bench: ModuleType) -> None:
    rows = {
        "r": {
            "dev": [{"coverage": 0.5, "semantic_whole_z": 3.0}],
            "gaps": [0],
            "present": [{"coverage": 1.0}],
            "absent": [{"coverage": 0.0}],
        }
    }
    got = bench.data_for(rows, "between", ("coverage", "semantic_whole_z"), frozenset({"coverage"}))
    assert got["r"] == ([{"coverage": 0.5, "semantic_whole_z": 3.0}], [0])  # halfway between the levels 0 and 1
    rows["r"]["absent"] = [{"coverage": 0.25}]
    got = bench.data_for(rows, "between", ("coverage", "semantic_whole_z"), frozenset({"coverage"}))
    assert got["r"][0][0] == pytest.approx({"coverage": 1 / 3, "semantic_whole_z": 3.0})


def test_the_left_out_fit_reads_each_register_with_a_model_of_the_others(bench: ModuleType) -> None:
    pytest.importorskip("sklearn")  # the bench extra: the fit itself
    rows = [{"x": 0.0}, {"x": 0.1}, {"x": 0.9}, {"x": 1.0}]
    data = {"a": (rows, [1, 1, 0, 0]), "b": (rows, [1, 1, 0, 0]), "c": (rows, [1, 1, 0, 0])}
    pooled, per = bench._left_out(data, ("x",))
    assert len(pooled) == 12 and set(per) == {"a", "b", "c"}
    for register in per.values():
        probabilities = [p for p, _ in register]
        assert probabilities[0] > 0.5 > probabilities[-1]  # low x: "nobody knows" (1), as the others taught it
