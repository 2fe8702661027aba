"""Question routing in Slack: the ask modal, the expert's buttons, the asker's questions, staff triage.

Thin listeners: ack, parse, call ``RoutingService``, render with ``handlers.routing_blocks``, send. Messages the
service queues in the outbox are sent by ``bot.jobs`` right after the request commits (``turn.queued_messages``).
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial
from typing import Any

from slack_bolt import App

from bot import knowledge
from bot.actors import NotAuthorized
from bot.errors import WieweetError
from bot.i18n import t
from bot.matching.loader import load_themes
from bot.mrkdwn import escape_truncate, user_mention
from bot.routing import RoutingInputError, RoutingService
from handlers import claims, ids
from handlers.context import Services, Turn, listener
from handlers.errors import refuse_in_form
from handlers.routing_blocks import (
    STATE_CLAIMED,
    STATE_DONE,
    STATE_SNOOZED,
    MyQuestion,
    build_add_info_modal,
    build_answer_modal,
    build_ask_modal,
    build_decline_modal,
    build_expert_request,
    build_my_questions,
    build_triage_close_modal,
    theme_choices,
)
from storage import slack_repo
from storage.models import Question, Routing, Visibility

ASK_WORDS = frozenset({"vraag", "ask", "question"})
MINE_WORDS = frozenset({"mijn vragen", "my questions", "mijn", "mine"})
ASKER_BLOCKS = ("rate", "resolve", "my")  # block ids "<prefix>:<question id>" on the asker's buttons
AWAY = re.compile(r"^(?:afwezig|away)(?:\s+(?:tot|until))?\s+(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)


def _routing(turn: Turn) -> RoutingService:
    return turn.services.routing_service()


def _actor(turn: Turn) -> str:
    return turn.user_id or ""


def _question_ref(turn: Turn) -> int:
    """The question a button of the asker is about (its value; "rate:<id>"/"resolve:<id>"/"my:<id>" block ids)."""
    return claims.clicked_id(turn.body, what="question", block_prefixes=ASKER_BLOCKS)


# --- asking ------------------------------------------------------------------------------------------------------


def open_ask_modal(turn: Turn, *, text: str, metadata: dict[str, Any]) -> None:
    """Open the modal at once (the trigger expires in 3 s), then pre-select the recognised theme."""
    lang = turn.lang
    themes = theme_choices(load_themes(turn.session), lang)
    view = build_ask_modal(lang, text=text, themes=themes, theme_key=None, metadata=metadata)
    opened = turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)
    if not text.strip():
        return
    result = turn.services.knowledge.search(text, now=turn.now, limit=1)
    if not result.themes:
        return
    updated = build_ask_modal(lang, text=text, themes=themes, theme_key=result.themes[0], metadata=metadata)
    view_info = opened.get("view") or {}
    turn.client.views_update(view_id=str(view_info.get("id")), hash=view_info.get("hash"), view=updated)


def handle_ask_shortcut(turn: Turn) -> None:
    turn.ack()
    message = turn.body.get("message") or {}
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    metadata = {"channel_id": channel or None, "thread_ts": message.get("thread_ts") or message.get("ts")}
    open_ask_modal(turn, text=str(message.get("text") or ""), metadata=metadata)


def handle_ask_experts_button(turn: Turn) -> None:
    turn.ack()
    search_log = knowledge.get_search_for(
        turn.session,
        actor=turn.actor,
        search_log_id=claims.clicked_id(turn.body, what="search log"),
        action=knowledge.SEARCH_ASK,
        member_of=turn.is_channel_member,
    )
    metadata = {"channel_id": turn.channel_id or None, "thread_ts": None}
    open_ask_modal(turn, text=search_log.query, metadata=metadata)


def command_ask(turn: Turn, text: str) -> None:
    open_ask_modal(turn, text=text, metadata={"channel_id": turn.channel_id or None, "thread_ts": None})


def _state_value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(action) or {})


def handle_ask_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    lang = turn.lang
    text = str(_state_value(values, ids.BLOCK_ASK_TEXT, ids.INPUT_ASK_TEXT).get("value") or "").strip()
    context = str(_state_value(values, ids.BLOCK_ASK_CONTEXT, ids.INPUT_ASK_CONTEXT).get("value") or "")
    theme = (_state_value(values, ids.BLOCK_ASK_THEME, ids.INPUT_ASK_THEME).get("selected_option") or {}).get("value")
    raw_date = _state_value(values, ids.BLOCK_ASK_DATE, ids.INPUT_ASK_DATE).get("selected_date")
    visibility_value = (
        _state_value(values, ids.BLOCK_ASK_VISIBILITY, ids.INPUT_ASK_VISIBILITY).get("selected_option") or {}
    ).get("value") or "public"
    try:
        metadata = claims.view_metadata(turn.body)
        channel_id = claims.channel_id(metadata.get("channel_id"))
        thread_ts = claims.message_ts(metadata.get("thread_ts"))
        visibility = Visibility(visibility_value)
        desired = date.fromisoformat(raw_date) if raw_date else None
    except NotAuthorized as exc:
        refuse_in_form(turn, exc, ids.BLOCK_ASK_TEXT)
        return
    except ValueError:
        refuse_in_form(turn, claims.malformed("question form value", visibility_value), ids.BLOCK_ASK_TEXT)
        return
    errors: dict[str, str] = {}
    if not text:
        errors[ids.BLOCK_ASK_TEXT] = t("error.empty_question", lang)
    if desired is not None and desired < _routing(turn).calendar.local(turn.now).date():
        errors[ids.BLOCK_ASK_DATE] = t("error.desired_date_past", lang)
    if errors:
        turn.ack(response_action="errors", errors=errors)
        return
    # Where it was asked is a claim too: privacy comes from Slack, and the bot only posts (or answers) in a channel
    # the asker is a member of.
    channel_private = channel_id is None or turn.channel_is_private(channel_id)
    shown_in_channel = visibility is Visibility.PUBLIC and not channel_private
    if channel_id and shown_in_channel and not turn.is_channel_member(channel_id):
        refusal = NotAuthorized("ask a question in a channel one is not in", target=f"channel:{channel_id}")
        refuse_in_form(turn, refusal, ids.BLOCK_ASK_TEXT)
        return
    turn.ack()
    asker = slack_repo.get_slack_user(turn.session, slack_user_id=_actor(turn))
    asker_name = (
        asker.name if asker is not None and asker.name else str((turn.body.get("user") or {}).get("name") or "")
    )
    if not shown_in_channel:
        channel_id = channel_id if visibility is Visibility.PUBLIC else None
        thread_ts = thread_ts if visibility is Visibility.PUBLIC else None
    elif channel_id and not thread_ts:
        # A public question from a channel gets a message there, so the answer comes in its thread.
        posted = turn.client.chat_postMessage(
            channel=channel_id,
            text=t(
                "routing.posted_question",
                lang,
                name=user_mention(_actor(turn)) or "?",
                question="> " + escape_truncate(text, 2500).replace("\n", "\n> "),
            ),
        )
        thread_ts = str(posted.get("ts") or "") or None
    question = _routing(turn).ask_question(
        turn.session,
        asker_slack_id=_actor(turn),
        asker_name=asker_name,
        text=text,
        context=context,
        theme_keys=[theme] if theme else [],
        desired_by=desired,
        visibility=visibility,
        channel_id=channel_id,
        channel_is_private=channel_private,
        thread_ts=thread_ts,
        language=lang,
        now=turn.now,
    )
    # The confirmation naming who was asked (or that staff take it up) is the outbox's ASKER_UPDATE, sent as a DM
    # right after this request commits: one message, also when the question is escalated.
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.context["wieweet_outcome"] = f"asked q{question.id}"


# --- the asker's own questions -----------------------------------------------------------------------------------


def command_mine(turn: Turn) -> None:
    questions = _routing(turn).list_my_questions(turn.session, asker_slack_id=_actor(turn), limit=15)
    blocks = build_my_questions([_my(q) for q in questions], turn.lang)
    assert turn.respond is not None
    turn.respond(text=t("routing.my_title", turn.lang), blocks=blocks, response_type="ephemeral")


def _my(question: Question) -> MyQuestion:
    return MyQuestion(
        id=question.id,
        text=question.text,
        status=question.status,
        created=question.created_at.date().isoformat(),
        answered=bool(question.answers),
        rating=question.rating,
    )


def handle_cancel(turn: Turn) -> None:
    turn.ack()
    _routing(turn).cancel(turn.session, question_id=_question_ref(turn), actor_slack_id=_actor(turn), now=turn.now)
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.cancelled", turn.lang))


def handle_add_info_button(turn: Turn) -> None:
    turn.ack()
    question_id = _question_ref(turn)
    question = _routing(turn).get_own_question(turn.session, question_id=question_id, asker_slack_id=_actor(turn))
    view = build_add_info_modal(turn.lang, question_id=question_id, question=question.text)
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_add_info_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    text = str(_state_value(values, ids.BLOCK_ADD_INFO, ids.INPUT_ADD_INFO).get("value") or "").strip()
    if not text:
        turn.ack(response_action="errors", errors={ids.BLOCK_ADD_INFO: t("error.empty_information", turn.lang)})
        return
    try:
        question_id = claims.metadata_id(claims.view_metadata(turn.body), "question_id", what="question")
        _routing(turn).add_information(
            turn.session, question_id=question_id, actor_slack_id=_actor(turn), text=text, now=turn.now
        )
    except WieweetError as exc:  # not theirs, closed meanwhile: said on the form; nothing was written
        refuse_in_form(turn, exc, ids.BLOCK_ADD_INFO)
        return
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.info_added", turn.lang))


def handle_resolve(turn: Turn) -> None:
    turn.ack()
    _routing(turn).resolve(turn.session, question_id=_question_ref(turn), actor_slack_id=_actor(turn), now=turn.now)
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.resolved", turn.lang))


def handle_rate(turn: Turn) -> None:
    turn.ack()
    action = turn.action
    stars = int(str(action.get("action_id") or "")[len(ids.ACTION_RATE_PREFIX) :] or 0)
    _routing(turn).rate(
        turn.session, question_id=_question_ref(turn), actor_slack_id=_actor(turn), stars=stars, now=turn.now
    )
    turn.tell(t("routing.rated", turn.lang, stars="⭐" * stars))


def command_away(turn: Turn, until: str) -> None:
    try:
        day = date.fromisoformat(until)
    except ValueError:
        raise RoutingInputError("away_date_past", t("routing.away_usage", turn.lang)) from None
    _routing(turn).set_away(turn.session, slack_user_id=_actor(turn), until=day, now=turn.now)
    turn.home_changed(turn.user_id)
    assert turn.respond is not None
    turn.respond(text=t("routing.away_set", turn.lang, date=day.isoformat()), response_type="ephemeral")


def route_command(turn: Turn, text: str) -> bool:
    """Handle a routing sub-command of ``/wieweet``; False when ``text`` is not one."""
    head, _, rest = text.partition(" ")
    if head.casefold() in ASK_WORDS:
        command_ask(turn, rest.strip())
        return True
    if text.casefold() in MINE_WORDS:
        command_mine(turn)
        return True
    away = AWAY.match(text)
    if away:
        command_away(turn, away.group(1))
        return True
    return False


# --- the expert's buttons ----------------------------------------------------------------------------------------


def _routing_id(turn: Turn) -> int:
    return claims.clicked_id(turn.body, what="routing", block_prefixes=(ids.BLOCK_ROUTING_ACTIONS,))


def _update_requests(turn: Turn, routing: Routing, *, state: str, status: str) -> None:
    """Re-render the DMs that asked this expert (the database's, not the clicked container) to the new state."""
    payload = _routing(turn).request_payload(turn.session, routing)
    rendered = build_expert_request(payload, turn.lang, state=state, status=status)
    refs = _routing(turn).request_messages(turn.session, routing)
    turn.update_messages(refs, rendered.text, rendered.blocks, about=f"routing:{routing.id}")


def handle_claim(turn: Turn) -> None:
    turn.ack()
    routing = _routing(turn).claim(
        turn.session, routing_id=_routing_id(turn), actor_slack_id=_actor(turn), now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    _update_requests(turn, routing, state=STATE_CLAIMED, status=t("routing.state_claimed", turn.lang))


def handle_snooze(turn: Turn) -> None:
    turn.ack()
    routing_id = _routing_id(turn)
    until = _routing(turn).snooze(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), now=turn.now)
    routing = _routing(turn).get_routing_for(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn))
    local = _routing(turn).calendar.local(until)
    status = t("routing.state_snoozed", turn.lang, date=local.strftime("%Y-%m-%d %H:%M"))
    _update_requests(turn, routing, state=STATE_SNOOZED, status=status)


