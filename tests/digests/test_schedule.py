"""ISO weeks, cron schedules across daylight saving time, and which digests are due (catch-up rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.errors import InvalidPeriod
from digests.model import SubscriptionView
from digests.period import IsoWeek, parse_period, period_bounds, period_of
from digests.schedule import digest_window, due_digests, next_run_time, next_wakeup, scheduled_at
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRunStatus, DigestSubscription
from tests.digests.conftest import BRUSSELS, local


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sub(weekday: int = 0, hour: int = 9, minute: int = 0) -> SubscriptionView:
    return SubscriptionView(channel_id="C0TEST", weekday=weekday, hour=hour, minute=minute)


# --- ISO weeks -------------------------------------------------------------------------------------------------------


def test_parse_period() -> None:
    assert parse_period("2026-W48") == "2026-W48"
    assert parse_period(" 2026w8 ") == "2026-W08"
    assert parse_period("2026W53") == "2026-W53"  # 2026 has 53 ISO weeks
    for bad in ("2026-48", "W48", "2026-W54", "2025-W53", "2026-W00", "", "2026-W4a", "26-W48"):
        with pytest.raises(InvalidPeriod):
            parse_period(bad)


def test_period_of_uses_brussels_time() -> None:
    # Sunday 29 November 2026 23:30 UTC is already Monday 00:30 in Brussels: week 49
    assert period_of(utc(2026, 11, 29, 23, 30)) == "2026-W49"
    assert period_of(utc(2026, 11, 29, 22, 59)) == "2026-W48"
    assert period_of(utc(2027, 1, 1, 12)) == "2026-W53"


def test_week_bounds_move_with_dst() -> None:
    assert period_bounds("2026-W13") == (utc(2026, 3, 22, 23), utc(2026, 3, 29, 22))  # 167 hours
    assert period_bounds("2026-W43") == (utc(2026, 10, 18, 22), utc(2026, 10, 25, 23))  # 169 hours
    assert IsoWeek.parse("2026-W01").shift(-1) == IsoWeek(2025, 52)
    assert IsoWeek.parse("2026-W53").shift(1) == IsoWeek(2027, 1)


# --- cron across DST -------------------------------------------------------------------------------------------------


def test_monday_nine_is_seven_utc_in_summer_and_eight_in_winter() -> None:
    monday_nine = sub(0, 9, 0)
    assert next_run_time(monday_nine, after=utc(2026, 3, 20)) == utc(2026, 3, 23, 8)  # CET, UTC+1
    assert next_run_time(monday_nine, after=utc(2026, 3, 27)) == utc(2026, 3, 30, 7)  # CEST, UTC+2 (after 29 March)
    assert next_run_time(monday_nine, after=utc(2026, 10, 20)) == utc(2026, 10, 26, 8)  # CET again (after 25 Oct)
    assert next_run_time(monday_nine, after=utc(2026, 10, 13)) == utc(2026, 10, 19, 7)


def test_next_run_time_is_strictly_after() -> None:
    monday_nine = sub(0, 9, 0)
    fire = utc(2026, 3, 30, 7)
    assert next_run_time(monday_nine, after=fire - timedelta(microseconds=1)) == fire
    assert next_run_time(monday_nine, after=fire) == utc(2026, 4, 6, 7)
    with pytest.raises(ValueError, match="naive"):
        next_run_time(monday_nine, after=datetime(2026, 3, 30, 7))


def test_half_past_two_on_the_spring_forward_sunday_fires_once_shifted_by_the_gap() -> None:
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST, 02:30 does not exist; it fires at 03:30 CEST (01:30 UTC)
    sunday = sub(6, 2, 30)
    fire = next_run_time(sunday, after=utc(2026, 3, 28, 12))
    assert fire == utc(2026, 3, 29, 1, 30)
    assert fire.astimezone(IsoWeek.parse("2026-W13").start.tzinfo) == fire  # returned in UTC
    assert next_run_time(sunday, after=fire) == utc(2026, 4, 5, 0, 30)  # 02:30 CEST the week after
    assert next_run_time(sunday, after=utc(2026, 3, 22, 12)) == utc(2026, 3, 29, 1, 30)
    assert scheduled_at(sunday, "2026-W13") == utc(2026, 3, 29, 1, 30)


def test_half_past_two_on_the_fall_back_sunday_fires_once() -> None:
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET, 02:30 happens twice; the digest goes at the first one
    sunday = sub(6, 2, 30)
    first = next_run_time(sunday, after=utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert next_run_time(sunday, after=first) == utc(2026, 11, 1, 1, 30)  # not 02:30 CET the same night
    assert next_run_time(sunday, after=utc(2026, 10, 25, 1)) == utc(2026, 11, 1, 1, 30)
    assert scheduled_at(sunday, "2026-W43") == first


def test_apscheduler_day_arithmetic_bug_is_worked_around() -> None:
    # CronTrigger.get_next_fire_time asked on Monday 23 March 2026 for "mon 00:00" answers 6 April (it adds the
    # wall-clock difference in UTC across the DST change, lands at 01:00 and skips the week)
    monday_midnight = sub(0, 0, 0)
    assert next_run_time(monday_midnight, after=local(2026, 3, 23, 0)) == utc(2026, 3, 29, 22)
    assert next_run_time(monday_midnight, after=local(2026, 3, 24, 12)) == utc(2026, 3, 29, 22)
    assert next_run_time(monday_midnight, after=local(2026, 10, 19, 0)) == utc(2026, 10, 25, 23)
    # between 03:00 and 03:30 CEST the shifted 02:30 is still to come
    assert next_run_time(sub(6, 2, 30), after=utc(2026, 3, 29, 1, 15)) == utc(2026, 3, 29, 1, 30)


def test_other_times_on_dst_sundays() -> None:
    assert next_run_time(sub(6, 3, 0), after=utc(2026, 3, 28)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert next_run_time(sub(6, 1, 59), after=utc(2026, 3, 28)) == utc(2026, 3, 29, 0, 59)  # 01:59 CET
    assert next_run_time(sub(6, 2, 0), after=utc(2026, 10, 24)) == utc(2026, 10, 25, 0)  # first 02:00 (CEST)
    assert next_run_time(sub(6, 3, 0), after=utc(2026, 10, 24)) == utc(2026, 10, 25, 2)  # 03:00 CET


@settings(max_examples=200, deadline=None)
@given(
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 30, 59]),
    after=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_next_run_time_properties(weekday: int, hour: int, minute: int, after: datetime) -> None:
    schedule = sub(weekday, hour, minute)
    fire = next_run_time(schedule, after=after)
    assert fire.tzinfo is UTC
    assert after < fire <= after + timedelta(days=7, hours=1)
    brussels = fire.astimezone(BRUSSELS)
    assert brussels.weekday() == weekday
    shifted = (brussels.hour, brussels.minute) != (hour, minute)
    if shifted:  # only for a time in the skipped spring hour: moved forward by exactly one hour
        assert (brussels.month, brussels.hour, brussels.minute) == (3, hour + 1, minute)
    # nothing scheduled was skipped: asking again from anywhere between gives the same answer
    assert next_run_time(schedule, after=after + (fire - after) / 2) == fire
    again = next_run_time(schedule, after=fire)
    assert timedelta(days=7) - timedelta(hours=1) <= again - fire <= timedelta(days=7, hours=1)
    assert scheduled_at(schedule, IsoWeek.containing(fire)) == fire


def test_digest_windows_tile_a_whole_year() -> None:
    for schedule in (sub(0, 9, 0), sub(6, 2, 30), sub(4, 16, 45), sub(0, 0, 0), sub(6, 23, 59)):
        week = IsoWeek.parse("2026-W01")
        previous_end = None
        for _ in range(60):
            start, end = digest_window(schedule, week)
            assert start < end and timedelta(hours=167) <= end - start <= timedelta(hours=169)
            assert previous_end is None or start == previous_end
            assert week.start <= end < week.end  # the window ends at the scheduled time in the period itself
            previous_end = end
            week = week.shift(1)


def test_next_wakeup() -> None:
    subs = [
        DigestSubscription(channel_id="C1", weekday=0, hour=9, minute=0, active=True),
        DigestSubscription(channel_id="C2", weekday=2, hour=14, minute=0, active=True),
        DigestSubscription(channel_id="C3", weekday=1, hour=8, minute=0, active=False),
    ]
    assert next_wakeup(subs, after=local(2026, 11, 23, 10)) == local(2026, 11, 25, 14)
    assert next_wakeup([], after=local(2026, 11, 23, 10)) is None


# --- due (database) --------------------------------------------------------------------------------------------------


def _subscribe(database: Database, channel: str, weekday: int, hour: int, minute: int = 0, active: bool = True) -> None:
    with database.session() as s:
        s.add(
            DigestSubscription(
                channel_id=channel, weekday=weekday, hour=hour, minute=minute, active=active, themes=[], language="nl"
            )
        )


def _due(database: Database, now: datetime) -> list[tuple[str, str]]:
    with database.session() as s:
        return sorted((sub.channel_id, period) for sub, period in due_digests(s, now=now))


def test_due_after_the_scheduled_time_in_the_current_week_only(database: Database) -> None:
    _subscribe(database, "C0MON", 0, 9)
    _subscribe(database, "C0FRI", 4, 16, 30)
    _subscribe(database, "C0SUN", 6, 23, 0)
    _subscribe(database, "C0OFF", 0, 9, active=False)
    assert _due(database, local(2026, 11, 23, 8, 59)) == []  # Monday, before 09:00
    assert _due(database, local(2026, 11, 23, 9, 0)) == [("C0MON", "2026-W48")]
    assert _due(database, local(2026, 11, 25, 12)) == [("C0MON", "2026-W48")]  # catch-up on Wednesday
    assert _due(database, local(2026, 11, 27, 16, 30)) == [("C0FRI", "2026-W48"), ("C0MON", "2026-W48")]
    assert _due(database, local(2026, 11, 29, 23, 30)) == [
        ("C0FRI", "2026-W48"),
        ("C0MON", "2026-W48"),
        ("C0SUN", "2026-W48"),
    ]
    # Monday 00:30 of the next week: nothing of week 48 is due any more, week 49's times have not come yet
    assert _due(database, local(2026, 11, 30, 0, 30)) == []
    assert _due(database, local(2026, 11, 30, 9, 1)) == [("C0MON", "2026-W49")]


def test_runs_stop_digests_from_being_due_except_stale_claims(database: Database) -> None:
    _subscribe(database, "C0SENT", 0, 9)
    _subscribe(database, "C0FRESH", 0, 9)
    _subscribe(database, "C0STALE", 0, 9)
    _subscribe(database, "C0FAILED", 0, 9)
    _subscribe(database, "C0NEW", 0, 9)
    now = local(2026, 11, 23, 12)
    with database.session() as s:
        for channel, claimed_at in (
            ("C0SENT", now - timedelta(hours=2)),
            ("C0FRESH", now - timedelta(minutes=5)),
            ("C0STALE", now - timedelta(minutes=11)),
            ("C0FAILED", now - timedelta(hours=2)),
        ):
            run = digest_repo.claim_digest_run(s, channel_id=channel, period="2026-W48", worker_id="w", now=claimed_at)
            assert run is not None
            if channel in {"C0SENT", "C0FAILED"}:
                digest_repo.update_digest_run_finished(
                    s,
                    run_id=run.id,
                    worker_id="w",
                    status=DigestRunStatus.SENT if channel == "C0SENT" else DigestRunStatus.FAILED,
                    now=now,
                )
        # last week's run does not count for this week
        digest_repo.claim_digest_run(s, channel_id="C0NEW", period="2026-W47", worker_id="w", now=now)
    assert _due(database, now) == [("C0NEW", "2026-W48"), ("C0STALE", "2026-W48")]


def test_due_across_the_dst_change(database: Database) -> None:
    _subscribe(database, "C0MON", 0, 9)
    _subscribe(database, "C0SUN", 6, 2, 30)
    # Monday 30 March 2026 (CEST): 09:00 Brussels is 07:00 UTC
    assert _due(database, utc(2026, 3, 30, 6, 59)) == []
    assert _due(database, utc(2026, 3, 30, 7, 0)) == [("C0MON", "2026-W14")]
    # Sunday 29 March 2026: 02:30 does not exist; due from 03:30 CEST (01:30 UTC)
    assert _due(database, utc(2026, 3, 29, 1, 29)) == [("C0MON", "2026-W13")]
    assert ("C0SUN", "2026-W13") in _due(database, utc(2026, 3, 29, 1, 30))
    # Sunday 25 October 2026: due from the first 02:30 (00:30 UTC)
    assert ("C0SUN", "2026-W43") not in _due(database, utc(2026, 10, 25, 0, 29))
    assert ("C0SUN", "2026-W43") in _due(database, utc(2026, 10, 25, 0, 30))
