"""Business time: Monday–Friday, office hours, Europe/Brussels, Belgian public holidays skipped, and the days off the
organisation adds (every year on a month and day, such as 11 July, or once on a date).

All functions take aware datetimes and return aware UTC datetimes. Arithmetic happens on the local wall clock
(dates and office hours), so it is right across daylight-saving changes: two business days after Friday 10:00
is Tuesday 10:00 local time, whatever the UTC offset did over the weekend.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

_MAX_SCAN_DAYS = 3660  # a calendar with no business days at all must not loop forever

# Days off every year besides Belgium's ten public holidays, as (month, day): 11 July, the Flemish Community's day,
# and 2 November, 15 November and 26 December, which public services give as well. The one default: a calendar
# built without settings (``BusinessCalendar()``) and ``WIEWEET_EXTRA_HOLIDAYS`` unset (``bot.config``) both use it.
DEFAULT_YEARLY_HOLIDAYS = frozenset({(7, 11), (11, 2), (11, 15), (12, 26)})


class BusinessCalendar:
    def __init__(
        self,
        *,
        timezone: str = "Europe/Brussels",
        start: time = time(9, 0),
        end: time = time(17, 0),
        country: str = "BE",
        workdays: Iterable[int] = (0, 1, 2, 3, 4),
        extra_holidays: Iterable[date] = (),
        yearly_holidays: Iterable[tuple[int, int]] = DEFAULT_YEARLY_HOLIDAYS,
    ) -> None:
        """``extra_holidays`` are days off on one date; ``yearly_holidays`` (month, day) every year: by default the
        product's (``DEFAULT_YEARLY_HOLIDAYS``, as when ``WIEWEET_EXTRA_HOLIDAYS`` is unset); ``()`` for none."""
        if not start < end:
            raise ValueError("business hours must start before they end")
        self.tz = ZoneInfo(timezone)
        self.start = start
        self.end = end
        self.workdays = frozenset(workdays)
        if not self.workdays or not self.workdays <= set(range(7)):
            raise ValueError("workdays must be weekday numbers 0 (Monday) to 6 (Sunday)")
        self._holidays = holidays.country_holidays(country)
        self._extra = frozenset(extra_holidays)
        self._yearly = frozenset(yearly_holidays)
        for month, day in self._yearly:
            date(2000, month, day)  # a leap year: 29 February is a day, 30 February a ValueError

    # --- days -------------------------------------------------------------------------------------------------

    def is_business_day(self, day: date) -> bool:
        return (
            day.weekday() in self.workdays
            and day not in self._extra
            and (day.month, day.day) not in self._yearly
            and day not in self._holidays
        )

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        for _ in range(_MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_business_day(day):
                return day
        raise ValueError("no business day found")

    def _first_business_day_from(self, day: date) -> date:
        return day if self.is_business_day(day) else self.next_business_day(day)

    # --- instants ---------------------------------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None:
            raise ValueError("naive datetime; pass an aware datetime")
        return dt.astimezone(self.tz)

    def _at(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)

    def first_opening_from(self, day: date) -> datetime:
        """Start of office hours on ``day`` when it is a business day, else on the first business day after it.

        A date on a weekend or a holiday is reached when staff work again: Saturday → Monday 09:00.
        """
        return self._at(self._first_business_day_from(day), self.start)

    def is_business_time(self, dt: datetime) -> bool:
        local = self.local(dt)
        return self.is_business_day(local.date()) and self.start <= local.time() < self.end

    def next_business_start(self, dt: datetime) -> datetime:
        """The first opening of office hours strictly after ``dt`` ("later": the start of the next business day).

        Monday 08:00 → Monday 09:00; Monday 10:00 → Tuesday 09:00; Friday 18:00 → Monday 09:00.
        """
        local = self.local(dt)
        day = local.date()
        if self.is_business_day(day) and local.time() < self.start:
            return self._at(day, self.start)
        return self._at(self.next_business_day(day), self.start)

    def clamp(self, dt: datetime) -> datetime:
        """``dt`` itself during office hours, else the next opening."""
        return dt.astimezone(UTC) if self.is_business_time(dt) else self.next_business_start(dt)

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """``n`` business days after ``start``, at the same local time of day.

        A ``start`` outside office hours counts from the next opening (asked Friday evening, two business days
        later is Wednesday 09:00). ``n == 0`` returns that clamped start.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        base = self.local(self.clamp(start))
        day = self._first_business_day_from(base.date())
        for _ in range(n):
            day = self.next_business_day(day)
        return datetime.combine(day, base.time(), tzinfo=self.tz).astimezone(UTC)
