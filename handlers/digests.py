"""``/wieweet digest uit`` and ``/wieweet digest voorbeeld``: a channel's weekly digest from chat."""

from __future__ import annotations

from bot.i18n import t
from digests.preview import preview_digest
from digests.subscriptions import unsubscribe
from handlers.context import Turn

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
