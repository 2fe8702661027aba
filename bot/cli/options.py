"""Options several command groups read the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import WieweetError


class InvalidNow(WieweetError):
    code = "invalid_now"


def parse_now(value: str | None) -> datetime:
    """``--now`` (ISO 8601 with a UTC offset) in UTC; the current time when not given."""
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidNow(message=f"invalid --now {value!r}: use ISO 8601 with an offset") from exc
    if moment.tzinfo is None:
        raise InvalidNow(message=f"invalid --now {value!r}: give a UTC offset, e.g. 2026-11-23T09:05:00+01:00")
    return moment.astimezone(UTC)
