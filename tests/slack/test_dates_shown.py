"""Dates as users read them ("30 Nov 2026", "30 nov 2026"), in every builder that shows one: never ISO text."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.error_texts import error_text
from bot.home import HomeView
from bot.matching.documents import AnswerDoc, ExpertDoc
from bot.matching.results import AnswerHit, ExpertHit, Reason, SearchResult
from bot.presenter import build_answer_view, render_text
from bot.routing.errors import RoutingInputError
from bot.routing.queries import HeldQuestion, StaffQueue, WaitingQuestion
from handlers.blocks.home import build_home_view, held_item, home_data, waiting_item
from handlers.blocks.profile import ProfileCard, profile_text
from handlers.blocks.routing import MyQuestion, build_my_questions
from handlers.outbox import render_message
from storage.models import Availability, Consent, Expert, OutboxKind, Question, QuestionStatus, RecordStatus
from tests.slack.test_routing_blocks import ANON, SELF_SERVICE

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
WHEN = datetime(2026, 11, 30, 9, tzinfo=UTC)
SHOWN = {"nl": "30 nov 2026", "en": "30 Nov 2026"}
LANGS = pytest.mark.parametrize("lang", ["nl", "en"])


def _dumped(value: Any) -> str:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    elif isinstance(value, list):
        value = [b.to_dict() if hasattr(b, "to_dict") else b for b in value]
    # a date picker's initial date is Slack's format, not text anyone reads
    return re.sub(r'"initial_date": "[^"]*"', "", json.dumps(value, ensure_ascii=False))


@pytest.mark.parametrize("kind", list(OutboxKind))
@LANGS
def test_no_message_shows_an_iso_date(kind: OutboxKind, lang: str) -> None:
    payload = ANON | SELF_SERVICE | {"desired_by": "2026-11-30", "last_confirmed": "2026-11-30"}
    shown = _dumped(render_message(kind, payload, lang).blocks)
    assert not ISO.search(shown), ISO.findall(shown)


@LANGS
def test_the_consent_request_and_the_expert_request_show_the_date_as_users_read_it(lang: str) -> None:
    payload = ANON | SELF_SERVICE | {"desired_by": "2026-11-30", "last_confirmed": "2026-11-30"}
    assert SHOWN[lang] in _dumped(render_message(OutboxKind.CONSENT_REQUEST, payload, lang).blocks)
    assert SHOWN[lang] in _dumped(render_message(OutboxKind.EXPERT_REQUEST, payload, lang).blocks)


def _expert() -> Expert:
    return Expert(
        id=5,
        name="An Peeters",
        email="an@gent.be",
        organisation="Stad Gent",
        city="Gent",
        role="",
        expertise=["leegstand"],
        languages=["nl"],
        bio="",
        themes=[],
        availability=Availability.AWAY,
        away_until=date(2026, 11, 30),
        consent=Consent.CONFIRMED,
        last_confirmed_at=WHEN,
        status=RecordStatus.PUBLISHED,
        slack_user_id="U0AN",
    )


@LANGS
def test_the_home_tab_and_the_profile_show_dates_as_users_read_them(lang: str) -> None:
    asked = Question(id=3, text="Wat met leegstand?", status=QuestionStatus.ROUTED, created_at=WHEN)
    queue = StaffQueue(
        count=1,
        questions=(WaitingQuestion(question_id=4, text="Hoe?", reason=None, escalated_at=WHEN, triage_error=None),),
    )
    home = HomeView(profile=_expert(), stale_profile=False, asked=(asked,), is_staff=True, waiting=queue)
    shown = _dumped(build_home_view(home_data(home, lang), lang))
    assert not ISO.search(shown), ISO.findall(shown)
    assert shown.count(SHOWN[lang]) >= 4  # away until, last confirmed, asked on, escalated on
    held = held_item(HeldQuestion(question_id=8, text=None, asked_at=WHEN), lang)
    assert held.date == SHOWN[lang] == waiting_item(queue.questions[0], lang).date
    card = ProfileCard(1, "An", "an@gent.be", "Gent", availability="away", away_until="2026-11-30")
    assert SHOWN[lang] in profile_text(ProfileCard(**{**_card_values(card), "last_confirmed": "2026-11-30"}), lang)


def _card_values(card: ProfileCard) -> dict[str, Any]:
    return {name: getattr(card, name) for name in card.__slots__}  # type: ignore[attr-defined]


@LANGS
def test_my_questions_the_answer_and_a_refusal_show_dates_as_users_read_them(lang: str) -> None:
    mine = MyQuestion(id=1, text="Wat?", status=QuestionStatus.OPEN, created=WHEN.date(), answered=False, rating=None)
    assert SHOWN[lang] in _dumped(build_my_questions([mine], lang))

    expert = ExpertDoc(
        id=1, email="a@b.be", name="An", organisation="Gent", availability="away", away_until=WHEN.date()
    )
    stale = Reason(term="", field="profile", kind="stale", original="", target="2026-11-30")
    answer = AnswerDoc(id=2, question="Leegstand?", answer="Zo.", answered_by="Bert", answered_at=WHEN)
    result = SearchResult(
        query="leegstand",
        terms=("leegstand",),
        themes=(),
        cities=(),
        gap=False,
        experts=[ExpertHit(doc=expert, score=0.5, reasons=(stale,), available=False)],
        answers=[AnswerHit(doc=answer, score=0.4, reasons=())],
    )
    view = build_answer_view(result, lang=lang)
    text = render_text(view) + _dumped([e.availability for e in view.experts] + [a.byline for a in view.answers])
    assert not ISO.search(text), ISO.findall(text)
    assert text.count(SHOWN[lang]) >= 3  # away until, not confirmed since, answered on

    refused = RoutingInputError("chosen_away_until", "away", values={"name": "<@U1>", "until": "2026-11-30"})
    said = error_text(refused, lang) or ""
    assert SHOWN[lang] in said and not ISO.search(said)
