"""How the command line writes states and schedules for its operator, in ``WIEWEET_LANGUAGE``: a state in words with
its code beside it ("mislukt (failed)"), a weekday by its abbreviated or full name ("vr", "Fri"; "vrijdag",
"Friday"). Counts go through ``bot.i18n.format_number`` ("2.000", "2,000"). Moments stay ``YYYY-MM-DD HH:MM`` (in
the network's zone), as everywhere on the command line."""

from __future__ import annotations

from functools import cache

from babel.dates import get_day_names

from bot.i18n import locale, weekday_name


def state(label: str, code: str) -> str:
    """A state in the operator's words, with its code beside it when the two differ ("mislukt (failed)", "failed"):
    what a person reads, and what a script or the audit log matches, in every language."""
    return label if label == code else f"{label} ({code})"


@cache
def _short_days(lang: str) -> tuple[str, ...]:
    names = get_day_names("abbreviated", context="format", locale=locale(lang))
    return tuple(str(names[day]) for day in range(7))


def schedule(weekday: int, hour: int, minute: int, lang: str, *, short: bool = False) -> str:
    """A weekly time: "vr 16:30" (``short``, for a table) or "vrijdag 16:30"; in English "Fri 16:30", "Friday 16:30".
    The time as ``--time`` takes it (HH:MM)."""
    day = _short_days(lang)[weekday] if short else weekday_name(weekday, lang)
    return f"{day} {hour:02d}:{minute:02d}"
