""" "Who knows": the answer to a question typed anywhere (``/wieweet``, a mention, a DM, the "Wie weet dit?" message
shortcut), and the buttons on it (share in the channel, more results, ask the experts, 👍/👎).

The search log id in a button is a claim: ``searched`` checks it against the database for the clicking user (the
asker, or a member of the conversation where the answer was posted, ``bot.knowledge.get_search_for``) before
anything is shown.

A question is recorded in the inbox (``handlers.inbox``) before its ack and answered from there, exactly once:
searched and logged once, posted once (``answer_message``, ``answer_command``, ``answer_shortcut``), whichever
delivery and process gets it first, also across a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import BoltContext, BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot import inbox as inbox_core
from bot import knowledge
from bot.actors import Actor
from bot.errors import NotFoundError
from bot.i18n import t
from bot.matching.results import SearchResult
from bot.presenter import build_answer_view
from handlers import claims, inbox, inbox_job, marker
from handlers.addressed import addressed_to_the_bot
from handlers.blocks.answer import (
    SHOWN_PER_LIST,
    answer_fallback_text,
    build_answer_blocks,
    build_asker_alone_blocks,
    build_more_blocks,
)
from handlers.kit import escape_truncate, user_mention
from handlers.services import Services, slack_transient
from handlers.slack_text import question_from_slack
from handlers.turn import Turn
from handlers.typos import meant_command
from storage.models import SearchLog

log = logging.getLogger("wieweet.answers")

NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
MORE_LIMIT = 8


@dataclass(frozen=True, slots=True)
class PreparedAnswer:
    text: str
    blocks: list[Block]
    search_log_id: int


def render_answer(
    services: Services, result: SearchResult, *, search_log_id: int, lang: str, shareable: bool = False
) -> PreparedAnswer:
    view = build_answer_view(result, lang=lang, limit=SHOWN_PER_LIST, tz=ZoneInfo(services.settings.timezone))
    return PreparedAnswer(
        text=answer_fallback_text(view),
        blocks=build_answer_blocks(
            view, search_log_id=search_log_id, shareable=shareable, offer_ask=services.routing is not None
        ),
        search_log_id=search_log_id,
    )


def search_once(
    job: inbox_job.InboxJob,
    *,
    query: str,
    channel_id: str | None,
    channel_is_private: bool,
    shown: bool,
    shareable: bool = False,
) -> PreparedAnswer:
    """Search and log the result set once per request, however often the request is retried: the log row and
    the request's claim (``answered:<key>``, noting the log id) are written in one transaction.

    ``shown``: whether the question's text stands in the conversation for its members to read (a mention, a message
    the shortcut was used on), not typed to the bot alone (``/wieweet``, answered ephemerally). A knowledge gap left
    by a question nobody else saw is recorded as private text (``channel_is_private``): never quoted in a digest, a
    work-session proposal or its label, and its asker never named as having asked in public."""
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
                    channel_is_private=channel_is_private or not shown,
                    result=result,
                ).search_log_id

            search_log_id = inbox_core.once(session, step="answered", request_key=job.key, now=job.now, make=log_search)
        if search_log_id is None:
            raise RuntimeError(f"request {job.key} was searched but its log is unknown")
        job.save(search_log_id=search_log_id)
    return render_answer(services, result, search_log_id=int(search_log_id), lang=lang, shareable=shareable)


def _mark_posted(job: inbox_job.InboxJob, answer: PreparedAnswer, channel: str) -> None:
    """The conversation's members see the answer now, and may use its buttons (``bot.knowledge.get_search_for``)."""
    with job.services.db.session() as session:
        knowledge.mark_search_posted(session, search_log_id=answer.search_log_id, channel_id=channel)


def _tell_in_thread(job: inbox_job.InboxJob, text: str) -> None:
    payload = job.payload
    job.post_once(step="error", channel=str(payload["channel"]), thread_ts=str(payload["thread_ts"]), text=text)


ANSWER_MESSAGE = "answer_message"


