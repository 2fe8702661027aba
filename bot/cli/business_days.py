"""The business calendar the settings describe: one place, so that every command counts the same days."""

from __future__ import annotations

from bot.config import Settings
from bot.routing.business_time import BusinessCalendar


def business_calendar(settings: Settings) -> BusinessCalendar:
    """Business days in ``WIEWEET_TIMEZONE``, without Belgium's public holidays and ``WIEWEET_EXTRA_HOLIDAYS``."""
    return BusinessCalendar(
        timezone=settings.timezone,
        yearly_holidays=settings.yearly_holidays,
        extra_holidays=settings.extra_holidays,
    )
