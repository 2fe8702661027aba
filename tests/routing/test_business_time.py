"""Business time: weekends, Belgian holidays, office hours and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.routing.business_time import BusinessCalendar
from tests.routing.conftest import BRUSSELS, local

CAL = BusinessCalendar()


def test_results_are_aware_utc() -> None:
    out = CAL.add_business_days(local(2026, 11, 23, 10), 1)
    assert out.tzinfo is UTC
    assert CAL.next_business_start(local(2026, 11, 23, 10)).tzinfo is UTC


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.add_business_days(datetime(2026, 11, 23, 10), 1)
    with pytest.raises(ValueError, match="naive"):
        CAL.is_business_time(datetime(2026, 11, 23, 10))


def test_weekend_is_skipped() -> None:
    # Friday 15:00 + 2 business days = Tuesday 15:00
    assert CAL.add_business_days(local(2026, 11, 20, 15), 2) == local(2026, 11, 24, 15)
    assert not CAL.is_business_time(local(2026, 11, 21, 11))  # Saturday
    assert CAL.next_business_start(local(2026, 11, 21, 11)) == local(2026, 11, 23, 9)
    # asked on Sunday: counting starts Monday 09:00
    assert CAL.add_business_days(local(2026, 11, 22, 14), 2) == local(2026, 11, 25, 9)


def test_armistice_day_is_skipped() -> None:
    assert not CAL.is_business_day(date(2026, 11, 11))  # Wednesday, a Belgian public holiday
    assert not CAL.is_business_time(local(2026, 11, 11, 10))
    assert CAL.add_business_days(local(2026, 11, 10, 10), 1) == local(2026, 11, 12, 10)
    assert CAL.next_business_start(local(2026, 11, 10, 18)) == local(2026, 11, 12, 9)


def test_easter_monday_is_skipped() -> None:
    assert not CAL.is_business_day(date(2026, 4, 6))
    # Friday before Easter 10:00 + 1 = Tuesday after Easter 10:00
    assert CAL.add_business_days(local(2026, 4, 3, 10), 1) == local(2026, 4, 7, 10)


def test_autumn_dst_weekend_keeps_local_time() -> None:
    # 25 October 2026: clocks go back (CEST UTC+2 -> CET UTC+1)
    friday = datetime(2026, 10, 23, 10, 0, tzinfo=BRUSSELS)
    assert friday.astimezone(UTC).hour == 8
    monday = CAL.add_business_days(friday, 1)
    assert monday == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # 10:00 CET
    assert monday.astimezone(BRUSSELS).time() == time(10, 0)
    assert CAL.next_business_start(friday) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET


def test_spring_dst_weekend_keeps_local_time() -> None:
    # 29 March 2026: clocks go forward (CET -> CEST)
    friday = datetime(2026, 3, 27, 16, 30, tzinfo=BRUSSELS)
    assert CAL.add_business_days(friday, 1) == datetime(2026, 3, 30, 14, 30, tzinfo=UTC)


def test_evening_moves_to_next_morning() -> None:
    evening = local(2026, 11, 23, 18)  # Monday
    assert not CAL.is_business_time(evening)
    assert CAL.next_business_start(evening) == local(2026, 11, 24, 9)
    assert CAL.clamp(evening) == local(2026, 11, 24, 9)
    # two business days counted from Tuesday 09:00
    assert CAL.add_business_days(evening, 2) == local(2026, 11, 26, 9)


def test_next_business_start_is_strictly_after() -> None:
    assert CAL.next_business_start(local(2026, 11, 23, 8)) == local(2026, 11, 23, 9)  # before opening: today
    assert CAL.next_business_start(local(2026, 11, 23, 9)) == local(2026, 11, 24, 9)  # at opening: tomorrow
    assert CAL.next_business_start(local(2026, 11, 27, 12)) == local(2026, 11, 30, 9)  # Friday -> Monday


def test_office_hours_edges() -> None:
    assert CAL.is_business_time(local(2026, 11, 23, 9))
    assert CAL.is_business_time(local(2026, 11, 23, 16, 59))
    assert not CAL.is_business_time(local(2026, 11, 23, 17))
    assert not CAL.is_business_time(local(2026, 11, 23, 8, 59))


def test_configurable_hours_and_extra_holidays() -> None:
    cal = BusinessCalendar(start=time(8, 0), end=time(12, 0), extra_holidays=[date(2026, 11, 24)])
    assert cal.is_business_time(local(2026, 11, 23, 8, 30))
    assert not cal.is_business_time(local(2026, 11, 23, 13))
    assert cal.next_business_start(local(2026, 11, 23, 13)) == local(2026, 11, 25, 8)
    with pytest.raises(ValueError, match="start before"):
        BusinessCalendar(start=time(17), end=time(9))


def test_yearly_days_off_come_back_every_year() -> None:
    cal = BusinessCalendar(yearly_holidays=[(7, 11), (12, 26)])
    assert not cal.is_business_day(date(2025, 7, 11)) and not cal.is_business_day(date(2029, 7, 11))
    # Belgium's list alone (no yearly days off): the Flemish Community's day is a business day; by default it is not
    assert BusinessCalendar(yearly_holidays=()).is_business_day(date(2025, 7, 11))
    assert not CAL.is_business_day(date(2025, 7, 11))
    # Friday 10 July 2025, 15:00 + 1 business day skips Friday 11 July and the weekend
    assert cal.add_business_days(local(2025, 7, 10, 15), 1) == local(2025, 7, 14, 15)
    with pytest.raises(ValueError):
        BusinessCalendar(yearly_holidays=[(2, 30)])


def test_the_first_opening_from_a_day_nobody_works_is_the_next_business_days() -> None:
    assert CAL.first_opening_from(date(2026, 11, 23)) == local(2026, 11, 23, 9)  # Monday: that day
    assert CAL.first_opening_from(date(2026, 12, 5)) == local(2026, 12, 7, 9)  # Saturday: Monday
    assert CAL.first_opening_from(date(2026, 11, 11)) == local(2026, 11, 12, 9)  # Armistice Day: Thursday
    assert CAL.first_opening_from(date(2026, 12, 25)) == local(2026, 12, 28, 9)  # Christmas, a Friday: Monday
    flemish = BusinessCalendar(yearly_holidays=[(7, 11)])
    assert flemish.first_opening_from(date(2025, 7, 11)) == local(2025, 7, 14, 9)


def test_zero_days_is_the_clamped_start() -> None:
    assert CAL.add_business_days(local(2026, 11, 23, 10), 0) == local(2026, 11, 23, 10)
    assert CAL.add_business_days(local(2026, 11, 21, 10), 0) == local(2026, 11, 23, 9)
    with pytest.raises(ValueError):
        CAL.add_business_days(local(2026, 11, 23, 10), -1)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)),
    n=st.integers(min_value=0, max_value=15),
)
def test_property_lands_in_office_hours_and_is_monotonic(start: datetime, n: int) -> None:
    out = CAL.add_business_days(start, n)
    assert out.tzinfo is UTC
    assert out >= start
    assert CAL.is_business_time(out)
    assert CAL.add_business_days(start, n + 1) > out
    # exactly n business days lie between the clamped start and the result
    first = CAL.local(CAL.clamp(start)).date()
    days, day = 0, first
    while day < CAL.local(out).date():
        day += timedelta(days=1)
        days += CAL.is_business_day(day)
    assert days == n
