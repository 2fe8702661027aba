"""Where a question asked from a conversation is placed: the posting policy of "ask an expert".

A public question asked from a public channel is shown there (posted as a message, when it was not asked in a
thread already, so the answer comes in its thread); the asker must be a member of that channel. A private or
anonymous question keeps no channel; a public one from a private conversation keeps its channel (answers go back
to the asker) but is never shown there or anywhere public. Privacy itself comes from the chat platform's data
(the caller's), never from an id.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.actors import NotAuthorized
from storage.models import Visibility


@dataclass(frozen=True, slots=True)
class Placement:
    channel_id: str | None  # stored with the question
    thread_ts: str | None  # the thread its answer goes to (None: none yet, or none at all)
    shown_in_channel: bool  # the question is shown in its channel (so only a member may ask it there)
    post_in_channel: bool  # a message is to be posted in the channel first; its ts becomes the thread


def place_question(
    *, visibility: Visibility, channel_id: str | None, thread_ts: str | None, channel_is_private: bool
) -> Placement:
    shown = visibility is Visibility.PUBLIC and channel_id is not None and not channel_is_private
    if not shown and visibility is not Visibility.PUBLIC:
        return Placement(None, None, shown_in_channel=False, post_in_channel=False)
    return Placement(channel_id, thread_ts, shown_in_channel=shown, post_in_channel=shown and not thread_ts)


def require_member(placement: Placement, *, is_member: bool) -> None:
    """The bot only shows a question in a channel the asker is a member of."""
    if placement.shown_in_channel and not is_member:
        error = NotAuthorized(
            "ask a question in a channel one is not in", target=f"channel:{placement.channel_id}", code="ask_not_member"
        )
        error.values = {"channel": f"<#{placement.channel_id}>"}  # a channel id (checked when the modal was parsed)
        raise error
