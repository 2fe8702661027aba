"""``/wieweet digest`` (the subscription modal), ``digest uit`` and ``digest voorbeeld``, and "Ik kan helpen".

Who may change a channel's digest is decided in ``digests.subscriptions.require_may_manage``: its members (Slack's
data, ``ChannelDirectory``) and staff. The channel in a submitted modal is a claim, checked the same way; whether it
is private comes from Slack too, never from its id.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.errors import WieweetError
from bot.i18n import DEFAULT_LANGUAGE, format_clock, t, weekday_name
from bot.matching.loader import load_themes
from digests import ids as digest_ids
from digests.preview import preview_digest
from digests.subscriptions import (
    get_subscription,
    parse_time,
    parse_weekday,
    require_may_manage,
    subscribe,
    unsubscribe,
)
from handlers import claims, ids
from handlers.context import Services, Turn, listener
from handlers.digest_blocks import build_digest_modal
from handlers.errors import refuse_in_form
from handlers.routing_blocks import ThemeChoice

DIGEST_WORDS = frozenset({"digest", "overzicht"})
OFF_WORDS = frozenset({"uit", "off", "stop"})
PREVIEW_WORDS = frozenset({"voorbeeld", "preview"})


def _require_may_manage(turn: Turn, channel: str, action: str) -> None:
    require_may_manage(turn.actor, channel_id=channel, action=action, member_of=turn.is_channel_member)


def route_digest_command(turn: Turn, text: str) -> bool:
    """Handle ``digest …`` sub-commands; False when ``text`` is not one (then it is a question)."""
    words = text.split()
    if not words or words[0].casefold() not in DIGEST_WORDS or len(words) > 2:
        return False
    sub = words[1].casefold() if len(words) == 2 else ""
    channel = turn.channel_id
    if turn.respond is None or channel is None:
        return False
    if sub in OFF_WORDS:
        _require_may_manage(turn, channel, "stop a channel's digest")
        stopped = unsubscribe(turn.session, channel_id=channel, now=turn.now, actor=turn.user_id)
        text, respond = t("digest.off" if stopped else "digest.not_subscribed", turn.lang), turn.respond

        def answer() -> None:  # once committed: a second "uit" right after this answer sees it stopped
            respond(text=text, response_type="ephemeral")

        turn.after_commit(answer)
        return True
    if sub in PREVIEW_WORDS:
        _require_may_manage(turn, channel, "preview a channel's digest")
        preview = preview_digest(
            turn.services.db,
            channel_id=channel,
            now=turn.now,
            default_language=turn.lang,
            private_channel=turn.channel_is_private,
        )
        for blocks in preview.messages:  # only the caller sees it, now
            turn.respond(
                text=t("digest.preview", turn.lang), blocks=blocks, response_type="ephemeral", replace_original=False
            )
        return True
    if sub == "":
        _require_may_manage(turn, channel, "set up a channel's digest")
        open_digest_modal(turn, channel)
        return True
    turn.respond(text=t("digest.usage", turn.lang), response_type="ephemeral")
    return True


def open_digest_modal(turn: Turn, channel: str) -> None:
    """Open at once (the trigger expires in 3 s), pre-filled with the channel's current subscription."""
    subscription = get_subscription(turn.session, channel_id=channel)
    themes = [
        ThemeChoice(key=d.key, label=d.label_en if turn.lang == "en" else d.label_nl) for d in load_themes(turn.session)
    ]
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
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def _value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(action) or {})


def handle_digest_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    themes = [
        o["value"]
        for o in _value(values, ids.BLOCK_DIGEST_THEMES, ids.INPUT_DIGEST_THEMES).get("selected_options") or []
    ]
    day = (_value(values, ids.BLOCK_DIGEST_DAY, ids.INPUT_DIGEST_DAY).get("selected_option") or {}).get("value")
    raw_time = str(_value(values, ids.BLOCK_DIGEST_TIME, ids.INPUT_DIGEST_TIME).get("selected_time") or "09:00")
    language = (_value(values, ids.BLOCK_DIGEST_LANG, ids.INPUT_DIGEST_LANG).get("selected_option") or {}).get(
        "value"
    ) or DEFAULT_LANGUAGE
    post_empty = bool(_value(values, ids.BLOCK_DIGEST_EMPTY, ids.INPUT_DIGEST_EMPTY).get("selected_options"))
    try:
        channel = claims.channel_id(claims.view_metadata(turn.body).get("channel_id"))
        if channel is None:
            raise claims.malformed("digest channel", None)
        # the channel named by the modal is a claim: its members and staff only, by Slack's data
        _require_may_manage(turn, channel, "subscribe a channel to the digest")
    except WieweetError as exc:
        refuse_in_form(turn, exc, ids.BLOCK_DIGEST_THEMES)
        return
    try:
        weekday = parse_weekday(str(day or "mon"))
        hour, minute = parse_time(raw_time)
    except WieweetError as exc:
        turn.ack(response_action="errors", errors={ids.BLOCK_DIGEST_TIME: exc.message})
        return
    turn.ack()
    subscribe(
        turn.session,
        channel_id=channel,
        channel_is_private=turn.channel_is_private(channel),
        themes=themes,
        weekday=weekday,
        hour=hour,
        minute=minute,
        language=str(language),
        post_empty=post_empty,
        created_by=turn.user_id,
        now=turn.now,
    )
    if turn.user_id:
        user, lang = turn.user_id, turn.lang
        text = t("digest.subscribed", lang, day=weekday_name(weekday, lang), time=format_clock(hour, minute, lang))

        def confirm() -> None:  # once committed: whoever reads the confirmation finds the subscription stored
            turn.client.chat_postEphemeral(channel=channel, user=user, text=text)

        turn.after_commit(confirm)


def handle_can_help(turn: Turn) -> None:
    """ "Ik kan helpen" on an open question in a digest: the clicker is added as a helper and asked it by DM."""
    turn.ack()
    question_id = claims.clicked_id(turn.body, what="question")
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


def register(app: App, services: Services) -> None:
    app.action(digest_ids.ACTION_CAN_HELP)(listener(services, "action", handle_can_help))
    app.view(ids.VIEW_DIGEST)(listener(services, "view", handle_digest_submission))
