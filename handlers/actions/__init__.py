"""Buttons on a "who knows" answer: share in the channel, more results, 👍/👎.

The search log id in a button is a claim: ``bot.knowledge.get_search_for`` checks it against the database for the
clicking user (the asker, or a member of the conversation where the answer was posted) before anything is shown.
"""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import knowledge
from bot.errors import NotFoundError
from bot.i18n import t
from bot.mrkdwn import escape_truncate, user_mention
from bot.presenter import build_answer_view
from handlers import claims, ids
from handlers.blocks import SHOWN_PER_LIST, answer_fallback_text, build_answer_blocks, build_more_blocks
from handlers.context import Services, Turn, listener
from handlers.whoknows import NOT_POSTABLE
from storage.models import SearchLog

MORE_LIMIT = 8


def member_of(turn: Turn) -> knowledge.MemberOf:
    """Slack's answer to "is the clicking user in this conversation" (for answers posted where others see them)."""
    return turn.is_channel_member


def search_for(turn: Turn, action: str) -> SearchLog:
    """The search a button on an answer is about, checked for the clicking user (refused otherwise)."""
    search_log_id = claims.clicked_id(turn.body, what="search log")
    return knowledge.get_search_for(
        turn.session, actor=turn.actor, search_log_id=search_log_id, action=action, member_of=member_of(turn)
    )


def handle_share(turn: Turn) -> None:
    """Post the asker's (ephemeral) answer visibly in the conversation it was asked in, attributed to them."""
    turn.ack()
    search_log = search_for(turn, knowledge.SEARCH_SHARE)
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


def handle_more(turn: Turn) -> None:
    turn.ack()
    search_log = search_for(turn, knowledge.SEARCH_MORE)
    result = turn.services.knowledge.search(search_log.query, now=turn.now, limit=MORE_LIMIT)
    view = build_answer_view(result, lang=turn.lang)
    if turn.respond is not None:
        turn.respond(
            text=t("slack.more_title", turn.lang, query=escape_truncate(search_log.query, 200)),
            blocks=build_more_blocks(view, offset=SHOWN_PER_LIST),
            response_type="ephemeral",
            replace_original=False,
        )


def _vote(turn: Turn, vote: int) -> None:
    turn.ack()
    knowledge.record_feedback(
        turn.session,
        actor=turn.actor,
        search_log_id=claims.clicked_id(turn.body, what="search log"),
        vote=vote,
        now=turn.now,
        member_of=member_of(turn),
    )
    if turn.respond is not None:
        turn.respond(text=t("slack.feedback_thanks", turn.lang), response_type="ephemeral", replace_original=False)


def handle_feedback_up(turn: Turn) -> None:
    _vote(turn, +1)


def handle_feedback_down(turn: Turn) -> None:
    _vote(turn, -1)


def register(app: App, services: Services) -> None:
    app.action(ids.ACTION_SHARE)(listener(services, "action", handle_share))
    app.action(ids.ACTION_MORE)(listener(services, "action", handle_more))
    app.action(ids.ACTION_FEEDBACK_UP)(listener(services, "action", handle_feedback_up))
    app.action(ids.ACTION_FEEDBACK_DOWN)(listener(services, "action", handle_feedback_down))
