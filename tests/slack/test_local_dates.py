"""Dates shown to people are the day in the network's time zone (``Settings.timezone``), as the digest shows them:
a question asked at 00:30 in Brussels is of that day in the Home tab, My questions and an answer's byline, not of the
UTC day before."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.home import HomeView
from bot.i18n import format_date
from bot.routing.queries import HeldQuestion
from handlers.blocks.digest import format_date as digest_date
from handlers.blocks.home import held_item, home_data
from handlers.routing import _my
from storage.models import QuestionStatus

ASKED = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30 on 30 November in Brussels
BRUSSELS, NEW_YORK = ZoneInfo("Europe/Brussels"), ZoneInfo("America/New_York")


def test_the_home_tab_shows_the_local_day_as_the_digest_does() -> None:
    assert digest_date(ASKED, "nl", year=True, tz=BRUSSELS) == "30 nov 2026"
    assert held_item(HeldQuestion(question_id=8, text=None, asked_at=ASKED), "nl", tz=BRUSSELS).date == "30 nov 2026"
    asked = SimpleNamespace(text="Wie weet iets?", status=QuestionStatus.ROUTED, created_at=ASKED)
    data = home_data(HomeView(profile=None, stale_profile=False, asked=(asked,)), "en", tz=BRUSSELS)  # type: ignore[arg-type]
    assert [item.date for item in data.asked] == ["30 Nov 2026"]


@pytest.mark.parametrize(("tz", "day"), [(BRUSSELS, date(2026, 11, 30)), (NEW_YORK, date(2026, 11, 29))])
def test_my_questions_show_the_day_in_the_configured_zone(tz: ZoneInfo, day: date) -> None:
    question = SimpleNamespace(
        id=8, text="Wie weet iets?", status=QuestionStatus.ROUTED, created_at=ASKED, answers=[], rating=None
    )
    assert _my(question, tz).created == day  # type: ignore[arg-type]


def test_a_stored_moment_without_a_zone_is_utc_and_a_date_is_itself() -> None:
    assert format_date(ASKED.replace(tzinfo=None), "nl", year=True, tz=BRUSSELS) == "30 nov 2026"
    assert format_date(ASKED, "nl", year=True) == "30 nov 2026"  # the default zone: Settings.timezone's default
    assert format_date(date(2026, 11, 29), "nl", year=True, tz=BRUSSELS) == "29 nov 2026"
