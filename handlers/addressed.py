"""Which Slack message events are a person's question to wieweet: one definition, for everything that acts on them.

The listener that records a question in the inbox (``handlers.answers.record_message``) and the network check that
tells a person it refuses, or could not check (``handlers.network``), ask the same ``addressed_to_the_bot``: a
message wieweet would have answered is never dropped without a word at the gate, and nothing the gate speaks up for
is one wieweet would have ignored.

A question is a mention of the bot, or a person's direct message to it, written by a person (not a bot, wieweet
included), as a new message: plain, with a file attached (``file_share``: a question with a screenshot), or a
reply in a thread also sent to the conversation (``thread_broadcast``). Everything else Slack sends as a message
event is not: an edit (``message_changed``; the question was answered as first sent), a deletion, a join, a topic
change, ``/me``, … — acknowledged and ignored, without a word to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# a person's new message, as Slack marks it (None: a plain message)
QUESTION_SUBTYPES: frozenset[str | None] = frozenset({None, "file_share", "thread_broadcast"})


def from_a_bot(event: Mapping[str, Any]) -> bool:
    """Whether a bot (wieweet itself or another) wrote the message."""
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def addressed_to_the_bot(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is a person's question to wieweet: a mention of the bot, or a direct message to it as a new
    message (``QUESTION_SUBTYPES``), in a conversation and with a ts (where its answer goes)."""
    if from_a_bot(event) or not event.get("channel") or not event.get("ts"):
        return False
    if event.get("type") == "app_mention":  # Slack's own "you were mentioned in a new message"
        return True
    return (
        event.get("type") == "message"
        and event.get("channel_type") == "im"
        and event.get("subtype") in QUESTION_SUBTYPES
    )
