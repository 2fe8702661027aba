"""Weekly theme digests: what is new per theme, posted once a week in subscribed channels.

``collect_digest_data`` (the only part that reads the database) → a ``DigestOutlet`` renders and posts it (Slack's
Block Kit is ``handlers.blocks.digest``) → ``send_digest`` (claim once per channel per ISO week, post part by part,
resumable). ``due_digests`` and ``next_run_time`` say when; ``subscribe``/``unsubscribe`` manage the channels.
Nothing here knows Slack.
"""

from __future__ import annotations

from digests.collect import collect_digest_data
from digests.errors import DigestError, InvalidChannel, InvalidPeriod, InvalidSchedule, PermanentPostError, UnknownTheme
from digests.model import DigestData, SubscriptionView
from digests.period import IsoWeek, parse_period, period_bounds, period_of
from digests.schedule import STALE_AFTER, digest_window, due_digests, next_run_time, next_wakeup, scheduled_at
from digests.sender import DigestOutlet, SendResult, SendStatus, collect_for, send_digest, send_due_digests
from digests.subscriptions import get_subscription, list_subscriptions, subscribe, unsubscribe
from storage.digest_repo import claim_digest_run

__all__ = [
    "STALE_AFTER",
    "DigestData",
    "DigestError",
    "DigestOutlet",
    "InvalidChannel",
    "InvalidPeriod",
    "InvalidSchedule",
    "IsoWeek",
    "PermanentPostError",
    "SendResult",
    "SendStatus",
    "SubscriptionView",
    "UnknownTheme",
    "claim_digest_run",
    "collect_digest_data",
    "collect_for",
    "digest_window",
    "due_digests",
    "get_subscription",
    "list_subscriptions",
    "next_run_time",
    "next_wakeup",
    "parse_period",
    "period_bounds",
    "period_of",
    "scheduled_at",
    "send_digest",
    "send_due_digests",
    "subscribe",
    "unsubscribe",
]
