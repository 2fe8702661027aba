"""How the command line writes states, moments and schedules for its operator, in ``WIEWEET_LANGUAGE``: a state in
words with its code beside it ("mislukt (failed)", "failed (failed)"), a weekday by its abbreviated or full name
("vr", "Fri"; "vrijdag", "Friday"). Counts go through ``bot.i18n.format_number`` ("2.000", "2,000"). Moments are
``YYYY-MM-DD HH:MM`` in the network's zone (``local_time``), as everywhere on the command line."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from bot.i18n import locale, weekday_name
from digests.period import to_local


def state(label: str, code: str) -> str:
    """A state in the operator's words with its code beside it, always ("mislukt (failed)", "failed (failed)"): what
    a person reads, and what a script or the audit log matches, found the same way (``(code)``) in every language,
    also where the English word is the code itself."""
    return f"{label} ({code})"


def marker(label: str, code: str) -> str:
    """A marker a script finds anywhere in a line ("NOT POSTED", as "CONFLICT:"), with the operator's words before it
    ("NIET GEPOST (NOT POSTED)"); once where the words are the marker itself. Not a state: a state's code is always
    in brackets (``state``)."""
    return label if label == code else f"{label} ({code})"


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """A stored moment as every command-line list writes it: ``YYYY-MM-DD HH:MM`` in the network's zone
    (``WIEWEET_TIMEZONE``); ``-`` for none."""
    return to_local(moment, tz).strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


@cache
def _short_days(lang: str) -> tuple[str, ...]:
    names = get_day_names("abbreviated", context="format", locale=locale(lang))
    return tuple(str(names[day]) for day in range(7))


def schedule(weekday: int, hour: int, minute: int, lang: str, *, short: bool = False) -> str:
    """A weekly time: "vr 16:30" (``short``, for a table) or "vrijdag 16:30"; in English "Fri 16:30", "Friday 16:30".
    The time as ``--time`` takes it (HH:MM)."""
    day = _short_days(lang)[weekday] if short else weekday_name(weekday, lang)
    return f"{day} {hour:02d}:{minute:02d}"
