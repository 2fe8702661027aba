"""Events: mentions of the bot and direct messages get an answer in the thread; everything else is acked.

Slack acks an event before any listener runs, and never resends an acked one. So a mention or DM is recorded in
the inbox (``handlers.inbox``) by listener middleware, in the request's own thread, *before* Bolt acks it: the
inbox row is the durable record and the dedupe claim at once (the message's channel + ts, so the ``app_mention``
and ``message`` deliveries of one message, and Slack's retries, make one row, in whichever process). When the
record cannot be written, the middleware fails the request and Slack delivers it again. The answer is produced
from the row (``handlers.whoknows.answer_message``).
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from handlers import inbox
from handlers.context import Services, Turn, listener

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


def to_answer(event: dict[str, Any]) -> bool:
    """A mention of the bot, or a person's direct message to it (not an edit, a join or a bot's message)."""
    if _is_from_a_bot(event) or not event.get("channel") or not event.get("ts"):
        return False
    if event.get("type") == "app_mention":
        return True
    if event.get("subtype") in IGNORED_SUBTYPES or event.get("subtype") not in {None, "file_share"}:
        return False
    return event.get("channel_type") == "im"


def record_message(services: Services) -> Any:
    """Listener middleware: record the message in the inbox before Bolt acks the event."""

    def middleware(body: dict[str, Any], context: BoltContext, next: Any) -> BoltResponse | None:
        event = body.get("event") or {}
        if to_answer(event):
            new = inbox.record(
                services,
                request_key=f"msg:{event['channel']}:{event['ts']}",
                kind_name="answer_message",
                payload={
                    "channel": str(event["channel"]),
                    "thread_ts": str(event.get("thread_ts") or event["ts"]),
                    "text": str(event.get("text") or ""),
                },
                user_id=str(event.get("user") or "") or None,
            )
            context["wieweet_recorded"] = "recorded" if new else "duplicate"
        return next()  # type: ignore[no-any-return]

    return middleware


def handle_event(turn: Turn) -> None:
    """The answer comes from the inbox; this only says what happened to the delivery (for the request log)."""
    turn.context["wieweet_outcome"] = str(turn.context.get("wieweet_recorded") or "ignored")


def register(app: App, services: Services) -> None:
    recorder = record_message(services)
    app.event("app_mention", middleware=[recorder])(listener(services, "event", handle_event))
    app.event("message", middleware=[recorder])(listener(services, "event", handle_event))
