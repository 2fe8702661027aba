""" "Who knows": the answer to a question typed anywhere (``/wieweet``, a mention, a DM, the "Wie weet dit?" message
shortcut), and the buttons on it (share in the channel, more results, ask the experts, 👍/👎).

The search log id in a button is a claim: ``searched`` checks it against the database for the clicking user (the
asker, or a member of the conversation where the answer was posted, ``bot.knowledge.get_search_for``) before
anything is shown. Mentions and DMs are answered once per message, whichever delivery and process gets it first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot import directory, knowledge
from bot.errors import NotFoundError
from bot.i18n import t
from bot.presenter import build_answer_view
from handlers import claims
from handlers.blocks.answer import SHOWN_PER_LIST, answer_fallback_text, build_answer_blocks, build_more_blocks
from handlers.kit import escape_truncate, user_mention
from handlers.turn import Turn
from storage.models import SearchLog

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
MORE_LIMIT = 8
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
    knowledge.mark_search_posted(turn.session, search_log_id=answer.search_log_id, channel_id=channel)
    return True


def respond_privately(turn: Turn, answer: PreparedAnswer) -> None:
    """Only the asker sees it (through the request's response_url)."""
    if turn.respond is None:
        raise RuntimeError(f"{turn.kind} request has no response_url to answer privately")
    turn.respond(text=answer.text, blocks=answer.blocks, response_type="ephemeral", replace_original=False)


def command_who_knows(turn: Turn, text: str) -> None:
    """``/wieweet <question>``: the answer, privately, with a button to share it."""
    respond_privately(turn, prepare_answer(turn, text, shareable=True))


# --- mentions and direct messages ------------------------------------------------------------------------------------


def _is_from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message")


def _claim_message(turn: Turn, event: dict[str, Any]) -> bool:
    """True for the first delivery of this message in any process (committed at once, visible to all)."""
    key = f"msg:{event.get('channel')}:{event.get('ts')}"
    with turn.services.db.session() as claim_session:
        first = directory.claim_delivery(claim_session, key=key, kind=turn.kind, now=turn.now)
    if not first:
        turn.outcome = "duplicate"
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
        turn.outcome = "ignored"
        return
    if _is_from_a_bot(event) or event.get("channel_type") != "im":
        turn.outcome = "ignored"
        return
    if not _claim_message(turn, event):
        return
    _answer_message(turn, event)


def handle_who_knows_shortcut(turn: Turn) -> None:
    """Message shortcut "Wie weet dit?": answer a message's question in its thread."""
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


# --- the buttons on an answer ----------------------------------------------------------------------------------------


def searched(action: str) -> Callable[[Turn], SearchLog]:
    """The parser of a button on an answer: the search it is about, checked for the clicking user (refused
    otherwise) for ``action`` (``bot.knowledge.SEARCH_SHARE`` …)."""

    def parse(turn: Turn) -> SearchLog:
        return knowledge.get_search_for(
            turn.session,
            actor=turn.actor,
            search_log_id=claims.SEARCH.id_in(turn.body),
            action=action,
            member_of=turn.is_channel_member,
        )

    return parse


def handle_share(turn: Turn, search_log: SearchLog) -> None:
    """Post the asker's (ephemeral) answer visibly in the conversation it was asked in, attributed to them."""
    channel = search_log.channel_id  # where it was asked (the database's), never the payload's channel
    result = turn.services.knowledge.search(search_log.query, now=turn.now, limit=SHOWN_PER_LIST)
    view = build_answer_view(result, lang=turn.services.settings.default_language, limit=SHOWN_PER_LIST)
    blocks = build_answer_blocks(view, search_log_id=search_log.id)
    shared_by = t("slack.shared_by", view.lang, user=user_mention(turn.user_id) or "?")
    try:
        if channel is None:
            raise NotFoundError("channel", t("slack.not_in_channel", turn.lang))
        turn.client.chat_postMessage(
            channel=channel, text=f"{answer_fallback_text(view)} ({shared_by})", blocks=blocks, unfurl_links=False
        )
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_POSTABLE:
            raise NotFoundError("channel", t("slack.not_in_channel", turn.lang)) from exc
        raise
    knowledge.mark_search_posted(turn.session, search_log_id=search_log.id, channel_id=channel)
    if turn.respond is not None:
        turn.respond(delete_original=True)


def handle_more(turn: Turn, search_log: SearchLog) -> None:
    result = turn.services.knowledge.search(search_log.query, now=turn.now, limit=MORE_LIMIT)
    view = build_answer_view(result, lang=turn.lang)
    if turn.respond is not None:
        turn.respond(
            text=t("slack.more_title", turn.lang, query=escape_truncate(search_log.query, 200)),
            blocks=build_more_blocks(view, offset=SHOWN_PER_LIST),
            response_type="ephemeral",
            replace_original=False,
        )


def _vote(turn: Turn, search_log_id: int, vote: int) -> None:
    knowledge.record_feedback(
        turn.session,
        actor=turn.actor,
        search_log_id=search_log_id,
        vote=vote,
        now=turn.now,
        member_of=turn.is_channel_member,
    )
    if turn.respond is not None:
        turn.respond(text=t("slack.feedback_thanks", turn.lang), response_type="ephemeral", replace_original=False)


def handle_feedback_up(turn: Turn, search_log_id: int) -> None:
    _vote(turn, search_log_id, +1)


def handle_feedback_down(turn: Turn, search_log_id: int) -> None:
    _vote(turn, search_log_id, -1)
