"""How the command line writes numbers and schedules for its operator, in ``WIEWEET_LANGUAGE``: a count in the
language's number format ("2.000", "2,000"), a weekday by its abbreviated or full name ("vr", "Fri"; "vrijdag",
"Friday"). Moments stay ``YYYY-MM-DD HH:MM`` (in the network's zone), as everywhere on the command line."""

from __future__ import annotations

from functools import cache

from babel.dates import get_day_names
from babel.numbers import format_decimal

from bot.i18n import locale, weekday_name


def number(value: int, lang: str) -> str:
    """A count in ``lang``'s number format: 2.000 in Dutch, 2,000 in English."""
    return format_decimal(value, locale=locale(lang))


@cache
def _short_days(lang: str) -> tuple[str, ...]:
    names = get_day_names("abbreviated", context="format", locale=locale(lang))
    return tuple(str(names[day]) for day in range(7))


def schedule(weekday: int, hour: int, minute: int, lang: str, *, short: bool = False) -> str:
    """A weekly time: "vr 16:30" (``short``, for a table) or "vrijdag 16:30"; in English "Fri 16:30", "Friday 16:30".
    The time as ``--time`` takes it (HH:MM)."""
    day = _short_days(lang)[weekday] if short else weekday_name(weekday, lang)
    return f"{day} {hour:02d}:{minute:02d}"
