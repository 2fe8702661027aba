"""Shared steps of the "who knows" entry points (command, mention, DM, shortcut): ask, render, send.

A mention or a DM is answered from the inbox (``handlers.inbox``): the event is recorded before its ack, and the
answer is searched, logged and posted afterwards, exactly once (``answer_message``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot import inbox as inbox_core
from bot.i18n import t
from bot.knowledge import mark_search_posted
from bot.matching.results import SearchResult
from bot.presenter import build_answer_view
from handlers import inbox
from handlers.blocks import SHOWN_PER_LIST, answer_fallback_text, build_answer_blocks
from handlers.context import Services

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


def render_answer(
    services: Services, result: SearchResult, *, search_log_id: int, lang: str, shareable: bool = False
) -> PreparedAnswer:
    view = build_answer_view(result, lang=lang, limit=SHOWN_PER_LIST)
    return PreparedAnswer(
        text=answer_fallback_text(view),
        blocks=build_answer_blocks(
            view, search_log_id=search_log_id, shareable=shareable, offer_ask=services.routing is not None
        ),
        search_log_id=search_log_id,
    )


def search_once(
    job: inbox.InboxJob, *, query: str, channel_id: str | None, channel_is_private: bool, shareable: bool = False
) -> PreparedAnswer:
    """Search and log the result set once per request, however often the request is retried: the log row and
    the request's claim (``answered:<key>``, noting the log id) are written in one transaction."""
    services, lang = job.services, job.language()
    search_log_id = job.result.get("search_log_id")
    # The search first, with no transaction open: the write lock is held only for the few rows written.
    result = services.knowledge.search(query, now=job.now, limit=SHOWN_PER_LIST)
    if not isinstance(search_log_id, int):
        with services.db.session() as session:

            def log_search() -> int:
                return services.knowledge.ask(
                    session,
                    query=query,
                    now=job.now,
                    limit=SHOWN_PER_LIST,
                    source="slack",
                    user_id=job.user_id,
                    channel_id=channel_id,
                    channel_is_private=channel_is_private,
                    result=result,
                ).search_log_id

            search_log_id = inbox_core.once(session, step="answered", request_key=job.key, now=job.now, make=log_search)
        if search_log_id is None:
            raise RuntimeError(f"request {job.key} was searched but its log is unknown")
        job.save(search_log_id=search_log_id)
    return render_answer(services, result, search_log_id=int(search_log_id), lang=lang, shareable=shareable)


def _tell_in_thread(job: inbox.InboxJob, text: str) -> None:
    payload = job.payload
    job.post_once(step="error", channel=str(payload["channel"]), thread_ts=str(payload["thread_ts"]), text=text)


@inbox.kind("answer_message", tell=_tell_in_thread)
def answer_message(job: inbox.InboxJob) -> None:
    """A mention or a DM recorded in the inbox: search, log, post in its thread — each once."""
    payload = job.payload
    channel, thread_ts = str(payload["channel"]), str(payload["thread_ts"])
    query = strip_mentions(str(payload.get("text") or ""))
    if not query:
        job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=t("query.empty", job.language()))
        return
    services = job.services
    private = services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    answer = search_once(job, query=query, channel_id=channel, channel_is_private=private)
    try:
        job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=answer.text, blocks=answer.blocks)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_POSTABLE:  # removed from the channel meanwhile: nowhere to answer
            return
        raise
    with services.db.session() as session:
        mark_search_posted(session, search_log_id=answer.search_log_id, channel_id=channel)


def _tell_privately(job: inbox.InboxJob, text: str) -> None:
    job.respond_once(step="error", text=text)


ANSWER_COMMAND = "answer_command"


@inbox.kind(ANSWER_COMMAND, tell=_tell_privately)
def answer_command(job: inbox.InboxJob) -> None:
    """``/wieweet <question>`` recorded in the inbox: search and log once, answer privately (shareable)."""
    payload = job.payload
    channel = payload.get("channel")
    channel = str(channel) if channel else None
    private = channel is None or job.services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    answer = search_once(
        job, query=str(payload.get("text") or ""), channel_id=channel, channel_is_private=private, shareable=True
    )
    job.respond_once(step="answer", text=answer.text, blocks=answer.blocks)


ANSWER_SHORTCUT = "answer_shortcut"


@inbox.kind(ANSWER_SHORTCUT, tell=_tell_privately)
def answer_shortcut(job: inbox.InboxJob) -> None:
    """The "Wie weet dit?" message shortcut: answered in that message's thread; where the bot may not post, to the
    person privately, saying why."""
    payload = job.payload
    channel, thread_ts = str(payload["channel"]), str(payload["thread_ts"])
    private = job.services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    answer = search_once(job, query=str(payload.get("text") or ""), channel_id=channel, channel_is_private=private)
    if not job.result.get("privately"):
        try:
            job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=answer.text, blocks=answer.blocks)
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_POSTABLE:
                raise
            job.save(privately=True)
        else:
            with job.services.db.session() as session:
                mark_search_posted(session, search_log_id=answer.search_log_id, channel_id=channel)
            return
    job.respond_once(step="answer", text=answer.text, blocks=answer.blocks)
    job.respond_once(step="why", text=t("slack.not_in_channel", job.language()))
