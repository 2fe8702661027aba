"""After a restore: this week's digests as the restored database sees them, and marking one as posted.

A digest is sent once per channel per ISO week because its run (``digest_runs``) says so. A backup taken before a
digest went out has no run for that week: restored, the digest is due again and posted a second time. The operator
sees each subscription's state for a week (``digest_states``) and records the ones that did go out
(``mark_posted``), before starting the bot; a digest whose time has not come that week is left to go out (also when
its channel is named), and so is one a running sender is posting (a claim fresher than ``STALE_AFTER``). Audited
(actor, week, counts). Nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.errors import Problem
from bot.text import shown_value
from digests.errors import DigestError, InvalidChannel
from digests.period import TIMEZONE, IsoWeek, parse_period, period_of
from digests.schedule import STALE_AFTER, scheduled_at
from digests.subscriptions import validate_channel
from storage import digest_repo, register_repo
from storage.enums import DIGEST_RUN_ENTITY, DigestRunStatus

MARK_POSTED_ACTION = "mark_posted"


@dataclass(frozen=True)
class DigestState:
    """One active subscription's digest in a week: ``state`` is ``sent``, ``empty``, ``failed``, ``claimed`` (a
    sender was posting it; resumed once stale) or ``none`` (no run: posted once ``scheduled`` has passed)."""

    channel_id: str
    period: str
    scheduled: datetime
    state: str
    sent_at: datetime | None
    parts_sent: int
    error: str = ""  # why the last try did not post it (Slack's refusal: ``invalid_auth``, ``missing_scope``, …)


def digest_states(session: Session, *, period: str, tz: ZoneInfo = TIMEZONE) -> list[DigestState]:
    """Every active subscription's digest of ``period``, by channel."""
    week = parse_period(period)
    runs = digest_repo.list_digest_runs(session, period=week)
    states = []
    for subscription in sorted(digest_repo.list_subscriptions(session, active_only=True), key=lambda s: s.channel_id):
        run = runs.get(subscription.channel_id)
        states.append(
            DigestState(
                channel_id=subscription.channel_id,
                period=week,
                scheduled=scheduled_at(subscription, week, tz),
                state=str(run.status) if run is not None else "none",
                sent_at=run.sent_at if run is not None else None,
                parts_sent=len(run.parts_sent) if run is not None else 0,
                error=run.error if run is not None else "",
            )
        )
    return states


class FutureWeek(DigestError):
    """A week after the current one: its digests cannot have gone out."""

    code = "future_week"


@dataclass(frozen=True)
class MarkedPosted:
    marked: int
    already_sent: int
    not_due: int  # not yet scheduled that week (``now`` before its time): left to go out
    posting: list[str] = field(default_factory=list)  # channels a running sender is posting it in: left to it


def mark_posted(
    session: Session,
    *,
    actor: Actor,
    period: str,
    channel_id: str | None,
    worker_id: str,
    now: datetime,
    tz: ZoneInfo = TIMEZONE,
) -> MarkedPosted:
    """Record the digest of ``period`` as sent, for ``channel_id`` or every active subscription, whose scheduled time
    that week has passed (``now``), without posting it; a run a running sender holds (claimed by another worker
    since ``now - STALE_AFTER``) is left to it (``posting``). A week after ``now``'s is refused. Audited with the
    counts."""
    week = parse_period(period)
    current = period_of(now, tz)
    if IsoWeek.parse(week) > IsoWeek.parse(current):
        english = f"{week} has not begun (this week is {current}): no digest of it went out yet"
        raise FutureWeek(message=Problem(english, "digest_future_week", {"week": week, "current": current}))
    if channel_id is not None:
        channel = validate_channel(channel_id)
        subscription = digest_repo.get_subscription(session, channel_id=channel)
        if subscription is None:
            english = f"no digest subscription for channel {channel}"  # said as `digest unsubscribe` says it
            raise InvalidChannel(message=Problem(english, "digest_not_subscribed", {"channel": shown_value(channel)}))
        subscriptions = [subscription]
    else:
        subscriptions = digest_repo.list_subscriptions(session, active_only=True)
    channels = sorted(s.channel_id for s in subscriptions if scheduled_at(s, week, tz) <= now)
    not_due = len(subscriptions) - len(channels)
    marked, posting = 0, []
    for channel in channels:
        if digest_repo.update_digest_run_marked_sent(
            session, channel_id=channel, period=week, worker_id=worker_id, now=now, live_since=now - STALE_AFTER
        ):
            marked += 1
        elif (run := digest_repo.get_digest_run(session, channel_id=channel, period=week)) is not None and (
            run.status is DigestRunStatus.CLAIMED
        ):
            posting.append(channel)
    already_sent = len(channels) - marked - len(posting)
    register_repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=MARK_POSTED_ACTION,
        entity_type=DIGEST_RUN_ENTITY,
        entity_key=week,
        before=None,
        after={
            "channels": len(channels),
            "marked": marked,
            "already_sent": already_sent,
            "not_due": not_due,
            "posting": len(posting),
        },
        now=now,
    )
    return MarkedPosted(marked=marked, already_sent=already_sent, not_due=not_due, posting=posting)
