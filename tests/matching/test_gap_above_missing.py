"""The gap decision's coverage without the concepts matched below a missed, more specific one (round 31,
``MatchConfig.gap_cover_above_missing``, off by default)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import shipped_models

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY

MISSING = "zwerfkatten"  # a word no document of the test register holds: the most specific concept there is


def _matcher(on: bool) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), gap_cover_above_missing=on))
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    return m


def test_off_by_default() -> None:
    assert MatchConfig().gap_cover_above_missing is False


def test_a_concept_matched_below_a_missed_one_covers_nothing_of_the_question() -> None:
    question = f"leegstandsheffing {MISSING}"
    off = _matcher(False).search(question, today=TODAY).gap_features
    on = _matcher(True).search(question, today=TODAY).gap_features
    # the best expert matches "leegstandsheffing", less specific than the word nobody holds, which it misses
    assert off["uncovered"] == 1.0 and off["specificity"] < 1.0
    assert off["coverage"] > 0.2
    assert on["coverage"] == 0.0
    # the rest of what the model reads is the same (the known concepts are still matched as well)
    assert {k: v for k, v in on.items() if k != "coverage"} == {k: v for k, v in off.items() if k != "coverage"}
    assert on["coverage_known"] > 0.7


def test_a_matched_concept_more_specific_than_the_missed_one_still_covers() -> None:
    # the best expert matches "subsidies" and misses the less specific "leegstandsheffing"
    question = "leegstandsheffing en subsidies"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert 0.0 < off.gap_features["uncovered"] < off.gap_features["specificity"]
    assert on.gap_features == off.gap_features
    assert (on.gap, on.gap_probability) == (off.gap, off.gap_probability) == (False, off.gap_probability)


def test_a_fully_matched_question_is_untouched() -> None:
    off = _matcher(False).search("leegstandsheffing en woningen", today=TODAY)
    on = _matcher(True).search("leegstandsheffing en woningen", today=TODAY)
    assert off.gap_features["uncovered"] == 0.0
    assert on.gap_features == off.gap_features and not on.gap


def test_the_decision_reads_the_changed_coverage_and_the_ranking_is_untouched() -> None:
    question = f"wie weet iets over leegstandsheffing en {MISSING}?"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    model = shipped_models()["lexical"]
    assert on.gap_probability == pytest.approx(model.probability(on.gap_features), abs=1e-4)
    assert on.gap_probability > off.gap_probability
    # the ranking, the scores and the reasons shown are the same; only "weak" may follow the decision
    for a, b in ((on.experts, off.experts), (on.practices, off.practices), (on.answers, off.answers)):
        assert [(h.doc.id, h.score, h.reasons) for h in a] == [(h.doc.id, h.score, h.reasons) for h in b]
    assert on.confidence == off.confidence


def test_with_context_words_the_gap_decision_reads_the_rule_too() -> None:
    # "in onze stad" is left out of the ranking, and the gap decision reads the whole question: with the rule
    question = f"leegstandsheffing en {MISSING} in onze stad"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert off.gap_features["coverage"] > 0.0
    assert on.gap_features["coverage"] == 0.0
    assert [(h.doc.id, h.score, h.reasons) for h in on.experts] == [(h.doc.id, h.score, h.reasons) for h in off.experts]
