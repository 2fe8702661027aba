"""Digests in Slack: rendered with ``handlers.blocks.digest``, posted with ``chat.postMessage``.

The core (``digests.sender``) claims a channel's week once and posts it part by part through a ``DigestOutlet``;
``SlackOutlet`` is Slack's. ``send_digest``/``send_due_digests`` take ``post(channel, blocks, text) -> ts`` (and a
``permalink``), so the job runner, the CLI and tests can hand in a real ``WebClient`` (``slack_post``) or a fake.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from digests import sender
from digests.errors import PermanentPostError, RetryLaterError
from digests.model import DigestData, PrivateChannel, SubscriptionView
from digests.period import TIMEZONE
from digests.preview import preview_data
from digests.schedule import STALE_AFTER
from digests.sender import Clock, SendResult
from handlers.blocks.digest import DEFAULT_LIMITS, DigestLimits, PermalinkFn, build_digest, digest_fallback_text
from handlers.channels import ChannelDirectory
from handlers.kit import Rendered
from handlers.services import slack_retry_after
from storage.db import Database

PostFn = Callable[[str, list[Block], str], str]

log = logging.getLogger(__name__)

# chat.postMessage errors that retrying this week will not fix: the run is marked failed.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "restricted_action",
        "team_access_not_granted",
        "ekm_access_denied",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)


def slack_post(client: WebClient) -> Callable[[str, list[Block], str], str]:
    """``post(channel, blocks, fallback_text) -> ts`` through chat.postMessage (links not unfurled)."""

    def post(channel: str, blocks: list[Block], text: str) -> str:
        try:
            response = client.chat_postMessage(
                channel=channel, blocks=blocks, text=text, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in PERMANENT_ERRORS:
                raise PermanentPostError(error) from exc
            wait = slack_retry_after(exc)  # a rate limit longer than the client waits: not before Slack asked
            if wait:
                raise RetryLaterError(wait, f"{error or 'ratelimited'}: retry after {wait} s") from exc
            raise
        return str(response["ts"])

    return post


def not_shared_outside(
    post: Callable[[str, list[Block], str], str], shared_outside: Callable[[str], bool]
) -> Callable[[str, list[Block], str], str]:
    """``post``, but never into a channel shared with another organisation (Slack Connect): a digest names the
    network's people and questions. A channel that became shared after it subscribed fails permanently."""

    def guarded(channel: str, blocks: list[Block], text: str) -> str:
        if shared_outside(channel):
            raise PermanentPostError("channel shared with another organisation")
        return post(channel, blocks, text)

    return guarded


def slack_permalink(client: WebClient) -> Callable[[str, str], str | None]:
    """``permalink(channel, ts)`` through chat.getPermalink, remembered per (channel, ts); None when unknown."""
    known: dict[tuple[str, str], str | None] = {}

    def permalink(channel: str, ts: str) -> str | None:
        key = (channel, ts)
        if key not in known:
            try:
                response = client.chat_getPermalink(channel=channel, message_ts=ts)
                known[key] = str(response.get("permalink") or "") or None
            except SlackApiError as exc:
                log.info("no permalink for %s/%s: %s", channel, ts, exc.response.get("error"))
                known[key] = None
        return known[key]

    return permalink


@dataclass(frozen=True, slots=True)
class SlackOutlet:
    """The digest as Block Kit messages, posted through ``post`` (``digests.sender.DigestOutlet``)."""

    post_blocks: PostFn
    permalink: PermalinkFn | None = None
    limits: DigestLimits = DEFAULT_LIMITS

    def render(self, data: DigestData, view: SubscriptionView, *, period: str) -> list[Rendered]:
        messages = build_digest(
            data,
            subscription_view=view,
            period=period,
            now=data.window_end,
            permalink=self.permalink,
            limits=self.limits,
        )
        total = len(messages)
        return [
            Rendered(text=digest_fallback_text(data, lang=view.language, part=index, parts=total), blocks=blocks)
            for index, blocks in enumerate(messages, start=1)
        ]

    def post(self, channel_id: str, message: Rendered) -> str:
        return self.post_blocks(channel_id, message.blocks, message.text)


def send_digest(
    db: Database,
    *,
    channel_id: str,
    period: str,
    now: datetime,
    worker_id: str,
    post: PostFn,
    permalink: PermalinkFn | None = None,
    stale_after: timedelta = STALE_AFTER,
    data: DigestData | None = None,
    limits: DigestLimits = DEFAULT_LIMITS,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
) -> SendResult:
    """``digests.sender.send_digest`` in Slack: the channel's digest for ``period``, at most once."""
    return sender.send_digest(
        db,
        channel_id=channel_id,
        period=period,
        now=now,
        worker_id=worker_id,
        outlet=SlackOutlet(post, permalink, limits),
        stale_after=stale_after,
        data=data,
        private_channel=private_channel,
        tz=tz,
        clock=clock,
    )


def send_due_digests(
    db: Database,
    *,
    now: datetime,
    worker_id: str,
    post: PostFn,
    permalink: PermalinkFn | None = None,
    stale_after: timedelta = STALE_AFTER,
    limits: DigestLimits = DEFAULT_LIMITS,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    clock: Clock | None = None,
) -> list[SendResult]:
    """``digests.sender.send_due_digests`` in Slack: every digest due now."""
    return sender.send_due_digests(
        db,
        now=now,
        worker_id=worker_id,
        outlet=SlackOutlet(post, permalink, limits),
        stale_after=stale_after,
        private_channel=private_channel,
        tz=tz,
        clock=clock,
    )


def due_digests_poster(
    db: Database, client: WebClient, channels: ChannelDirectory, *, tz: ZoneInfo = TIMEZONE
) -> Callable[[datetime, str], list[SendResult]]:
    """``post(now, worker_id)``: every digest due at ``now``, posted through ``client`` (``bot.jobs.DigestPass``).
    Whether a channel is private is Slack's current answer (a channel may have turned private since it subscribed)."""

    def post_due(now: datetime, worker_id: str) -> list[SendResult]:
        return send_due_digests(
            db,
            now=now,
            worker_id=worker_id,
            post=not_shared_outside(
                slack_post(client), lambda c: channels.is_shared_outside(client=client, channel_id=c, now=now)
            ),
            permalink=slack_permalink(client),
            private_channel=lambda channel: channels.is_private(client=client, channel_id=channel, now=now),
            tz=tz,
        )

    return post_due


@dataclass(frozen=True, slots=True)
class Preview:
    view: SubscriptionView
    period: str
    messages: list[list[Block]]


def preview_digest(
    db: Database,
    *,
    channel_id: str | None,
    now: datetime,
    default_language: str,
    week: str | None = None,
    lang: str | None = None,
    themes: Sequence[str] | None = None,
    private_channel: PrivateChannel | None = None,
    tz: ZoneInfo = TIMEZONE,
    mentions: bool = True,
) -> Preview:
    """This week's digest for one channel as Block Kit, shown now to one person (nothing is posted).

    ``mentions=False``: people by name rather than as Slack mentions (a preview read outside Slack)."""
    found = preview_data(
        db,
        channel_id=channel_id,
        now=now,
        default_language=default_language,
        week=week,
        lang=lang,
        themes=themes,
        private_channel=private_channel,
        tz=tz,
    )
    messages = build_digest(
        found.data, subscription_view=found.view, period=found.period, now=found.now, mentions=mentions
    )
    return Preview(view=found.view, period=found.period, messages=messages)