@inbox.kind(ANSWER_MESSAGE, tell=_tell_in_thread)
def answer_message(job: inbox_job.InboxJob) -> None:
    """A mention or a DM recorded in the inbox: search, log, post in its thread — each once. A sub-command typed
    there, exactly or nearly (``@wieweet help``, ``@wieweet hlep``), is pointed to ``/wieweet`` instead. In the
    asker's language (``job.language``), not the channel's (``Turn.channel_lang``): the channel can read the answer,
    but it answers one person's question (the README's language rule)."""
    payload = job.payload
    channel, thread_ts = str(payload["channel"]), str(payload["thread_ts"])
    query = question_from_slack(str(payload.get("text") or ""))  # recorded as Slack sent it
    if not query:
        job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=t("query.empty", job.language()))
        return
    meant = meant_command(job.services, query)
    if meant is not None:  # a sub-command typed in a mention or DM (``@wieweet behoefte``): not searched, no gap
        said = t("slack.did_you_mean", job.language(), command=f"/wieweet {meant}")
        job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=said)
        return
    private = job.services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    answer = search_once(job, query=query, channel_id=channel, channel_is_private=private, shown=True)
    if _shared_outside(job, channel):
        _to_asker_alone(job, channel=channel, thread_ts=thread_ts, answer=answer)
        return
    try:
        job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=answer.text, blocks=answer.blocks)
    except SlackApiError as exc:
        if exc.response.get("error") in NOT_POSTABLE:  # removed from the channel meanwhile: nowhere to answer
            return
        raise
    _mark_posted(job, answer, channel)


def _shared_outside(job: inbox_job.InboxJob, channel: str | None) -> bool:
    """Whether people of another organisation read ``channel`` (Slack Connect; unknown: yes)."""
    return job.services.channels.is_shared_outside(client=job.client, channel_id=channel, now=job.now)


def _to_asker_alone(job: inbox_job.InboxJob, *, channel: str, thread_ts: str, answer: PreparedAnswer) -> None:
    """A question asked in a channel shared with another organisation: the answer names the network's people, so
    it goes to the asker alone, never as a channel post — ephemeral in the thread, or a DM where Slack refuses an
    ephemeral (``dm_once``) — with a note why."""
    if job.result.get("responded:answer") or not job.user_id:
        return
    blocks = build_asker_alone_blocks(answer.blocks, job.language())
    try:
        job.client.chat_postEphemeral(
            channel=channel, user=job.user_id, thread_ts=thread_ts, text=answer.text, blocks=blocks
        )
    except SlackApiError as exc:
        if slack_transient(exc):
            raise
        log.info("ephemeral answer in %s refused (%s): sent by DM", channel, exc.response.get("error"))
        job.dm_once(step="answer", text=answer.text, blocks=blocks)
    job.save(**{"responded:answer": True})


def _tell_privately(job: inbox_job.InboxJob, text: str) -> None:
    job.respond_once(step="error", text=text)


ANSWER_COMMAND = "answer_command"


@inbox.kind(ANSWER_COMMAND, tell=_tell_privately)
def answer_command(job: inbox_job.InboxJob) -> None:
    """``/wieweet <question>`` recorded in the inbox: search and log once, answer privately (shareable)."""
    payload = job.payload
    channel = payload.get("channel")
    channel = str(channel) if channel else None
    private = channel is None or job.services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    shareable = not _shared_outside(job, channel)  # not into a channel shared with another organisation
    # typed to the bot and answered ephemerally: nobody else saw it (a later "share" changes nothing)
    answer = search_once(
        job,
        query=str(payload.get("text") or ""),
        channel_id=channel,
        channel_is_private=private,
        shown=False,
        shareable=shareable,
    )
    job.respond_once(step="answer", text=answer.text, blocks=answer.blocks)


ANSWER_SHORTCUT = "answer_shortcut"


@inbox.kind(ANSWER_SHORTCUT, tell=_tell_privately)
def answer_shortcut(job: inbox_job.InboxJob) -> None:
    """The "Wie weet dit?" message shortcut: answered in that message's thread; where the bot may not post, to the
    person privately, saying why."""
    payload = job.payload
    channel, thread_ts = str(payload["channel"]), str(payload["thread_ts"])
    private = job.services.channels.is_private(client=job.client, channel_id=channel, now=job.now)
    answer = search_once(  # the message's text stands in the channel for its members
        job, query=str(payload.get("text") or ""), channel_id=channel, channel_is_private=private, shown=True
    )
    if _shared_outside(job, channel):  # to the person alone, saying why (``_to_asker_alone``)
        job.respond_once(
            step="answer", text=answer.text, blocks=build_asker_alone_blocks(answer.blocks, job.language())
        )
        return
    if not job.result.get("privately") and channel and thread_ts:
        try:
            job.post_once(step="answer", channel=channel, thread_ts=thread_ts, text=answer.text, blocks=answer.blocks)
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_POSTABLE:
                raise
            job.save(privately=True)
        else:
            _mark_posted(job, answer, channel)
            return
    job.respond_once(step="answer", text=answer.text, blocks=answer.blocks)
    job.respond_once(step="why", text=t("slack.not_in_channel", job.language()))