def handle_decline_button(turn: Turn) -> None:
    turn.ack()
    routing = _routing(turn).get_routing_for(
        turn.session, routing_id=_routing_id(turn), actor_slack_id=_actor(turn), actionable=True
    )
    view = build_decline_modal(turn.lang, routing_id=routing.id, metadata={})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_decline_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    reason = str(_state_value(values, ids.BLOCK_DECLINE_REASON, ids.INPUT_DECLINE_REASON).get("value") or "")
    try:
        routing_id = claims.metadata_id(claims.view_metadata(turn.body), "routing_id", what="routing")
        routing = _routing(turn).decline(
            turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), now=turn.now, reason=reason
        )
    except WieweetError as exc:  # not theirs, answered meanwhile: said on the form; nothing was written
        refuse_in_form(turn, exc, ids.BLOCK_DECLINE_REASON)
        return
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    _update_requests(turn, routing, state=STATE_DONE, status=t("routing.state_declined", turn.lang))


def handle_forward(turn: Turn) -> None:
    turn.ack()
    to = str(turn.action.get("selected_user") or "")
    routing_id = _routing_id(turn)
    _routing(turn).forward(
        turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), to_slack_id=to, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    old = _routing(turn).get_routing_for(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn))
    status = t("routing.state_forwarded", turn.lang, name=user_mention(to) or "?")
    _update_requests(turn, old, state=STATE_DONE, status=status)


