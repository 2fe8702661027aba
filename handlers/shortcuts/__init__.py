"""Message shortcut "Wie weet dit?": answer a message's question in its thread."""

from __future__ import annotations

from slack_bolt import App

from bot.i18n import t
from handlers import ids
from handlers.context import Services, Turn, listener
from handlers.whoknows import post_in_thread, prepare_answer, respond_privately, strip_mentions


def handle_who_knows_shortcut(turn: Turn) -> None:
    turn.ack()
    message = turn.body.get("message") or {}
    query = strip_mentions(str(message.get("text") or ""))
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    if not query:
        if turn.respond is not None:
            turn.respond(text=t("slack.empty_message", turn.lang), response_type="ephemeral")
        return
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
    answer = prepare_answer(turn, query)
    if channel and thread_ts and post_in_thread(turn, answer, channel=channel, thread_ts=thread_ts):
        return
    # The bot is not in that channel: answer the person privately instead, and say why.
    respond_privately(turn, answer)
    if turn.respond is not None:
        turn.respond(text=t("slack.not_in_channel", turn.lang), response_type="ephemeral", replace_original=False)


def register(app: App, services: Services) -> None:
    app.shortcut(ids.SHORTCUT_WHO_KNOWS)(listener(services, "shortcut", handle_who_knows_shortcut))
