"""``/wieweet digest uit`` and ``/wieweet digest voorbeeld``: a channel's weekly digest from chat."""

from __future__ import annotations

from slack_bolt import App

from bot.errors import NotFoundError
from bot.i18n import t
from digests import ids as digest_ids
from digests.preview import preview_digest
from digests.subscriptions import unsubscribe
from handlers.context import Services, Turn, listener

DIGEST_WORDS = frozenset({"digest", "overzicht"})
OFF_WORDS = frozenset({"uit", "off", "stop"})
PREVIEW_WORDS = frozenset({"voorbeeld", "preview"})


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
        stopped = unsubscribe(turn.session, channel_id=channel, now=turn.now, actor=turn.user_id)
        turn.respond(text=t("digest.off" if stopped else "digest.not_subscribed", turn.lang), response_type="ephemeral")
        return True
    if sub in PREVIEW_WORDS:
        preview = preview_digest(turn.services.db, channel_id=channel, now=turn.now, default_language=turn.lang)
        for blocks in preview.messages:  # only the caller sees it, now
            turn.respond(
                text=t("digest.preview", turn.lang), blocks=blocks, response_type="ephemeral", replace_original=False
            )
        return True
    turn.respond(text=t("digest.usage", turn.lang), response_type="ephemeral")
    return True


def handle_can_help(turn: Turn) -> None:
    """ "Ik kan helpen" on an open question in a digest: the clicker is asked it as a volunteer (by DM)."""
    turn.ack()
    actions = turn.body.get("actions") or [{}]
    value = str(actions[0].get("value") or "")
    if not value.isdigit() or turn.user_id is None:
        raise NotFoundError("question", t("slack.expired", turn.lang))
    turn.services.routing_service().volunteer(turn.session, question_id=int(value), slack_id=turn.user_id, now=turn.now)
    turn.queued_messages()  # the question goes out by DM as soon as this transaction commits
    if turn.respond is not None:
        turn.respond(text=t("digest.thanks_helper", turn.lang), response_type="ephemeral", replace_original=False)


def register(app: App, services: Services) -> None:
    app.action(digest_ids.ACTION_CAN_HELP)(listener(services, "action", handle_can_help))
