"""What this week's digest for one channel would show, now, to one person (``/wieweet digest voorbeeld``, CLI dry
run). Rendering it is the caller's: ``handlers.digest_post.preview_digest`` for Slack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import normalise_language
from bot.register.themes import ensure_default_themes
from digests.model import DigestData, PrivateChannel, SubscriptionView
from digests.period import TIMEZONE, IsoWeek, parse_period
from digests.sender import collect_for
from digests.subscriptions import get_subscription, resolve_themes, validate_channel
from storage.db import Database

PREVIEW_CHANNEL = "CPREVIEW"


@dataclass(frozen=True, slots=True)
class PreviewData:
    view: SubscriptionView
    period: str
    data: DigestData
    now: datetime  # what the open questions' age is counted from


def preview_data(
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
) -> PreviewData:
    """The channel's digest (its subscription, or all themes when it has none), quiet weeks included."""
    period = parse_period(week) if week else str(IsoWeek.containing(now, tz))
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
    data = collect_for(db, view, period, now=now, private_channel=private_channel, tz=tz)
    return PreviewData(view=view, period=period, data=data, now=min(now, data.window_end))
