"""Block Kit for staff: a channel's digest was turned off because the channel is gone for the bot
(``digests.subscriptions.stop_gone_channel``), in the triage channel or, when that cannot take it, by DM."""

from __future__ import annotations

from datetime import timedelta

from bot.i18n import N_, format_list, format_number, t, tn
from bot.staff_notices import DigestStopped
from digests.refusals import HELD_AT_MOST
from handlers.blocks.staffdm import triage_channel_label
from handlers.kit import Rendered, context, escape_truncate, fallback, section

LOOK_UP = "conversations.info"  # the look-up before each post (``handlers.digest_sources.INFO``)

# Why, in plain words, by Slack's error or the event that said so (another reason: "Slack refuses posts there")
DIGEST_STOPPED_WHY = {
    "is_archived": N_("digest.stopped_why_archived"),
    "channel_archive": N_("digest.stopped_why_archived"),
    "not_in_channel": N_("digest.stopped_why_removed"),
    "member_left_channel": N_("digest.stopped_why_removed"),
    "channel_left": N_("digest.stopped_why_removed"),
    "group_left": N_("digest.stopped_why_removed"),
    "channel_not_found": N_("digest.stopped_why_not_found"),
}


def build_digest_stopped(payload: DigestStopped, lang: str) -> Rendered:
    """Which channel's digest stopped, why (Slack's code beside it), and that staff subscribe it again: nothing
    turns it on by itself, an unarchived channel included. ``held``: the week's digests wait for the operator (a
    missing scope, named when Slack names it; a bad token) and go out once that is fixed."""
    if payload.held:
        return _build_digests_held(payload, lang)
    if payload.source:
        return _build_source_refused(payload, lang)
    if payload.refused:
        return _build_channel_refused(payload, lang)
    key = DIGEST_STOPPED_WHY.get(payload.reason)
    why = t(key, lang) if key else t("digest.stopped_why_other", lang)
    channel = triage_channel_label(payload.channel_id)  # a link when it is a channel id, else escaped text
    head = t("digest.stopped", lang, channel=channel, why=why)
    code = f" (`{escape_truncate(payload.reason, 60)}`)" if payload.reason else ""
    again = t("digest.stopped_again", lang, channel=channel, channel_id=escape_truncate(payload.channel_id, 40))
    return Rendered(text=fallback(head), blocks=[section("⚠️ " + head + code), context(again)])


def _build_digests_held(payload: DigestStopped, lang: str) -> Rendered:
    if payload.needed:
        head = t("digest.held_scope", lang, scope=f"`{escape_truncate(payload.needed, 80)}`")
    elif payload.reason == "no_permission" and payload.method == LOOK_UP:  # every look-up of a pass refused so
        head = t("digest.held_no_permission_look_up", lang, hours=_held_hours(lang))
    elif payload.reason == "no_permission":  # every post of a pass refused so (``handlers.digest_held.HeldRefusals``)
        head = t("digest.held_no_permission", lang, hours=_held_hours(lang))
    else:
        head = t("digest.held_other", lang)
    code = f" (`{escape_truncate(payload.reason, 60)}`)" if payload.reason else ""
    if payload.method and payload.reason:  # which call Slack refused: the post, or the look-up before it
        code = f" (`{escape_truncate(payload.method, 40)}`: `{escape_truncate(payload.reason, 60)}`)"
    first = t("digest.held_first", lang, channel=triage_channel_label(payload.channel_id))
    return Rendered(text=fallback(head), blocks=[section("⚠️ " + head + code), context(first)])


def _held_hours(lang: str) -> str:
    """How many hours a week's digests held for ``no_permission`` are held at most (``HELD_AT_MOST``)."""
    return format_number(HELD_AT_MOST // timedelta(hours=1), lang)


def _build_source_refused(payload: DigestStopped, lang: str) -> Rendered:
    """Channels questions were asked in that Slack refused to tell about: their questions left out of the week's
    digests. One channel, or several met by one pass (``others`` named, ``more`` counted; ``questions``: left out
    of them all). Named as mentions only (Slack shows a private channel's name to its members alone), never by
    name."""
    questions = format_number(payload.questions, lang)
    code = f" (`{escape_truncate(payload.method, 40)}`: `{escape_truncate(payload.reason, 60)}`)"
    if not payload.others and not payload.more:
        head = t("digest.source_refused", lang, channel=triage_channel_label(payload.channel_id), questions=questions)
        fix = t("digest.source_fix", lang)
    else:
        head = t("digest.sources_refused", lang, channels=_channels_text(payload, lang), questions=questions)
        fix = t("digest.sources_fix", lang)
    return Rendered(text=fallback(head), blocks=[section("ℹ️ " + head + code), context(fix)])


def _channels_text(payload: DigestStopped, lang: str) -> str:
    """The channels a grouped notice names (``channel_id``, then ``others``) as mentions, and how many ``more`` it
    counts ("and 15 more", the count grouped as the reader's language does: "1.234", "1,234")."""
    labels = [triage_channel_label(payload.channel_id), *(triage_channel_label(other) for other in payload.others)]
    if not payload.more:
        return format_list(labels, lang)
    count = format_number(payload.more, lang)
    return ", ".join(labels) + tn("digest.refused_more", "digest.refused_more_plural", payload.more, lang, count=count)


def _build_channel_refused(payload: DigestStopped, lang: str) -> Rendered:
    """Digest channels Slack refused this week (``no_permission`` on their post, or on the look-up before it), one
    or several met by one pass (``others`` named, ``more`` counted): their digests of the week failed, the
    subscriptions stay on. The channels' own refusal, or the whole app's when every channel is refused so: the
    notice names both fixes."""
    channel = triage_channel_label(payload.channel_id)
    code = f" (`{escape_truncate(payload.method, 40)}`: `{escape_truncate(payload.reason, 60)}`)"
    if not payload.others and not payload.more:
        head = t("digest.refused_channel", lang, channel=channel)
        fix = t("digest.refused_channel_fix", lang, channel=channel)
        return Rendered(text=fallback(head), blocks=[section("⚠️ " + head + code), context(fix)])
    head = t("digest.refused_channels", lang, channels=_channels_text(payload, lang))
    fix = t("digest.refused_channels_fix", lang)
    return Rendered(text=fallback(head), blocks=[section("⚠️ " + head + code), context(fix)])
