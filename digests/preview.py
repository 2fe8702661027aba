"""This week's digest for one channel, shown now to one person (``/wieweet digest voorbeeld``, CLI dry run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.i18n import normalise_language
from bot.register.themes import ensure_default_themes
from digests.builder import build_digest
from digests.model import PrivateChannel, SubscriptionView
from digests.period import IsoWeek, parse_period
from digests.sender import collect_for
from digests.subscriptions import get_subscription, resolve_themes, validate_channel
from storage.db import Database

PREVIEW_CHANNEL = "CPREVIEW"


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
) -> Preview:
    """The channel's digest (its subscription, or all themes when it has none), quiet weeks included."""
    period = parse_period(week) if week else str(IsoWeek.containing(now))
    with db.session() as session:
        ensure_default_themes(session, now=now)
        subscription = get_subscription(session, channel_id=channel_id) if channel_id else None
        if subscription is not None:
            view = SubscriptionView.from_subscription(subscription)
        else:
            view = SubscriptionView(
                channel_id=validate_channel(channel_id) if channel_id else PREVIEW_CHANNEL,
                language=normalise_language(default_language),
            )
        view = replace(
            view,
            post_empty=True,  # a preview shows the quiet-week message rather than nothing
            themes=tuple(resolve_themes(session, list(themes))) if themes is not None else view.themes,
            language=lang or view.language,
        )
    data = collect_for(db, view, period, now=now, private_channel=private_channel)
    messages = build_digest(data, subscription_view=view, period=period, now=min(now, data.window_end))
    return Preview(view=view, period=period, messages=messages)
