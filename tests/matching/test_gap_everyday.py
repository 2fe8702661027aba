"""The gap decision without the weight of the everyday Dutch words a register lacks (round 30,
``MatchConfig.gap_everyday_unknown``, off by default)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import shipped_models
from bot.matching.wordlist import common_dutch_words

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY

EVERYDAY = "boodschappen"  # a common Dutch word no document of the test register holds
RARE = "zwerfkatten"  # a word the register lacks that is no common Dutch word


def _matcher(on: bool) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), gap_everyday_unknown=on))
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    return m


def test_the_words_are_what_the_tests_say() -> None:
    everyday = common_dutch_words()
    assert EVERYDAY in everyday and RARE not in everyday
    m = _matcher(False)
    for word in (EVERYDAY, RARE):
        assert m.search(f"leegstandsheffing {word}", today=TODAY).gap_features["unknown"] == 0.5


def test_off_by_default() -> None:
    assert MatchConfig().gap_everyday_unknown is False


def test_an_everyday_word_the_register_lacks_weighs_nothing_in_the_gap_features() -> None:
    question = f"leegstandsheffing {EVERYDAY}"
    off = _matcher(False).search(question, today=TODAY).gap_features
    on = _matcher(True).search(question, today=TODAY).gap_features
    # off: the missing word is the most specific concept, missed by everyone
    assert off["uncovered"] == 1.0 and off["core"] == 0.0
    # on: the question reads as its known word alone, which the best expert covers
    assert on["uncovered"] == 0.0
    assert on["core"] > 0.5
    assert on["coverage"] == pytest.approx(on["coverage_known"])
    assert on["coverage"] > 2 * off["coverage"]
    # still a word the register lacks, and the rest of what the model reads is the same
    assert on["unknown"] == off["unknown"] == 0.5
    same = set(off) - {"coverage", "core", "uncovered", "specificity", "heavy"}
    assert {k: on[k] for k in same} == {k: off[k] for k in same}


def test_a_rare_word_the_register_lacks_keeps_its_weight() -> None:
    question = f"leegstandsheffing {RARE}"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert on.gap_features == off.gap_features
    assert on.gap_features["uncovered"] == 1.0
    assert (on.gap, on.gap_probability) == (off.gap, off.gap_probability)


def test_a_question_of_everyday_words_only_stays_as_it_was() -> None:
    question = f"{EVERYDAY} en computers"
    assert "computers" in common_dutch_words()
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert on.gap_features == off.gap_features
    assert on.gap and off.gap


def test_the_decision_reads_the_changed_features_and_the_ranking_is_untouched() -> None:
    question = f"wie weet iets over leegstandsheffing en {EVERYDAY}?"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    model = shipped_models()["lexical"]
    assert on.gap_probability == pytest.approx(model.probability(on.gap_features), abs=1e-4)
    assert on.gap_probability < off.gap_probability
    # the ranking, the scores and the reasons shown are the same; only "weak" may follow the decision
    for a, b in ((on.experts, off.experts), (on.practices, off.practices), (on.answers, off.answers)):
        assert [(h.doc.id, h.score, h.reasons) for h in a] == [(h.doc.id, h.score, h.reasons) for h in b]
    assert on.confidence == off.confidence


def test_with_context_words_the_gap_decision_reads_the_rule_too() -> None:
    # "in onze stad" is left out of the ranking, and the gap decision reads the whole question: with the rule
    question = f"leegstandsheffing en {EVERYDAY} in onze stad"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert off.gap_features["uncovered"] == 1.0
    assert on.gap_features["uncovered"] < 1.0
    assert on.gap_features["unknown"] == off.gap_features["unknown"]
    assert [(h.doc.id, h.score, h.reasons) for h in on.experts] == [(h.doc.id, h.score, h.reasons) for h in off.experts]
