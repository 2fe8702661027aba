"""WIEWEET_EXTRA_HOLIDAYS: the days off a Flemish local government has besides Belgium's public holidays, read at
start, refused with a clear line when they are no days, and counted by every business calendar the commands build."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli.business_days import business_calendar
from bot.config import DEFAULT_YEARLY_HOLIDAYS, Settings, load_settings, read_settings
from bot.knowledge import KnowledgeBase
from bot.routing import BusinessCalendar, RoutingService
from storage.db import Database
from tests.test_cli_operator import SECRET, one_clear_line, wieweet


def test_by_default_the_flemish_days_off_are_no_business_days() -> None:
    calendar = business_calendar(load_settings({}))
    # Friday 11 July 2025 (Flemish Community's day), Monday 2 November 2026, Monday 15 November 2027, Friday
    # 26 December 2025: weekdays, and no Belgian public holiday
    for day in (date(2025, 7, 11), date(2026, 11, 2), date(2027, 11, 15), date(2025, 12, 26)):
        assert not calendar.is_business_day(day), day
    assert calendar.is_business_day(date(2025, 7, 10)) and calendar.is_business_day(date(2026, 11, 3))
    assert not calendar.is_business_day(date(2026, 11, 11))  # Belgium's own holidays stay


def test_every_calendar_built_without_settings_counts_the_configured_default_days(database: Database) -> None:
    """One default: ``BusinessCalendar()`` (tests, benchmarks) and the routing service's own calendar when none is
    handed in count the same days as the settings with ``WIEWEET_EXTRA_HOLIDAYS`` unset, the Flemish days off too."""
    configured = business_calendar(load_settings({}))
    fallback = RoutingService(knowledge=KnowledgeBase(database)).calendar
    days = [date(2025, 1, 1) + timedelta(days=n) for n in range(4 * 366)]
    for calendar in (BusinessCalendar(), fallback):
        assert [calendar.is_business_day(d) for d in days] == [configured.is_business_day(d) for d in days]
        assert not calendar.is_business_day(date(2026, 11, 2)) and not calendar.is_business_day(date(2025, 7, 11))
    assert BusinessCalendar(yearly_holidays=()).is_business_day(date(2025, 7, 11))  # none: Belgium's list alone


def test_the_frozen_settings_object_defaults_to_the_same_days() -> None:
    assert Settings().yearly_holidays == load_settings({}).yearly_holidays == {(7, 11), (11, 2), (11, 15), (12, 26)}
    assert business_calendar(Settings()).next_business_day(date(2025, 7, 10)) == date(2025, 7, 14)


def test_the_setting_replaces_the_default_with_yearly_and_one_off_days() -> None:
    settings = load_settings({"WIEWEET_EXTRA_HOLIDAYS": " 07-11; 12-24 2026-12-31,2026-12-28 "})
    assert settings.yearly_holidays == {(7, 11), (12, 24)}
    assert settings.extra_holidays == {date(2026, 12, 31), date(2026, 12, 28)}
    calendar = business_calendar(settings)
    assert not calendar.is_business_day(date(2025, 12, 24)) and not calendar.is_business_day(date(2027, 12, 24))
    assert not calendar.is_business_day(date(2026, 12, 28)) and calendar.is_business_day(date(2027, 12, 28))
    assert calendar.is_business_day(date(2026, 11, 2))  # no longer in the list: staff work that day


@pytest.mark.parametrize("value", ["2026-11-10", " 2026-11-10; 2027-05-07 "])
def test_one_off_days_alone_are_added_to_the_default_days_off(value: str) -> None:
    settings, problems = read_settings({"WIEWEET_EXTRA_HOLIDAYS": value})
    assert not problems
    assert settings.yearly_holidays == DEFAULT_YEARLY_HOLIDAYS
    assert date(2026, 11, 10) in settings.extra_holidays
    calendar = business_calendar(settings)
    # the bridge day between 2026's 10 November and Belgium's 11 November, and 11 July and the rest still
    assert not calendar.is_business_day(date(2026, 11, 10)) and not calendar.is_business_day(date(2026, 11, 2))
    assert not calendar.is_business_day(date(2025, 7, 11)) and calendar.is_business_day(date(2027, 11, 10))


def test_none_with_one_off_days_leaves_belgiums_public_holidays_and_those_days() -> None:
    settings = load_settings({"WIEWEET_EXTRA_HOLIDAYS": "none,2026-11-10"})
    assert (settings.yearly_holidays, settings.extra_holidays) == (frozenset(), {date(2026, 11, 10)})
    assert business_calendar(settings).is_business_day(date(2025, 7, 11))


def test_none_leaves_belgiums_public_holidays_only() -> None:
    settings = load_settings({"WIEWEET_EXTRA_HOLIDAYS": "None"})
    assert (settings.yearly_holidays, settings.extra_holidays) == (frozenset(), frozenset())
    assert business_calendar(settings).is_business_day(date(2025, 7, 11))


@pytest.mark.parametrize("value", ["none,07-11", "12-24 NONE 2026-11-10 07-11"])
def test_none_with_yearly_days_contradicts_itself_and_is_a_setting_to_fix(value: str) -> None:
    settings, problems = read_settings({"WIEWEET_EXTRA_HOLIDAYS": value})
    [problem] = problems
    assert "together with yearly days" in problem and "07-11" in problem, problem
    assert settings.yearly_holidays == Settings().yearly_holidays  # the default until it is fixed


def test_a_command_refuses_to_start_with_none_and_yearly_days(tmp_path: Path) -> None:
    env = {
        "WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-operator",
        "SLACK_SIGNING_SECRET": SECRET,
        "WIEWEET_EXTRA_HOLIDAYS": "none,07-11",
    }
    line = one_clear_line(wieweet("run", "--http", cwd=tmp_path, env=env), code=2)
    assert "WIEWEET_EXTRA_HOLIDAYS lists none" in line and "07-11" in line, line


def test_29_february_is_a_yearly_day_off_in_leap_years() -> None:
    calendar = business_calendar(load_settings({"WIEWEET_EXTRA_HOLIDAYS": "02-29"}))
    assert not calendar.is_business_day(date(2028, 2, 29))
    assert calendar.is_business_day(date(2027, 3, 1))


@pytest.mark.parametrize("bad", ["11/07", "07-32", "02-30", "2026-02-29", "11 juli", "7-11-2026", "2026-13-01"])
def test_a_value_that_is_no_day_is_a_setting_to_fix_naming_only_it(bad: str) -> None:
    settings, problems = read_settings({"WIEWEET_EXTRA_HOLIDAYS": f"07-11,{bad}"})
    shown = ", ".join(repr(part) for part in bad.split())
    assert problems == [
        "WIEWEET_EXTRA_HOLIDAYS must list days off as MM-DD (every year, such as 07-11) or YYYY-MM-DD (that day "
        f"only), separated by commas, or be none; not a day: {shown}"
    ]
    assert settings.yearly_holidays == Settings().yearly_holidays  # the default until it is fixed


def test_a_command_refuses_to_start_with_days_off_that_are_no_days(tmp_path: Path) -> None:
    env = {
        "WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-operator",
        "SLACK_SIGNING_SECRET": SECRET,
        "WIEWEET_EXTRA_HOLIDAYS": "11 juli",
    }
    line = one_clear_line(wieweet("run", "--http", cwd=tmp_path, env=env), code=2)
    assert "WIEWEET_EXTRA_HOLIDAYS must list days off as MM-DD" in line and "'juli'" in line, line
