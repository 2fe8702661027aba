"""Options several command groups read the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import Problem, WieweetError
from bot.text import shown_value
from digests.period import YEARS


class InvalidNow(WieweetError):
    code = "invalid_now"


class InvalidTime(WieweetError):
    code = "invalid_time"


def parse_now(value: str | None) -> datetime:
    """``--now`` (ISO 8601 with a UTC offset) in UTC; the current time when not given."""
    if not value:
        return datetime.now(UTC)
    return parse_time_option(value, "--now", error=InvalidNow)


def parse_time_option(value: str, option: str, *, error: type[WieweetError] = InvalidTime) -> datetime:
    """A time option (ISO 8601 with a UTC offset) in UTC. Every time option goes through here: a time without an
    offset, or outside the years wieweet can compute with (``YEARS``: a week, a window or a stale claim before or
    after it must be a date too), is ``error``, one line and exit 2, in the operator's language
    (``bot.operator_texts``: the value quoted by ``shown_value``)."""
    values = {"option": option, "value": shown_value(value)}
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        english = f"invalid {option} {value!r}: use ISO 8601 with an offset"
        raise error(message=Problem(english, "input_time_format", values)) from None
    if moment.tzinfo is None:
        english = f"invalid {option} {value!r}: give a UTC offset, e.g. 2026-11-23T09:05:00+01:00"
        raise error(message=Problem(english, "input_time_offset", values))
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no UTC time in the calendar
        utc = None
    if utc is None or utc.year not in YEARS:
        english = f"invalid {option} {value!r}: the year must be {YEARS.start}-{YEARS.stop - 1}"
        years = {"low": str(YEARS.start), "high": str(YEARS.stop - 1)}  # years, no counts: "1900", not "1.900"
        raise error(message=Problem(english, "input_time_year", {**values, **years}))
    return utc
