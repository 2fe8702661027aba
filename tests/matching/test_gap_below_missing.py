"""The gap features read beside the concept the best expert misses (round 32, ``MatchConfig.gap_below_missing``,
off by default): the share of the question matched only below it, and whether any document holds it."""

from __future__ import annotations

from dataclasses import replace

from bot.matching import MatchConfig, Matcher

from .conftest import ANSWERS, EXPERTS, PLACES, PRACTICES, THEMES, TODAY

MISSING = "zwerfkatten"  # a word no document of the test register holds: the most specific concept there is


def _matcher(on: bool) -> Matcher:
    m = Matcher(themes=THEMES, places=PLACES, config=replace(MatchConfig(), gap_below_missing=on))
    m.build(experts=EXPERTS, practices=PRACTICES, answers=ANSWERS)
    return m


def test_off_by_default_and_off_computes_nothing_new() -> None:
    assert MatchConfig().gap_below_missing is False
    features = _matcher(False).search(f"leegstandsheffing {MISSING}", today=TODAY).gap_features
    assert not {"below_missing", "below_share", "missing_held", "uncovered_held"} & set(features)


def test_a_question_matched_only_below_a_word_nobody_holds() -> None:
    question = f"leegstandsheffing {MISSING}"
    off = _matcher(False).search(question, today=TODAY)
    on = _matcher(True).search(question, today=TODAY)
    assert off.gap_features["uncovered"] == 1.0 and off.gap_features["specificity"] < 1.0
    # everything the best expert matches lies below the missed word, and no document holds that word
    assert on.gap_features["below_missing"] == on.gap_features["coverage"] > 0.2
    assert on.gap_features["below_share"] == 1.0
    assert on.gap_features["missing_held"] == on.gap_features["uncovered_held"] == 0.0
    # the other features, the ranking and the shipped decision (which does not read the new features) are the same
    new = ("below_missing", "below_share", "missing_held", "uncovered_held")
    assert {k: v for k, v in on.gap_features.items() if k not in new} == off.gap_features
    assert [(h.doc.id, h.score) for h in on.experts] == [(h.doc.id, h.score) for h in off.experts]
    assert (on.gap, on.gap_probability) == (off.gap, off.gap_probability)


def test_a_missed_word_the_register_holds_elsewhere() -> None:
    # the best expert matches "subsidies" and misses "leegstandsheffing", which another expert's profile holds
    on = _matcher(True).search("leegstandsheffing en subsidies", today=TODAY).gap_features
    assert 0.0 < on["uncovered"] < on["specificity"]
    assert on["missing_held"] == 1.0 and on["uncovered_held"] == on["uncovered"]
    assert on["below_missing"] < on["coverage"]


def test_a_fully_matched_question_has_nothing_below_a_miss() -> None:
    on = _matcher(True).search("leegstandsheffing en woningen", today=TODAY).gap_features
    assert on["uncovered"] == 0.0 and on["below_missing"] == 0.0 and on["missing_held"] == 0.0
