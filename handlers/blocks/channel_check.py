"""Block Kit for staff: the day's check of which channels turned private was refused for good (``bot.jobs``), in
the triage channel or, when that cannot take it, by DM to each staff member in their language."""

from __future__ import annotations

from bot.i18n import format_number, t
from bot.staff_notices import ChannelCheckFailed
from handlers.kit import Rendered, context, escape_truncate, fallback, section


def build_channel_check_failed(payload: ChannelCheckFailed, lang: str) -> Rendered:
    """Which day, how many attempts and Slack's reason; what it means (a question asked in a channel that turned
    private may still be quoted in digests and proposals) and what to check (the bot token and its scopes)."""
    head = t(
        "privacy.check_failed",
        lang,
        day=escape_truncate(payload.day, 20),
        attempts=format_number(payload.attempts, lang),
    )
    code = f" (`{escape_truncate(payload.error, 80)}`)" if payload.error else ""
    return Rendered(
        text=fallback(head + code), blocks=[section("⚠️ " + head + code), context(t("privacy.check_failed_next", lang))]
    )
