"""ISO weeks in Europe/Brussels: the period a digest run is claimed for ("2026-W48").

Every instant wieweet stores is aware UTC; a week starts on Monday 00:00 *Brussels* time, so its UTC bounds
move by an hour with daylight saving time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digests.errors import InvalidPeriod

TIMEZONE = ZoneInfo("Europe/Brussels")
_PERIOD = re.compile(r"^(\d{4})-?[Ww](\d{1,2})$")


def local_to_utc(wall: datetime) -> datetime:
    """A Brussels wall-clock time (naive) as aware UTC.

    An ambiguous time (the repeated hour in October) is its first occurrence; a time that does not exist (the
    skipped hour in March) is moved forward by the gap (02:30 becomes 03:30 CEST), as ``zoneinfo`` does.
    """
    if wall.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive wall-clock time")
    return wall.replace(tzinfo=TIMEZONE, fold=0).astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    return moment.astimezone(TIMEZONE)


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as exc:
            raise InvalidPeriod(message=f"{self.year}-W{self.week:02d} is not an ISO week") from exc

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def parse(cls, value: str) -> IsoWeek:
        """``2026-W48`` (also ``2026w48``, ``2026-W8``); anything else raises ``InvalidPeriod``."""
        match = _PERIOD.match((value or "").strip())
        if not match:
            raise InvalidPeriod(message=f"invalid week {value!r}: use an ISO week like 2026-W48")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, moment: datetime) -> IsoWeek:
        """The ISO week (in Brussels) that ``moment`` falls in."""
        iso = to_local(moment).isocalendar()
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
        """Monday 00:00 in Brussels, as UTC."""
        return local_to_utc(datetime.combine(self.day(0), time()))

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 in Brussels, as UTC (exclusive)."""
        return self.shift(1).start


def parse_period(value: str) -> str:
    """Validate and normalise an ISO week string ("2026-w8" → "2026-W08")."""
    return str(IsoWeek.parse(value))


def period_of(moment: datetime) -> str:
    """The ISO week in Brussels of an aware instant, e.g. ``2026-W48``."""
    return str(IsoWeek.containing(moment))


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """``[Monday 00:00, next Monday 00:00)`` of an ISO week in Brussels, as UTC."""
    week = IsoWeek.parse(period)
    return week.start, week.end
