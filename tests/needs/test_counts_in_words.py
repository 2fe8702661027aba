"""Counts in the knowledge-needs messages: the plural form their number takes, and no "no questions" beside a count
of questions (questions not grouped into a topic yet)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.needs.model import NeedsOverview
from handlers.blocks.needs import build_needs_home_section, build_needs_overview, build_needs_proposal, status_invited

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _text(blocks: list[Any]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


def _overview(items: int) -> NeedsOverview:
    return NeedsOverview(period="2026-Q4", start=NOW, end=NOW, topics=(), items=items, unassigned=items)


@pytest.mark.parametrize("build", [build_needs_home_section, build_needs_overview])
def test_questions_without_a_topic_are_not_called_no_questions(build: Any) -> None:
    shown = _text(build(_overview(4), "en"))
    assert "4 questions and knowledge gaps" in shown
    assert "No questions in this period" not in shown and "No topic has enough questions yet" in shown
    assert "Nog geen onderwerp heeft genoeg vragen" in _text(build(_overview(4), "nl"))
    assert "No questions in this period" in _text(build(_overview(0), "en"))


def test_one_question_is_singular_in_both_languages() -> None:
    assert "1 question or knowledge gap," in _text(build_needs_home_section(_overview(1), "en"))
    assert "1 vraag of kennislacune," in _text(build_needs_home_section(_overview(1), "nl"))
    assert "0 topics from 1 question or knowledge gap" in _text(build_needs_overview(_overview(1), "en"))


def test_invited_status_is_plural_aware() -> None:
    assert "invited 1 person to" in status_invited("en", staff="<@U1>", channel_id="C1", invited=1)
    assert "invited 3 people to" in status_invited("en", staff="<@U1>", channel_id="C1", invited=3)
    assert "nodigde 1 persoon uit" in status_invited("nl", staff="<@U1>", channel_id="C1", invited=1)


def test_proposal_counts_are_plural_aware() -> None:
    proposal = {"id": 7, "label": "ratten", "questions": 1, "organisations": 1, "not_quoted": 1, "status": "open"}
    shown = _text(build_needs_proposal({"proposal": proposal}, "en").blocks)
    assert "1 question from 1 organisation in" in shown and "1 private or anonymous question (not shown)" in shown
    assert "(s)" not in shown
    many = {**proposal, "questions": 3, "organisations": 2, "not_quoted": 2}
    shown = _text(build_needs_proposal({"proposal": many}, "nl").blocks)
    assert "3 vragen uit 2 organisaties" in shown and "2 besloten of anonieme vragen" in shown