def handle_answer_button(turn: Turn) -> None:
    turn.ack()
    routing = _routing(turn).get_routing_for(
        turn.session, routing_id=_routing_id(turn), actor_slack_id=_actor(turn), actionable=True
    )
    # the question as stored, not as the clicked message shows it
    view = build_answer_modal(turn.lang, routing_id=routing.id, question=routing.question.text, metadata={})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_answer_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    text = str(_state_value(values, ids.BLOCK_ANSWER_TEXT, ids.INPUT_ANSWER_TEXT).get("value") or "").strip()
    if not text:
        turn.ack(response_action="errors", errors={ids.BLOCK_ANSWER_TEXT: t("error.empty_answer", turn.lang)})
        return
    try:
        routing_id = claims.metadata_id(claims.view_metadata(turn.body), "routing_id", what="routing")
        answer = _routing(turn).answer(
            turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), text=text, now=turn.now
        )
    except WieweetError as exc:  # not theirs, taken or answered meanwhile: said on the form; nothing written
        refuse_in_form(turn, exc, ids.BLOCK_ANSWER_TEXT)
        return
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    routing = next((r for r in answer.question.routings if r.id == routing_id), None)
    if routing is not None:
        _update_requests(turn, routing, state=STATE_DONE, status=t("routing.state_answered", turn.lang))


