from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.needs.core import trend_of
from bot.needs.periods import InvalidPeriod, current_quarter, parse_period


def test_quarter_month_week_and_range_in_brussels_time() -> None:
    q4 = parse_period("2026-Q4")
    assert (q4.start, q4.end) == (datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 12, 31, 23, tzinfo=UTC))
    assert [str(m) for m in q4.months()] == ["2026-10", "2026-11", "2026-12"]
    assert str(q4.previous()) == "2026-Q3" and str(q4.previous(4)) == "2025-Q4"
    assert str(parse_period("2026-01").previous()) == "2025-12"
    week = parse_period("2026-w48")
    assert str(week) == "2026-W48" and week.start == datetime(2026, 11, 22, 23, tzinfo=UTC)
    span = parse_period("2026-10-03..2026-11-05")
    assert str(span.previous()) == "2026-08-30..2026-10-02"
    assert current_quarter(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)).label == "2027-Q1"  # already 2027 in Brussels


@pytest.mark.parametrize(
    "text", ["", "2026-Q5", "2026-13", "2026-W54", "2026-11-05..2026-10-03", "last week", "2020-01-01..2026-01-01"]
)
def test_bad_periods_are_refused_with_a_message(text: str) -> None:
    with pytest.raises(InvalidPeriod, match=r"invalid period|range"):
        parse_period(text)


@pytest.mark.parametrize(
    "text", ["9999-W52", "9999-12", "9999-Q4", "9999-12-01..9999-12-31", "2026-12-01..9999-01-01", "0001-Q1", "1899-12"]
)
def test_periods_outside_the_years_are_refused_before_any_date_overflows(text: str) -> None:
    with pytest.raises(InvalidPeriod, match="the year must be 1900-8999"):
        parse_period(text)


def test_the_years_edges_and_their_trend_periods_are_dates() -> None:
    for text in ("1900-Q1", "1900-W01", "1900-01-01..1900-01-31", "8999-Q4", "8999-W52", "8999-12-01..8999-12-31"):
        period = parse_period(text)
        assert period.start < period.end and period.previous(3).start < period.start


def test_trend() -> None:
    assert trend_of(5, (0, 0, 0)) == "new"
    assert trend_of(10, (3, 4, 5)) == "rising"
    assert trend_of(1, (6, 5, 7)) == "falling"
    assert trend_of(4, (4, 3, 5)) == "stable"
