"""``/wieweet digest`` (the subscription modal), ``digest uit`` and ``digest voorbeeld``, and "Ik kan helpen".

Who may change a channel's digest is decided in ``digests.subscriptions.require_may_manage``: its members (Slack's
data, ``ChannelDirectory``) and staff. The channel in a submitted modal is a claim, checked the same way; whether it
is private comes from Slack too, never from its id.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.errors import WieweetError
from bot.i18n import format_clock, t, weekday_name
from bot.matching.loader import load_themes
from bot.operator_texts import operator_text
from bot.text import is_slack_channel_id
from digests.subscriptions import (
    get_subscription,
    parse_time,
    parse_weekday,
    require_may_manage,
    stop_gone_channel,
    subscribe,
    unsubscribe,
)
from handlers import ids
from handlers.blocks.digest_modal import build_digest_modal
from handlers.digest_post import preview_digest
from handlers.forms import DigestForm, Draft
from handlers.kit import theme_choices
from handlers.turn import Turn

# Events that say a channel is gone for the bot: archived, or the bot removed from it. Slack tells the bot its own
# removal with ``channel_left`` / ``group_left`` (sent to the one who left); ``member_left_channel`` goes to the
# channel's remaining members, so it counts only when the one who left is the bot
GONE_EVENTS = ("channel_archive", "group_archive", "channel_left", "group_left", "member_left_channel")

DIGEST_WORDS = frozenset({"digest", "overzicht"})
OFF_WORDS = frozenset({"uit", "off", "stop"})
PREVIEW_WORDS = frozenset({"voorbeeld", "preview"})


def _require_may_manage(turn: Turn, channel: str, action: str) -> None:
    require_may_manage(turn.actor, channel_id=channel, action=action, member_of=turn.is_channel_member)


def require_not_shared_outside(turn: Turn, channel: str | None) -> None:
    turn.services.channels.require_not_shared_outside(client=turn.client, channel_id=channel, now=turn.now)


def is_digest_command(text: str) -> bool:
    """Whether ``text`` is a ``digest …`` sub-command (from the text alone)."""
    words = text.split()
    return bool(words) and words[0].casefold() in DIGEST_WORDS and len(words) <= 2


def is_digest_off(text: str) -> bool:
    """Whether ``text`` is ``digest uit`` (the digest sub-command that changes something)."""
    words = text.casefold().split()
    return len(words) == 2 and words[0] in DIGEST_WORDS and words[1] in OFF_WORDS


def route_digest_command(turn: Turn, text: str) -> bool:
    """Handle ``digest …`` sub-commands; False when ``text`` is not one (then it is a question)."""
    if not is_digest_command(text):
        return False
    words = text.split()
    sub = words[1].casefold() if len(words) == 2 else ""
    channel = turn.channel_id
    if turn.respond is None or channel is None:
        return False
    if sub in OFF_WORDS:
        _require_may_manage(turn, channel, "stop a channel's digest")
        stopped = unsubscribe(turn.session, channel_id=channel, now=turn.now, actor=turn.user_id)
        # said once committed (``turn.respond`` waits for the commit): a second "uit" right after it sees it stopped
        turn.respond(text=t("digest.off" if stopped else "digest.not_subscribed", turn.lang), response_type="ephemeral")
        return True
    if sub in PREVIEW_WORDS:
        _require_may_manage(turn, channel, "preview a channel's digest")
        require_not_shared_outside(turn, channel)
        preview = preview_digest(
            turn.services.db,
            channel_id=channel,
            now=turn.now,
            default_language=turn.lang,
            slack=(turn.client, turn.services.channels),  # the weekly pass's look-up: the preview shows what it will
            tz=ZoneInfo(turn.services.settings.timezone),
        )
        for blocks in preview.messages:  # only the caller sees it, now
            turn.respond(
                text=t("digest.preview", turn.lang), blocks=blocks, response_type="ephemeral", replace_original=False
            )
        return True
    if sub == "":
        _require_may_manage(turn, channel, "set up a channel's digest")
        require_not_shared_outside(turn, channel)
        open_digest_modal(turn, channel)
        return True
    turn.respond(text=t("digest.usage", turn.lang), response_type="ephemeral")
    return True


def open_digest_modal(turn: Turn, channel: str) -> None:
    """Open at once (the trigger expires in 3 s), pre-filled with the channel's current subscription."""
    subscription = get_subscription(turn.session, channel_id=channel)
    themes = theme_choices(load_themes(turn.session), turn.lang)
    current = subscription if subscription is not None and subscription.active else None
    view = build_digest_modal(
        turn.lang,
        channel_id=channel,
        themes=themes,
        selected=current.themes if current else (),
        weekday=current.weekday if current else 0,
        hour=current.hour if current else 9,
        minute=current.minute if current else 0,
        language=current.language if current else turn.lang,
        post_empty=current.post_empty if current else False,
    )
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def _schedule(form: DigestForm, lang: str) -> tuple[int, int, int] | str:
    """The form's day and time (weekday, hour, minute), or why they cannot be posted at in ``lang``: the refusal's
    catalogue text (``bot.operator_texts``, the value quoted masked and cut by ``shown_value``), not its English
    line."""
    try:
        weekday = parse_weekday(form.day)
        hour, minute = parse_time(form.time)
    except WieweetError as exc:
        line = exc.args[0] if exc.args else exc.message
        return operator_text(line, lang)
    return weekday, hour, minute


