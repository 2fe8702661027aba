"""ISO weeks in the network's time zone: the period a digest run is claimed for ("2026-W48").

Every instant wieweet stores is aware UTC; a week starts on Monday 00:00 *local* time, so its UTC bounds move by an
hour with daylight saving time. The zone is the configured one (``Settings.timezone``, ``WIEWEET_TIMEZONE``), handed
in as ``tz``; without one it is the default, Europe/Brussels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import Problem
from bot.text import shown_value
from digests.errors import InvalidPeriod

DEFAULT_TIMEZONE = "Europe/Brussels"  # the default of Settings.timezone
TIMEZONE = ZoneInfo(DEFAULT_TIMEZONE)
_PERIOD = re.compile(r"^(\d{4})-?[Ww](\d{1,2})$", re.ASCII)
# The years a typed period may fall in (a digest's week here, a needs period in bot.needs.periods): the calendar's
# own ends would parse, but the week or day after a period and the ones before it would be no dates there.
YEARS = range(1900, 9000)


def local_to_utc(wall: datetime, tz: ZoneInfo = TIMEZONE) -> datetime:
    """A wall-clock time (naive) in ``tz`` as aware UTC.

    An ambiguous time (the repeated hour in October) is its first occurrence; a time that does not exist (the
    skipped hour in March) is moved forward by the gap (02:30 becomes 03:30 CEST), as ``zoneinfo`` does.
    """
    if wall.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local(moment: datetime, tz: ZoneInfo = TIMEZONE) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    return moment.astimezone(tz)


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as exc:
            week = f"{self.year}-W{self.week:02d}"
            english = f"{week} is not an ISO week"
            raise InvalidPeriod(message=Problem(english, "input_week_number", {"week": week})) from exc

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, value: str) -> IsoWeek:
        """``2026-W48`` (also ``2026w48``, ``2026-W8``); anything else raises ``InvalidPeriod``."""
        match = _PERIOD.match((value or "").strip())
        if not match:  # said in the operator's language (``bot.operator_texts``), the value quoted by ``shown_value``
            english = f"invalid week {shown_value(value)}: use an ISO week like 2026-W48"
            raise InvalidPeriod(message=Problem(english, "input_week", {"value": shown_value(value)}))
        if int(match.group(1)) not in YEARS:
            english = f"invalid week {value!r}: the year must be {YEARS.start}-{YEARS.stop - 1}"
            years = {"low": str(YEARS.start), "high": str(YEARS.stop - 1)}
            raise InvalidPeriod(message=Problem(english, "input_week_year", {"value": shown_value(value), **years}))
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo = TIMEZONE) -> IsoWeek:
        """The ISO week (in ``tz``) that ``moment`` falls in."""
        iso = to_local(moment, tz).isocalendar()
        return cls(iso.year, iso.week)

    def day(self, weekday: int) -> date:
        """The date of ``weekday`` (0 = Monday) in this week."""
        return date.fromisocalendar(self.year, self.week, weekday + 1)

    def shift(self, weeks: int) -> IsoWeek:
        moved = self.day(0) + timedelta(weeks=weeks)
        iso = moved.isocalendar()
        return IsoWeek(iso.year, iso.week)

    @property
    def start(self) -> datetime:
        """Monday 00:00 in the default zone, as UTC (``starts_at`` for another)."""
        return self.starts_at(TIMEZONE)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 in the default zone, as UTC (exclusive)."""
        return self.shift(1).start

    def starts_at(self, tz: ZoneInfo) -> datetime:
        """Monday 00:00 in ``tz``, as UTC."""
        return local_to_utc(datetime.combine(self.day(0), time()), tz)

    def ends_at(self, tz: ZoneInfo) -> datetime:
        """The next Monday 00:00 in ``tz``, as UTC (exclusive)."""
        return self.shift(1).starts_at(tz)


def parse_period(value: str) -> str:
    """Validate and normalise an ISO week string ("2026-w8" → "2026-W08")."""
    return str(IsoWeek.parse(value))


def period_of(moment: datetime, tz: ZoneInfo = TIMEZONE) -> str:
    """The ISO week in ``tz`` of an aware instant, e.g. ``2026-W48``."""
    return str(IsoWeek.containing(moment, tz))


def period_bounds(period: str, tz: ZoneInfo = TIMEZONE) -> tuple[datetime, datetime]:
    """``[Monday 00:00, next Monday 00:00)`` of an ISO week in ``tz``, as UTC."""
    week = IsoWeek.parse(period)
    return week.starts_at(tz), week.ends_at(tz)
