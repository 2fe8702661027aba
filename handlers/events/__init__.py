"""Events: mentions of the bot and direct messages get an answer in the thread; everything else is acked.

Slack sends both ``app_mention`` and ``message`` for one message that mentions the bot, and redelivers on
retries; a database claim on the message (channel + ts) makes sure only one answer is ever posted, whichever
process gets which delivery.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.i18n import t
from handlers.context import Services, Turn, listener
from handlers.whoknows import post_in_thread, prepare_answer, strip_mentions
from storage import slack_repo

IGNORED_SUBTYPES = frozenset(
    {
        "message_changed",
        "message_deleted",
        "message_replied",
        "bot_message",
        "channel_join",
        "channel_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "thread_broadcast",
        "ekm_access_denied",
        "me_message",
        "pinned_item",
        "unpinned_item",
        "reminder_add",
        "assistant_app_thread",
    }
)


def _is_from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def _claim_message(turn: Turn, event: dict[str, Any]) -> bool:
    """True for the first delivery of this message in any process (committed at once, visible to all)."""
    key = f"msg:{event.get('channel')}:{event.get('ts')}"
    with turn.services.db.session() as claim_session:
        first = slack_repo.create_processed_event(claim_session, event_key=key, kind=turn.kind, now=turn.now)
    if not first:
        turn.context["wieweet_outcome"] = "duplicate"
    return first


def _answer_message(turn: Turn, event: dict[str, Any]) -> None:
    query = strip_mentions(str(event.get("text") or ""))
    channel = str(event["channel"])
    thread_ts = str(event.get("thread_ts") or event["ts"])
    if not query:
        turn.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=t("query.empty", turn.lang))
        return
    post_in_thread(turn, prepare_answer(turn, query), channel=channel, thread_ts=thread_ts)


def handle_app_mention(turn: Turn) -> None:
    event = turn.body["event"]
    if _is_from_a_bot(event) or not _claim_message(turn, event):
        return
    _answer_message(turn, event)


def handle_message(turn: Turn) -> None:
    event = turn.body["event"]
    if event.get("subtype") in IGNORED_SUBTYPES or event.get("subtype") not in {None, "file_share"}:
        turn.context["wieweet_outcome"] = "ignored"
        return
    if _is_from_a_bot(event) or event.get("channel_type") != "im":
        turn.context["wieweet_outcome"] = "ignored"
        return
    if not _claim_message(turn, event):
        return
    _answer_message(turn, event)


def register(app: App, services: Services) -> None:
    app.event("app_mention")(listener(services, "event", handle_app_mention))
    app.event("message")(listener(services, "event", handle_message))
