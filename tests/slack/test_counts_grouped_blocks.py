"""Counts of a thousand and more in Slack texts group their thousands as the reader's language does: "1.500 vragen"
for a Dutch reader, "1,500 questions" for an English one — in a channel's digest, the knowledge needs (the period's
topics, the Home tab's section, a proposed work session) and the refusals a user reads. The plural form still
follows the number itself."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.error_texts import error_text
from bot.errors import Count, QueryError
from bot.needs.model import COVERED, TREND_RISING, NeedsOverview, TopicView
from bot.needs.proposal_actions import _session_summary
from bot.routing.errors import RoutingInputError
from digests.model import GapItem, Person, ThemeDigest, WeekFigures
from handlers.blocks.digest import DigestLimits, digest_fallback_text
from handlers.blocks.needs import build_needs_home_section, build_needs_overview, build_needs_proposal, status_invited
from tests.digests.conftest import NOW, blocks_json
from tests.digests.test_builder import WONEN, answered, build, data, open_q, practice, theme


def _text(blocks: list[Any]) -> str:
    return json.dumps([b.to_dict() for b in blocks], ensure_ascii=False)


# --- the digest -----------------------------------------------------------------------------------------------------


def _busy_theme() -> ThemeDigest:
    hidden = tuple(Person(key=f"h:{i}", hidden=True) for i in range(1200))
    return theme(
        WONEN,
        practices=tuple(practice(i) for i in range(1, 1012)),  # 10 shown, 1,001 more
        answered=(answered(10, *hidden),),
        open_questions=(open_q(20, asked_at=NOW - timedelta(days=1500)),),
        gaps=(GapItem("leegstand winkelpanden", 2500),),
        unquoted_gaps=1234,
        weeks=(*(WeekFigures(),) * 6, WeekFigures(9876, 4321, 3600.0), WeekFigures(12345, 1000, 7200.0)),
    )


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "nl",
            (
                "Vragen gesteld: *12.345* (vorige week: 9.876) · beantwoord: *1.000* (4.321)",
                "… en nog 1.001",
                "1.200 collega's",
                "1.500 dagen open",
                "— 2.500×",
                "nog 1.234 vragen zonder antwoord",
            ),
        ),
        (
            "en",
            (
                "Questions asked: *12,345* (previous week: 9,876) · answered: *1,000* (4,321)",
                "… and 1,001 more",
                "1,200 colleagues",
                "open for 1,500 days",
                "— 2,500×",
                "• 1,234 more questions that matched nobody",
            ),
        ),
    ],
)
def test_the_digest_groups_its_counts_in_the_channel_language(lang: str, expected: tuple[str, ...]) -> None:
    shown = blocks_json(build(data(_busy_theme()), lang=lang, limits=DigestLimits(practices=10)))
    for words in expected:
        assert words in shown


def test_a_digest_of_a_thousand_parts_numbers_them_grouped() -> None:
    digest = data(theme(WONEN))
    assert digest_fallback_text(digest, lang="nl", part=1000, parts=1200).endswith("(deel 1.000/1.200)")
    assert digest_fallback_text(digest, lang="en", part=1000, parts=1200).endswith("(part 1,000 of 1,200)")


# --- knowledge needs ------------------------------------------------------------------------------------------------


def _topic(topic_id: int = 1, **values: Any) -> TopicView:
    figures: dict[str, Any] = {
        "id": topic_id,
        "label": f"ratten {topic_id}",
        "themes": ("klimaat",),
        "questions": 1500,
        "gaps": 600,
        "organisations": 1100,
        "cities": 1001,
        "answered": 1000,
        "median_answer_hours": 1234.5,
        "coverage": COVERED,
        "trend": TREND_RISING,
        "previous": (),
        "quoted": (),
        "not_quoted": 0,
        "askers": 1200,
    }
    return TopicView(**(figures | values))


def _overview(topics: tuple[TopicView, ...], items: int) -> NeedsOverview:
    return NeedsOverview(period="2026-Q4", start=NOW, end=NOW, topics=topics, items=items, unassigned=0)


NEEDS = {
    "nl": (
        "2.100 vragen van 1.200 personen · 1.100 organisaties · 1.001 steden",
        "1.000/1.500 beantwoord (mediaan 1.234,5 u)",
    ),
    "en": (
        "2,100 questions by 1,200 people · 1,100 organisations · 1,001 cities",
        "1,000/1,500 answered (median 1,234.5 h)",
    ),
}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_needs_overview_groups_its_counts_in_the_reader_language(lang: str) -> None:
    topics = tuple(_topic(i) for i in range(1, 1017))  # 15 shown, 1,001 more
    shown = _text(build_needs_overview(_overview(topics, 25000), lang))
    for words in NEEDS[lang]:
        assert words in shown
    assert {
        "nl": "1.016 onderwerpen uit 25.000 vragen en kennislacunes",
        "en": "1,016 topics from 25,000 questions and knowledge gaps",
    }[lang] in shown
    assert {"nl": "+ 1.001 onderwerpen meer", "en": "+ 1,001 more topics"}[lang] in shown


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_home_section_groups_its_counts_in_the_reader_language(lang: str) -> None:
    shown = _text(build_needs_home_section(_overview((_topic(),), 1001), lang))
    for words in NEEDS[lang]:
        assert words in shown
    assert {"nl": "2026-Q4: 1.001 vragen en kennislacunes", "en": "2026-Q4: 1,001 questions and knowledge gaps"}[
        lang
    ] in shown


def test_a_median_under_a_thousand_hours_keeps_its_decimal_as_the_language_writes_it() -> None:
    assert "(mediaan 4,5 u)" in _text(build_needs_home_section(_overview((_topic(median_answer_hours=4.5),), 1), "nl"))
    assert "(median 4.5 h)" in _text(build_needs_home_section(_overview((_topic(median_answer_hours=4.5),), 1), "en"))


def test_the_proposal_groups_its_counts_in_the_reader_language() -> None:
    proposal = {"id": 7, "label": "ratten", "questions": 1500, "organisations": 1200, "not_quoted": 1000}
    dutch = _text(build_needs_proposal({"proposal": proposal}, "nl").blocks)
    assert "1.500 vragen uit 1.200 organisaties" in dutch and "+ 1.000 besloten of anonieme vragen" in dutch
    english = _text(build_needs_proposal({"proposal": proposal}, "en").blocks)
    assert "1,500 questions from 1,200 organisations" in english and "+ 1,000 private or anonymous questions" in english
    assert "invited 1,000 people to" in status_invited("en", staff="<@U1>", channel_id="C1", invited=1000)
    assert "nodigde 1.000 mensen uit" in status_invited("nl", staff="<@U1>", channel_id="C1", invited=1000)


def test_a_work_session_summary_groups_its_counts_in_the_network_language() -> None:
    assert "na 1.500 vragen uit 1.200 organisaties" in _session_summary("ratten", 1500, 1200, "nl")
    assert "after 1,500 questions from 1,200 organisations" in _session_summary("ratten", 1500, 1200, "en")
    assert "after 1 question from 1 organisation" in _session_summary("ratten", 1, 1, "en")


# --- refusals -------------------------------------------------------------------------------------------------------


def test_a_refusal_names_its_limits_grouped() -> None:
    """The search engine's and the routing's limits are ``Count`` values (``tests/matching/test_engine.py``,
    ``tests/routing/test_asker_limits.py``): the user's language groups them."""
    too_long = QueryError("too_long", "the query is long", values={"length": Count(12000), "limit": Count(2000)})
    assert "(12.000 tekens, max. 2.000)" in (error_text(too_long, "nl") or "")
    assert "(12,000 characters, max. 2,000)" in (error_text(too_long, "en") or "")
    hourly = RoutingInputError("too_many_questions", "too many", values={"limit": Count(1000)})
    assert "per uur (1.000)" in (error_text(hourly, "nl") or "")
    assert "questions (1,000)" in (error_text(hourly, "en") or "")
