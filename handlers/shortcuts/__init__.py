"""Message shortcut "Wie weet dit?": answer a message's question in its thread."""

from __future__ import annotations

from slack_bolt import App

from bot.i18n import t
from handlers import ids, inbox
from handlers.context import Services, Turn, listener
from handlers.whoknows import ANSWER_SHORTCUT, strip_mentions


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
    # Recorded in the inbox under the trigger (a replay is one request) and answered from there.
    new = inbox.record(
        turn.services,
        request_key=f"shortcut:{turn.body.get('trigger_id') or turn.correlation_id}",
        kind_name=ANSWER_SHORTCUT,
        payload={
            "text": query,
            "channel": channel,
            "thread_ts": thread_ts,
            "response_url": turn.body.get("response_url"),
        },
        user_id=turn.user_id,
    )
    turn.context["wieweet_outcome"] = "recorded" if new else "duplicate"


def register(app: App, services: Services) -> None:
    app.shortcut(ids.SHORTCUT_WHO_KNOWS)(listener(services, "shortcut", handle_who_knows_shortcut))
