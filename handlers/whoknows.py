"""Shared steps of the "who knows" entry points (command, mention, DM, shortcut): ask, render, send."""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.knowledge import mark_search_posted
from bot.presenter import build_answer_view
from handlers.blocks import SHOWN_PER_LIST, answer_fallback_text, build_answer_blocks
from handlers.context import Turn

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True, slots=True)
class PreparedAnswer:
    text: str
    blocks: list[Block]
    search_log_id: int


def strip_mentions(text: str) -> str:
    """Remove user mentions (``<@U123>``) from a message, e.g. the bot's own name in an app mention."""
    return _MENTION.sub(" ", text).strip()


def prepare_answer(turn: Turn, query: str, *, shareable: bool = False) -> PreparedAnswer:
    """Search (the core service) and render the answer for this user. Raises QueryError for bad input."""
    outcome = turn.services.knowledge.ask(
        turn.session,
        query=query,
        now=turn.now,
        limit=SHOWN_PER_LIST,
        source="slack",
        user_id=turn.user_id,
        channel_id=turn.channel_id,
        channel_is_private=turn.channel_id is not None and turn.channel_is_private(turn.channel_id),
    )
    view = build_answer_view(outcome.result, lang=turn.lang, limit=SHOWN_PER_LIST)
    return PreparedAnswer(
        text=answer_fallback_text(view),
        blocks=build_answer_blocks(
            view,
            search_log_id=outcome.search_log_id,
            shareable=shareable,
            offer_ask=turn.services.routing is not None,
        ),
        search_log_id=outcome.search_log_id,
    )


def post_in_thread(turn: Turn, answer: PreparedAnswer, *, channel: str, thread_ts: str) -> bool:
    """Post in the thread of the question. False when the bot may not post there (e.g. not in the channel)."""
    try:
        turn.client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=answer.text,
            blocks=answer.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_POSTABLE:
            return False
        raise
    # the conversation's members see it now, and may use its buttons (``bot.knowledge.get_search_for``)
    mark_search_posted(turn.session, search_log_id=answer.search_log_id, channel_id=channel)
    return True


def respond_privately(turn: Turn, answer: PreparedAnswer) -> None:
    """Only the asker sees it (through the request's response_url)."""
    if turn.respond is None:
        raise RuntimeError(f"{turn.kind} request has no response_url to answer privately")
    turn.respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=False)
