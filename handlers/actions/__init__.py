"""Buttons on a "who knows" answer: share in the channel, more results, 👍/👎."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.errors import NotFoundError
from bot.i18n import t
from bot.mrkdwn import user_mention
from bot.presenter import build_answer_view
from handlers import ids
from handlers.blocks import SHOWN_PER_LIST, answer_fallback_text, build_answer_blocks, build_more_blocks
from handlers.context import Services, Turn, listener
from handlers.whoknows import NOT_POSTABLE
from storage import slack_repo

MORE_LIMIT = 8


def _clicked_value(turn: Turn) -> str:
    actions = turn.body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _search_log_query(turn: Turn) -> tuple[int, str]:
    value = _clicked_value(turn)
    log_id = int(value) if value.isdigit() else 0
    search_log = slack_repo.get_search_log(turn.session, search_log_id=log_id) if log_id else None
    if search_log is None:
        raise NotFoundError("search_log", t("slack.expired", turn.lang))
    return search_log.id, search_log.query


def handle_share(turn: Turn) -> None:
    """Post the (ephemeral) answer visibly in the channel, attributed to the person who shares it."""
    turn.ack()
    log_id, query = _search_log_query(turn)
    result = turn.services.knowledge.search(query, now=turn.now, limit=SHOWN_PER_LIST)
    channel = turn.channel_id
    view = build_answer_view(result, lang=turn.services.settings.default_language, limit=SHOWN_PER_LIST)
    blocks = build_answer_blocks(view, search_log_id=log_id)
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
    if turn.respond is not None:
        turn.respond(delete_original=True)


def handle_more(turn: Turn) -> None:
    turn.ack()
    _log_id, query = _search_log_query(turn)
    result = turn.services.knowledge.search(query, now=turn.now, limit=MORE_LIMIT)
    view = build_answer_view(result, lang=turn.lang)
    if turn.respond is not None:
        turn.respond(
            text=t("slack.more_title", turn.lang, query=query[:200]),
            blocks=build_more_blocks(view, offset=SHOWN_PER_LIST),
            response_type="ephemeral",
            replace_original=False,
        )


def _vote(turn: Turn, vote: int) -> None:
    turn.ack()
    log_id, _query = _search_log_query(turn)
    slack_repo.upsert_feedback(
        turn.session, search_log_id=log_id, user_slack_id=turn.user_id or "", vote=vote, now=turn.now
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