# --- staff triage ------------------------------------------------------------------------------------------------


def _triage_question_id(turn: Turn) -> int:
    return claims.clicked_id(turn.body, what="question", block_prefixes=(ids.BLOCK_TRIAGE_ACTIONS,))


def handle_triage_assign(turn: Turn) -> None:
    turn.ack()
    staff = _actor(turn)
    to = str(turn.action.get("selected_user") or "")
    _routing(turn).staff_assign(
        turn.session, question_id=_triage_question_id(turn), to_slack_id=to, actor=turn.actor, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.triage_assigned", turn.lang, staff=user_mention(staff) or "?", name=user_mention(to) or "?"))


def handle_triage_close_button(turn: Turn) -> None:
    turn.ack()
    question_id = _triage_question_id(turn)
    # no modal for non-staff; the service checks again on submit
    turn.actor.require_staff("close a question", target=f"question:{question_id}")
    view = build_triage_close_modal(turn.lang, question_id=question_id, metadata={})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_triage_close_submission(turn: Turn) -> None:
    staff = _actor(turn)
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    note = str(_state_value(values, ids.BLOCK_TRIAGE_NOTE, ids.INPUT_TRIAGE_NOTE).get("value") or "")
    try:
        question_id = claims.metadata_id(claims.view_metadata(turn.body), "question_id", what="question")
        _routing(turn).staff_close(turn.session, question_id=question_id, actor=turn.actor, note=note, now=turn.now)
    except WieweetError as exc:  # not staff, closed meanwhile: said on the form; nothing was written
        refuse_in_form(turn, exc, ids.BLOCK_TRIAGE_NOTE)
        return
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    # a note in the thread of the staff message about this question (the database's, not the modal's claim)
    text = t("routing.triage_closed", turn.lang, staff=user_mention(staff) or "?")
    for ref in _routing(turn).triage_messages(turn.session, question_id=question_id)[:1]:
        turn.after_commit(
            partial(_post_in_thread, turn, channel=ref["channel_id"], thread_ts=ref["message_ts"], text=text)
        )


def _post_in_thread(turn: Turn, *, channel: str, thread_ts: str, text: str) -> None:
    turn.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)


