"""The marker on a post an inbox request made (message metadata naming the request and step), and the look-up for
it after a crash (``handlers.inbox``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger("wieweet.inbox")

MARKER_EVENT = "wieweet_request"  # message metadata event type: which request (and step) a post belongs to

# Slack will not let the bot read the conversation (a scope the install lacks, a channel it is not in): the look-up
# cannot check, so the message is posted; a possible duplicate after a crash is the lesser evil, losing it is not.
CANNOT_CHECK = frozenset({"missing_scope", "not_in_channel", "channel_not_found"})
LOOKUP_MARGIN = timedelta(minutes=5)  # the marker look-up reads from this long before the post started (clock skew)
LOOKUP_PAGES = 10  # of 200 messages each


def find_marked_message(
    client: WebClient, *, channel: str, thread_ts: str | None, key: str, step: str, since: datetime | None = None
) -> str | None:
    """The ts of a message in ``channel`` (in ``thread_ts``'s thread when given) that carries the marker of this
    request and step, or None (also when Slack will not let the bot look: see ``CANNOT_CHECK``). ``since``: when the
    post started (wall clock); only messages from then on (less a margin for clock skew) are read, page by page,
    so the marker is found in a long thread or a busy channel too."""
    oldest = None
    if since is not None:
        started = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        oldest = f"{(started - LOOKUP_MARGIN).timestamp():.6f}"
    cursor: str | None = None
    for _ in range(LOOKUP_PAGES):
        try:
            if thread_ts:
                response = client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, oldest=oldest, cursor=cursor
                )
            else:
                response = client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200, oldest=oldest, cursor=cursor
                )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error == "thread_not_found":
                return None
            if error in CANNOT_CHECK:
                log.warning(
                    "cannot look for %s step %s in %s (%s%s): posting, which may show it twice",
                    key,
                    step,
                    channel,
                    error,
                    f", needs {exc.response.get('needed')}" if error == "missing_scope" else "",
                )
                return None
            raise
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == MARKER_EVENT
                and payload.get("request") == key
                and payload.get("step") == step
            ):
                return str(message.get("ts"))
        cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "") or None
        if not cursor:
            return None
    log.warning("marker of %s step %s not found in %s pages of %s: posting", key, step, LOOKUP_PAGES, channel)
    return None
