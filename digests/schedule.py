"""When a subscription's digest is due: APScheduler cron triggers in Europe/Brussels, DST-safe.

A subscription has a weekday, hour and minute in Brussels time. ``next_run_time`` is built on APScheduler 3's
``CronTrigger.get_next_fire_time`` with two corrections for daylight saving time:

* the result is always returned as aware UTC (the trigger returns Brussels *wall* times, and a wall time that does
  not exist — 02:30 on the last Sunday of March — compares wrongly with other aware datetimes until normalised;
  in UTC it is the instant 02:30 CET would have been, i.e. 03:30 CEST);
* a wall time that happens twice (02:30 on the last Sunday of October) fires once, at its first occurrence; the
  trigger on its own would fire at both;
* the trigger is asked from the midnight of each day in turn (see ``next_run_time``), which avoids APScheduler
  3.11's wrong day arithmetic across a DST change.

The digest of period P (the ISO week it is sent in) covers the time between the subscription's scheduled time in
week P-1 and its scheduled time in week P, so consecutive digests tile time without gaps or overlaps.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from digests.period import TIMEZONE, IsoWeek
from storage import digest_repo
from storage.models import DigestRunStatus, DigestSubscription

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STALE_AFTER = timedelta(minutes=10)  # a claimed run older than this is taken to be from a crashed sender
_ONE_MICROSECOND = timedelta(microseconds=1)


class Schedule(Protocol):
    """Anything with a weekly time in Brussels (a ``DigestSubscription`` or a ``SubscriptionView``)."""

    @property
    def weekday(self) -> int: ...  # 0 = Monday

    @property
    def hour(self) -> int: ...

    @property
    def minute(self) -> int: ...


def cron_trigger(schedule: Schedule) -> CronTrigger:
    return CronTrigger(
        day_of_week=DAY_NAMES[schedule.weekday], hour=schedule.hour, minute=schedule.minute, timezone=TIMEZONE
    )


def _second_occurrence(wall: datetime) -> bool:
    """True for the repeated occurrence (fold=1) of an ambiguous wall time."""
    return wall.fold == 1 and wall.replace(fold=0).utcoffset() != wall.utcoffset()


def next_run_time(subscription: Schedule, *, after: datetime) -> datetime:
    """The first scheduled instant strictly after ``after``, as aware UTC.

    The trigger is asked one Brussels day at a time, from that day's midnight, and only an answer on that same
    day is taken: APScheduler 3.11 moves between days by adding the wall-clock difference in UTC, which lands an
    hour off after a DST change and then skips a whole week (asked on Monday 23 March 2026 for "Monday 00:00",
    it answers 6 April instead of 30 March). From the day's own midnight it only *sets* hour and minute, which is
    exact. Asking from midnight also finds a fire time that was shifted out of the skipped spring hour (02:30 →
    03:30 CEST) even when ``after`` lies between 03:00 and 03:30 CEST.
    """
    if after.tzinfo is None:
        raise ValueError("naive datetime given to next_run_time; pass an aware datetime")
    after = after.astimezone(UTC)
    trigger = cron_trigger(subscription)
    first_day = after.astimezone(TIMEZONE).date()
    for offset in range(9):
        day = first_day + timedelta(days=offset)
        midnight = datetime.combine(day, time(0, 0), tzinfo=TIMEZONE)  # midnight always exists in Brussels
        fire: datetime | None = trigger.get_next_fire_time(None, midnight)
        if fire is None or fire.date() != day or _second_occurrence(fire):
            continue
        fire_utc = fire.astimezone(UTC)
        if fire_utc > after:
            return fire_utc
    raise RuntimeError(f"no fire time within 9 days after {after.isoformat()}")  # pragma: no cover


def scheduled_at(subscription: Schedule, period: str | IsoWeek) -> datetime:
    """The subscription's scheduled instant (UTC) in the ISO week ``period``."""
    week = period if isinstance(period, IsoWeek) else IsoWeek.parse(period)
    fire = next_run_time(subscription, after=week.start - _ONE_MICROSECOND)
    if fire >= week.end:  # pragma: no cover - every weekday/time exists (or is shifted into) every week
        raise RuntimeError(f"no scheduled time in {week}")
    return fire


def digest_window(subscription: Schedule, period: str | IsoWeek) -> tuple[datetime, datetime]:
    """What the digest of ``period`` covers: ``[scheduled time in the week before, scheduled time in period)``."""
    week = period if isinstance(period, IsoWeek) else IsoWeek.parse(period)
    return scheduled_at(subscription, week.shift(-1)), scheduled_at(subscription, week)


def history_bounds(subscription: Schedule, period: str | IsoWeek, *, weeks: int = 8) -> tuple[datetime, ...]:
    """``weeks + 1`` instants: the scheduled times from ``weeks`` weeks before ``period`` up to ``period``."""
    week = period if isinstance(period, IsoWeek) else IsoWeek.parse(period)
    return tuple(scheduled_at(subscription, week.shift(-k)) for k in range(weeks, -1, -1))


def next_wakeup(subscriptions: list[DigestSubscription], *, after: datetime) -> datetime | None:
    """The earliest next run of the active subscriptions (for the runtime's timer), or None when there are none."""
    times = [next_run_time(s, after=after) for s in subscriptions if s.active]
    return min(times) if times else None


def due_digests(
    session: Session, *, now: datetime, stale_after: timedelta = STALE_AFTER
) -> list[tuple[DigestSubscription, str]]:
    """Active subscriptions whose digest for the current ISO week should go out now.

    Due: the scheduled time in the *current* week (Brussels) has passed and there is no run for this week yet —
    or its run is a claim older than ``stale_after`` that never finished (a crashed sender; it is resumed). Never
    a digest of an earlier week: a bot that was down all week does not send last week's digest.
    """
    week = IsoWeek.containing(now)
    period = str(week)
    runs = digest_repo.list_digest_runs(session, period=period)
    stale_before = now - stale_after
    due: list[tuple[DigestSubscription, str]] = []
    for subscription in digest_repo.list_subscriptions(session, active_only=True):
        if scheduled_at(subscription, week) > now:
            continue
        run = runs.get(subscription.channel_id)
        if run is None or (run.status is DigestRunStatus.CLAIMED and run.claimed_at < stale_before):
            due.append((subscription, period))
    return due
