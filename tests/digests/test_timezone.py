"""The digest's weeks and schedules are in the configured time zone (``WIEWEET_TIMEZONE``), not a fixed one."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings, read_settings
from bot.errors import ConfigError
from digests.model import SubscriptionView
from digests.period import period_bounds, period_of
from digests.schedule import digest_window, scheduled_at
from handlers.blocks.digest import format_range

LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")


def test_the_week_is_the_configured_zones_week() -> None:
    sunday_evening_utc = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # Monday 05:00 in Tokyo
    assert period_of(sunday_evening_utc) == "2026-W48"  # the default zone: still Sunday in Brussels
    assert period_of(sunday_evening_utc, TOKYO) == "2026-W49"
    assert period_bounds("2026-W49", LONDON)[0] == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # GMT in winter
    assert period_bounds("2026-W49")[0] == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # CET


def test_a_subscription_fires_at_its_time_in_the_configured_zone() -> None:
    view = SubscriptionView(channel_id="C0TZ", weekday=0, hour=9, minute=0)
    assert scheduled_at(view, "2026-W49", LONDON) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert scheduled_at(view, "2026-W49") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    start, end = digest_window(view, "2026-W49", TOKYO)
    assert (start, end) == (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 30, 0, 0, tzinfo=UTC))


def test_the_digest_shows_dates_in_the_configured_zone() -> None:
    start, end = datetime(2026, 11, 23, 23, 30, tzinfo=UTC), datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert format_range(start, end, "en", TOKYO) != format_range(start, end, "en", LONDON)
    assert "24" in format_range(start, end, "en", TOKYO) and "23" in format_range(start, end, "en", LONDON)


def test_the_zone_comes_from_the_settings_and_a_wrong_name_is_refused() -> None:
    settings, problems = read_settings({"WIEWEET_TIMEZONE": "Europe/London"})
    assert settings.timezone == "Europe/London" and problems == []
    assert read_settings({})[0].timezone == "Europe/Brussels"
    for wrong in ("Europe/Brusels", "../../etc/passwd", "Europe"):
        with pytest.raises(ConfigError, match="WIEWEET_TIMEZONE must be an IANA time zone name"):
            load_settings({"WIEWEET_TIMEZONE": wrong})