def register(app: App, services: Services) -> None:
    if services.routing is None:
        return
    app.shortcut(ids.SHORTCUT_ASK_EXPERT)(listener(services, "shortcut", handle_ask_shortcut))
    app.action(ids.ACTION_ASK_EXPERTS)(listener(services, "action", handle_ask_experts_button))
    app.view(ids.VIEW_ASK)(listener(services, "view", handle_ask_submission))
    app.action(ids.ACTION_CANCEL_QUESTION)(listener(services, "action", handle_cancel))
    app.action(ids.ACTION_RESOLVE_QUESTION)(listener(services, "action", handle_resolve))
    app.action(ids.ACTION_ADD_INFO)(listener(services, "action", handle_add_info_button))
    app.view(ids.VIEW_ADD_INFO)(listener(services, "view", handle_add_info_submission))
    app.action(re.compile(ids.ACTION_RATE_PATTERN))(listener(services, "action", handle_rate))
    app.action(ids.ACTION_CLAIM)(listener(services, "action", handle_claim))
    app.action(ids.ACTION_SNOOZE)(listener(services, "action", handle_snooze))
    app.action(ids.ACTION_DECLINE)(listener(services, "action", handle_decline_button))
    app.view(ids.VIEW_DECLINE)(listener(services, "view", handle_decline_submission))
    app.action(ids.ACTION_FORWARD)(listener(services, "action", handle_forward))
    app.action(ids.ACTION_ANSWER)(listener(services, "action", handle_answer_button))
    app.view(ids.VIEW_ANSWER)(listener(services, "view", handle_answer_submission))
    app.action(ids.ACTION_TRIAGE_ASSIGN)(listener(services, "action", handle_triage_assign))
    app.action(ids.ACTION_TRIAGE_CLOSE)(listener(services, "action", handle_triage_close_button))
    app.view(ids.VIEW_TRIAGE_CLOSE)(listener(services, "view", handle_triage_close_submission))