def check_digest_form(form: DigestForm, draft: Draft) -> dict[str, str]:
    """Before the ack: the day and time must be ones a digest can be posted at."""
    schedule = _schedule(form, draft.lang)
    return {ids.BLOCK_DIGEST_TIME: schedule} if isinstance(schedule, str) else {}


def handle_digest_submission(turn: Turn, form: DigestForm) -> None:
    # the channel named by the modal is a claim: its members and staff only, by Slack's data
    _require_may_manage(turn, form.channel_id, "subscribe a channel to the digest")
    schedule = _schedule(form, turn.lang)
    if isinstance(schedule, str):
        turn.form_errors({ids.BLOCK_DIGEST_TIME: schedule})
        return
    weekday, hour, minute = schedule
    turn.ack()
    channel = form.channel_id
    require_not_shared_outside(turn, channel)
    subscribe(
        turn.session,
        channel_id=channel,
        channel_is_private=turn.channel_is_private(channel),
        themes=form.themes,
        weekday=weekday,
        hour=hour,
        minute=minute,
        language=form.language,
        post_empty=form.post_empty,
        created_by=turn.user_id,
        now=turn.now,
    )
    lang = turn.lang
    # once committed (recorded on the inbox row, sent once from there): the reader finds the subscription stored
    turn.tell(
        t("digest.subscribed", lang, day=weekday_name(weekday, lang), time=format_clock(hour, minute, lang)),
        channel=channel,
    )


def handle_can_help(turn: Turn, question_id: int) -> None:
    """ "Ik kan helpen" on an open question in a digest: the clicker is added as a helper and asked it by DM."""
    turn.services.routing_service().volunteer(
        turn.session,
        question_id=question_id,
        slack_id=turn.user_id or "",
        now=turn.now,
        is_private_channel=turn.channel_is_private,
    )
    turn.queued_messages()  # the question goes out by DM as soon as this transaction commits
    turn.home_changed(turn.user_id)
    if turn.respond is not None:
        turn.respond(text=t("digest.thanks_helper", turn.lang), response_type="ephemeral", replace_original=False)


def handle_channel_gone(turn: Turn) -> None:
    """Slack says a channel was archived, or the bot left or was removed from it: its digest subscription is turned
    off and staff are told once (``digests.subscriptions.stop_gone_channel``). An unarchived channel or the bot
    invited back does not turn it on again: staff or the channel's members subscribe it again."""
    event = turn.body.get("event") or {}
    kind, channel_id = str(event.get("type") or ""), event.get("channel")
    if not isinstance(channel_id, str) or not is_slack_channel_id(channel_id):  # a claim: malformed changes nothing
        return
    if kind == "member_left_channel" and event.get("user") != turn.context.bot_user_id:  # someone else left
        return
    stopped = stop_gone_channel(turn.session, channel_id=channel_id, reason=kind, now=turn.now)
    turn.outcome = "digest stopped" if stopped else "no digest"
