"""Report periods in the configured time zone: quarters (2026-Q4), months (2026-11), ISO weeks (2026-W48) and
explicit date ranges (2026-10-01..2026-12-31, both days included). Bounds are aware UTC instants of local midnights,
so a period follows daylight saving time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import Problem, WieweetError
from bot.text import shown_value
from digests.period import YEARS

_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$", re.ASCII)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII)
_WEEK = re.compile(r"^(\d{4})-?[Ww](\d{1,2})$", re.ASCII)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|\s+to\s+)\s*(\d{4}-\d{2}-\d{2})$", re.ASCII)
MAX_RANGE_DAYS = 3 * 366
# The years a typed period may fall in (``digests.period.YEARS``, the digests' weeks): the calendar's own ends would
# parse, but a report reads the day after its period and the periods before it (the trend), which there are no dates.


class InvalidPeriod(WieweetError):
    code = "invalid_period"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidPeriod(message=f"unknown time zone {name!r}") from exc


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """``[first, last]`` local days (``last`` included) of one kind: quarter, month, week or range."""

    kind: str
    first: date
    last: date
    timezone: str = "Europe/Brussels"

    @property
    def label(self) -> str:
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.first.year}-{self.first.month:02d}"
        if self.kind == "week":
            iso = self.first.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> datetime:
        """Local midnight starting the first day, as UTC."""
        return _midnight(self.first, _zone(self.timezone))

    @property
    def end(self) -> datetime:
        """Local midnight after the last day, as UTC (exclusive)."""
        return _midnight(self.last + timedelta(days=1), _zone(self.timezone))

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self, steps: int = 1) -> Period:
        """The period of the same kind ``steps`` before this one (a range: the same number of days before)."""
        if self.kind == "quarter":
            month = self.first.year * 12 + self.first.month - 1 - 3 * steps
            return quarter(month // 12, (month % 12) // 3 + 1, self.timezone)
        if self.kind == "month":
            month = self.first.year * 12 + self.first.month - 1 - steps
            return month_period(month // 12, month % 12 + 1, self.timezone)
        days = (self.last - self.first).days + 1
        shift = timedelta(days=days * steps)
        return Period(self.kind, self.first - shift, self.last - shift, self.timezone)

    def months(self) -> list[Period]:
        """The calendar months this period touches, each cut to the period."""
        out: list[Period] = []
        day = self.first
        while day <= self.last:
            whole = month_period(day.year, day.month, self.timezone)
            out.append(Period("month", max(whole.first, self.first), min(whole.last, self.last), self.timezone))
            day = whole.last + timedelta(days=1)
        return out


def quarter(year: int, number: int, timezone: str = "Europe/Brussels") -> Period:
    first = date(year, 3 * (number - 1) + 1, 1)
    following = date(year + 1, 1, 1) if number == 4 else date(year, 3 * number + 1, 1)
    return Period("quarter", first, following - timedelta(days=1), timezone)


def month_period(year: int, month: int, timezone: str = "Europe/Brussels") -> Period:
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period("month", first, following - timedelta(days=1), timezone)


def _refused(value: str, english: str, code: str, **values: object) -> InvalidPeriod:
    """A period refused: ``english`` for logs, said in the operator's language from ``code`` (``bot.operator_texts``)
    with the value as typed, quoted by ``shown_value``."""
    return InvalidPeriod(message=Problem(english, code, {"value": shown_value(value), **values}))


def _year(value: str, digits: str) -> int:
    year = int(digits)
    if year not in YEARS:
        english = f"invalid period {value!r}: the year must be {YEARS.start}-{YEARS.stop - 1}"
        raise _refused(value, english, "input_period_year", low=str(YEARS.start), high=str(YEARS.stop - 1))
    return year


def parse_period(value: str, *, timezone: str = "Europe/Brussels") -> Period:
    """``2026-Q4``, ``2026-11``, ``2026-W48`` or ``2026-10-01..2026-12-31`` in the years ``YEARS``; anything else
    raises ``InvalidPeriod``."""
    _zone(timezone)
    text = (value or "").strip()
    try:
        if m := _QUARTER.match(text):
            return quarter(_year(value, m.group(1)), int(m.group(2)), timezone)
        if m := _MONTH.match(text):
            return month_period(_year(value, m.group(1)), int(m.group(2)), timezone)
        if m := _WEEK.match(text):
            monday = date.fromisocalendar(_year(value, m.group(1)), int(m.group(2)), 1)
            return Period("week", monday, monday + timedelta(days=6), timezone)
        if m := _RANGE.match(text):
            _year(value, m.group(1)[:4])
            _year(value, m.group(2)[:4])
            first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if last < first:
                english = f"invalid period {value!r}: the range ends before it starts"
                raise _refused(value, english, "input_period_order")
            if (last - first).days > MAX_RANGE_DAYS:
                english = f"invalid period {value!r}: a range may span at most three years"
                raise _refused(value, english, "input_period_span")
            return Period("range", first, last, timezone)
    except ValueError as exc:  # no such day (2026-13, 2026-02-30): said as a period of no known form
        raise _refused(value, f"invalid period {value!r}: {exc}", "input_period") from exc
    english = (
        f"invalid period {shown_value(text)}: use a quarter (2026-Q4), a month (2026-11), an ISO week (2026-W48) "
        "or a date range (2026-10-01..2026-12-31)"
    )
    raise _refused(text, english, "input_period")  # the whole value: ``shown_value`` cuts it, with a …


def current_quarter(now: datetime, *, timezone: str = "Europe/Brussels") -> Period:
    today = now.astimezone(_zone(timezone)).date()
    return quarter(today.year, (today.month - 1) // 3 + 1, timezone)


def last_weeks(now: datetime, weeks: int, *, timezone: str = "Europe/Brussels") -> Period:
    """The ``weeks`` weeks up to and including today."""
    today = now.astimezone(_zone(timezone)).date()
    return Period("range", today - timedelta(days=7 * weeks - 1), today, timezone)