# --- the requests: recorded in the inbox, answered from there ------------------------------------------------------


def command_who_knows(turn: Turn, text: str) -> None:
    """``/wieweet <question>``: recorded in the inbox under the command's trigger id (a retried or replayed command
    is one question) and answered from there, privately, with a button to share it (``answer_command``)."""
    new = inbox.record(
        turn.services,
        request_key=f"cmd:{turn.body.get('trigger_id') or turn.correlation_id}",
        kind_name=ANSWER_COMMAND,
        payload={"text": text, "channel": turn.channel_id, "response_url": turn.body.get("response_url")},
        user_id=turn.user_id,
    )
    turn.outcome = "recorded" if new else "duplicate"


RECORDED = "wieweet_recorded"  # in the Bolt context: what ``record_message`` did with the delivery


def record_message(services: Services) -> Callable[..., BoltResponse | None]:
    """Listener middleware: record a mention or DM in the inbox *before* Bolt acks the event (Bolt acks events
    before any listener runs, and Slack never resends an acked one). The row is the durable record and the dedupe
    claim at once (the message's channel + ts, so the ``app_mention`` and ``message`` deliveries of one message, and
    Slack's retries, make one row, in whichever process). When it cannot be written, the request fails and Slack
    delivers it again. The answer is produced from the row (``answer_message``)."""

    def middleware(body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
        event = body.get("event") or {}
        if addressed_to_the_bot(event):
            new = inbox.record(
                services,
                request_key=f"msg:{event['channel']}:{event['ts']}",
                kind_name=ANSWER_MESSAGE,
                payload={
                    "channel": str(event["channel"]),
                    "thread_ts": str(event.get("thread_ts") or event["ts"]),
                    "text": str(event.get("text") or ""),  # as Slack sent it: decoded by ``answer_message``
                },
                user_id=str(event.get("user") or "") or None,
            )
            context[RECORDED] = "recorded" if new else "duplicate"
        return next()

    return middleware


def handle_message_event(turn: Turn) -> None:
    """A mention or message event: the answer comes from the inbox; this only says what happened to the delivery
    (for the request log)."""
    turn.outcome = str(turn.context.get(RECORDED) or "ignored")


def handle_who_knows_shortcut(turn: Turn) -> None:
    """Message shortcut "Wie weet dit?": recorded in the inbox under the trigger (a replay is one request), *then*
    acked, and answered in the message's thread from there (``answer_shortcut``). Nothing before the ack touches the
    main database or Slack."""
    message = turn.body.get("message") or {}
    query = question_from_slack(str(message.get("text") or ""))
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    if not query:
        turn.ack()  # nothing to record: said after the ack
        if turn.respond is not None:
            turn.respond(text=t("slack.empty_message", turn.lang), response_type="ephemeral")
        return
    new = inbox.record(
        turn.services,
        request_key=f"shortcut:{turn.body.get('trigger_id') or turn.correlation_id}",
        kind_name=ANSWER_SHORTCUT,
        payload={
            "text": query,
            "channel": channel,
            "thread_ts": str(message.get("thread_ts") or message.get("ts") or ""),
            "response_url": turn.body.get("response_url"),
        },
        user_id=turn.user_id,
    )
    turn.ack()
    turn.outcome = "recorded" if new else "duplicate"


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


def handle_share(turn: Turn, search_log_id: int) -> None:
    """Post the asker's (ephemeral) answer visibly in the conversation it was asked in, attributed to them — once,
    across double clicks and crashes: the click (only its search id read, well formed) is recorded in the inbox
    *before* its ack, nothing touching the main database first, and shared from there (``share_answer``, which
    checks that the Slack-signed user may share that search); a replay of the click is a duplicate there."""
    new = inbox.record(
        turn.services,
        request_key=f"share:{search_log_id}:{turn.trigger_id or turn.correlation_id}",
        kind_name=SHARE_ANSWER,
        payload={"search_log_id": search_log_id, "response_url": turn.body.get("response_url")},
        user_id=turn.user_id,
    )
    turn.ack()
    turn.outcome = "recorded" if new else "duplicate"


SHARE_ANSWER = "share_answer"


def _search_to_share(job: inbox_job.InboxJob) -> SearchLog:
    """The search a share click is about, if the user Slack signed the click with may share it (its asker), with
    where it was asked (the database's channel, never the payload's)."""
    with job.services.db.session() as session:
        search_log = knowledge.get_search_for(
            session,
            actor=Actor.slack(job.user_id or "", is_staff=False),  # staff have no say over someone's searches
            search_log_id=int(job.payload["search_log_id"]),
            action=knowledge.SEARCH_SHARE,
        )
        session.expunge(search_log)
    if search_log.channel_id is None:
        raise NotFoundError("channel", t("slack.not_in_channel", job.language()))
    return search_log


def _unshare(job: inbox_job.InboxJob) -> None:
    """A share request ended without its post (given up after its last attempt: Slack failing or rate limiting
    throughout): when it holds the share, the share is given back, so the answer is private again (nobody else may
    act on it) and the next click shares it. Not when the post went out (noted, or found by its marker). Raises when
    it cannot tell (the look-up failed): the worker runs it again later, until it can (``handlers.inbox_end``)."""
    if job.result.get("posted:share"):
        return
    with job.services.db.session() as session:
        # closes the step for this request: when it never claimed the share, it never will (the step notes 0)
        held = inbox_core.once(session, step="shared", request_key=job.key, now=job.now, make=lambda: 0)
    if not held:
        return
    search_log = _search_to_share(job)  # it claimed the share: it was allowed to
    channel = str(search_log.channel_id)
    # Slack refused the post (no ts came back) and no earlier try went out: given back without looking in Slack
    if (
        job.request.post_started_at is not None
        and not job.result.get("unposted:share")
        and (
            marker.find_marked_message(
                job.client,
                channel=channel,
                thread_ts=None,
                key=job.key,
                step="share",
                since=job.request.post_started_at,
            )
            is not None
        )
    ):
        return
    with job.services.db.session() as session:
        knowledge.release_search_share(session, search_log_id=search_log.id, channel_id=channel)
    log.info("share of search %s: given up, the share given back", search_log.id)


@inbox.kind(SHARE_ANSWER, tell=_tell_privately, ended_without=_unshare)
def share_answer(job: inbox_job.InboxJob) -> None:
    """A share click recorded in the inbox: who may share is checked first (the search's asker, by the Slack-signed
    user id; refused and logged otherwise), then the share is claimed on the search (once per request, ``once``: the
    first of two clicks wins) and posted with the request's marker (``post_once``), so a crash at any point ends
    in exactly one post. Where the bot may not post, the claim is given back and the user told why; when the request
    is given up (Slack failed every attempt), the claim is given back too (``_unshare``)."""
    search_log = _search_to_share(job)
    search_log_id, channel = search_log.id, str(search_log.channel_id)
    services = job.services
    if _shared_outside(job, channel):  # the network's people are not shown to another organisation
        job.respond_once(step="why", text=t("slack.share_shared_channel", job.language()))
        return

    with services.db.session() as session:

        def claim() -> int:
            return int(knowledge.claim_search_share(session, search_log_id=search_log_id, channel_id=channel))

        ours = inbox_core.once(session, step="shared", request_key=job.key, now=job.now, make=claim)
    if not ours:
        log.info("share of search %s: outcome=already shared", search_log_id)
        job.delete_original()
        return
    result = services.knowledge.search(search_log.query, now=job.now, limit=SHOWN_PER_LIST)
    view = build_answer_view(
        result, lang=services.settings.default_language, limit=SHOWN_PER_LIST, tz=ZoneInfo(services.settings.timezone)
    )
    blocks = build_answer_blocks(view, search_log_id=search_log_id)
    shared_by = t("slack.shared_by", view.lang, user=user_mention(job.user_id) or "?")
    try:
        job.post_once(step="share", channel=channel, text=f"{answer_fallback_text(view)} ({shared_by})", blocks=blocks)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_POSTABLE:
            raise
        with services.db.session() as session:
            knowledge.release_search_share(session, search_log_id=search_log_id, channel_id=channel)
        job.respond_once(step="why", text=t("slack.not_in_channel", job.language()))
        return
    job.delete_original()


def handle_more(turn: Turn, search_log: SearchLog) -> None:
    result = turn.services.knowledge.search(search_log.query, now=turn.now, limit=MORE_LIMIT)
    view = build_answer_view(result, lang=turn.lang, tz=ZoneInfo(turn.services.settings.timezone))
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
