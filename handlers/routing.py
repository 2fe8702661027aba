"""Question routing in Slack: the ask modal, the expert's buttons, the asker's questions, staff triage.

Thin listeners: ack, parse, call ``RoutingService``, render with ``handlers.routing_blocks``, send. Messages the
service queues in the outbox are sent by ``bot.jobs`` right after the request commits (``turn.queued_messages``).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from slack_bolt import App

from bot.i18n import t
from bot.matching.loader import load_themes
from bot.mrkdwn import escape_truncate, user_mention
from bot.routing import RoutingInputError, RoutingService
from bot.routing import payloads as routing_payloads
from handlers import ids
from handlers.context import Services, Turn, listener
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
    parse_block_id,
    theme_choices,
)
from storage import slack_repo
from storage.models import Question, Routing, Visibility

ASK_WORDS = frozenset({"vraag", "ask", "question"})
MINE_WORDS = frozenset({"mijn vragen", "my questions", "mijn", "mine"})
AWAY = re.compile(r"^(?:afwezig|away)(?:\s+(?:tot|until))?\s+(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)


def _routing(turn: Turn) -> RoutingService:
    return turn.services.routing_service()


def _actor(turn: Turn) -> str:
    return turn.user_id or ""


def _int_value(value: object) -> int:
    text = str(value or "")
    if not text.isdigit():
        raise RoutingInputError("not_found", "missing id")
    return int(text)


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
    metadata = {
        "channel_id": channel or None,
        "thread_ts": message.get("thread_ts") or message.get("ts"),
        "channel_private": not channel.startswith("C"),
    }
    open_ask_modal(turn, text=str(message.get("text") or ""), metadata=metadata)


def handle_ask_experts_button(turn: Turn) -> None:
    turn.ack()
    value = str(turn.action.get("value") or "")
    search_log = slack_repo.get_search_log(turn.session, search_log_id=int(value)) if value.isdigit() else None
    channel = turn.channel_id or ""
    metadata = {"channel_id": channel or None, "thread_ts": None, "channel_private": not channel.startswith("C")}
    open_ask_modal(turn, text=search_log.query if search_log else "", metadata=metadata)


def command_ask(turn: Turn, text: str) -> None:
    channel = turn.channel_id or ""
    metadata = {"channel_id": channel or None, "thread_ts": None, "channel_private": not channel.startswith("C")}
    open_ask_modal(turn, text=text, metadata=metadata)


def _state_value(values: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(action) or {})


def handle_ask_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    metadata = json.loads(view.get("private_metadata") or "{}")
    lang = turn.lang
    text = str(_state_value(values, ids.BLOCK_ASK_TEXT, ids.INPUT_ASK_TEXT).get("value") or "").strip()
    context = str(_state_value(values, ids.BLOCK_ASK_CONTEXT, ids.INPUT_ASK_CONTEXT).get("value") or "")
    theme = (_state_value(values, ids.BLOCK_ASK_THEME, ids.INPUT_ASK_THEME).get("selected_option") or {}).get("value")
    raw_date = _state_value(values, ids.BLOCK_ASK_DATE, ids.INPUT_ASK_DATE).get("selected_date")
    visibility_value = (
        _state_value(values, ids.BLOCK_ASK_VISIBILITY, ids.INPUT_ASK_VISIBILITY).get("selected_option") or {}
    ).get("value") or "public"
    desired = date.fromisoformat(raw_date) if raw_date else None
    errors: dict[str, str] = {}
    if not text:
        errors[ids.BLOCK_ASK_TEXT] = t("error.empty_question", lang)
    if desired is not None and desired < _routing(turn).calendar.local(turn.now).date():
        errors[ids.BLOCK_ASK_DATE] = t("error.desired_date_past", lang)
    if errors:
        turn.ack(response_action="errors", errors=errors)
        return
    turn.ack()
    visibility = Visibility(visibility_value)
    channel_id = metadata.get("channel_id")
    thread_ts = metadata.get("thread_ts")
    channel_private = bool(metadata.get("channel_private"))
    asker = slack_repo.get_slack_user(turn.session, slack_user_id=_actor(turn))
    asker_name = (
        asker.name if asker is not None and asker.name else str((turn.body.get("user") or {}).get("name") or "")
    )
    if visibility is not Visibility.PUBLIC or channel_private:
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
    _routing(turn).cancel(
        turn.session, question_id=_int_value(turn.action.get("value")), actor_slack_id=_actor(turn), now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.cancelled", turn.lang))


def handle_add_info_button(turn: Turn) -> None:
    turn.ack()
    question_id = _int_value(turn.action.get("value"))
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
    turn.ack()
    question_id = int(json.loads(view.get("private_metadata") or "{}").get("question_id") or 0)
    _routing(turn).add_information(
        turn.session, question_id=question_id, actor_slack_id=_actor(turn), text=text, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.info_added", turn.lang))


def handle_resolve(turn: Turn) -> None:
    turn.ack()
    _routing(turn).resolve(
        turn.session, question_id=_int_value(turn.action.get("value")), actor_slack_id=_actor(turn), now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.resolved", turn.lang))


def handle_rate(turn: Turn) -> None:
    turn.ack()
    action = turn.action
    stars = int(str(action.get("action_id") or "")[len(ids.ACTION_RATE_PREFIX) :] or 0)
    _routing(turn).rate(
        turn.session,
        question_id=_int_value(action.get("value")),
        actor_slack_id=_actor(turn),
        stars=stars,
        now=turn.now,
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
    action = turn.action
    from_block = parse_block_id(action.get("block_id"), ids.BLOCK_ROUTING_ACTIONS)
    return from_block if from_block is not None else _int_value(action.get("value"))


def _update_dm(turn: Turn, routing: Routing, *, state: str, status: str) -> None:
    """Re-render the DM that was clicked so its buttons match the routing's new state."""
    container = turn.body.get("container") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not (channel and ts):
        return
    question = routing.question
    payload = {
        **routing_payloads.expert_question(question, _routing(turn).additions(turn.session, question)),
        **routing_payloads.routing_fields(routing),
    }
    rendered = build_expert_request(payload, turn.lang, state=state, status=status)
    turn.client.chat_update(channel=str(channel), ts=str(ts), text=rendered.text, blocks=rendered.blocks)


def handle_claim(turn: Turn) -> None:
    turn.ack()
    routing = _routing(turn).claim(
        turn.session, routing_id=_routing_id(turn), actor_slack_id=_actor(turn), now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    _update_dm(turn, routing, state=STATE_CLAIMED, status=t("routing.state_claimed", turn.lang))


def handle_snooze(turn: Turn) -> None:
    turn.ack()
    routing_id = _routing_id(turn)
    until = _routing(turn).snooze(turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), now=turn.now)
    routing = _routing(turn).list_my_routings(turn.session, slack_user_id=_actor(turn))
    current = next((r for r in routing if r.id == routing_id), None)
    if current is not None:
        local = _routing(turn).calendar.local(until)
        _update_dm(
            turn,
            current,
            state=STATE_SNOOZED,
            status=t("routing.state_snoozed", turn.lang, date=local.strftime("%Y-%m-%d %H:%M")),
        )


def handle_decline_button(turn: Turn) -> None:
    turn.ack()
    container = turn.body.get("container") or {}
    metadata = {"channel_id": container.get("channel_id"), "message_ts": container.get("message_ts")}
    view = build_decline_modal(turn.lang, routing_id=_routing_id(turn), metadata=metadata)
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def _update_dm_from_metadata(turn: Turn, metadata: dict[str, Any], routing: Routing, *, status: str) -> None:
    if metadata.get("channel_id") and metadata.get("message_ts"):
        turn.body["container"] = {"channel_id": metadata["channel_id"], "message_ts": metadata["message_ts"]}
        _update_dm(turn, routing, state=STATE_DONE, status=status)


def handle_decline_submission(turn: Turn) -> None:
    turn.ack()
    view = turn.body.get("view") or {}
    metadata = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    reason = str(_state_value(values, ids.BLOCK_DECLINE_REASON, ids.INPUT_DECLINE_REASON).get("value") or "")
    routing = _routing(turn).decline(
        turn.session, routing_id=int(metadata["routing_id"]), actor_slack_id=_actor(turn), now=turn.now, reason=reason
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    _update_dm_from_metadata(turn, metadata, routing, status=t("routing.state_declined", turn.lang))


def handle_forward(turn: Turn) -> None:
    turn.ack()
    action = turn.action
    to = str(action.get("selected_user") or "")
    routing_id = _routing_id(turn)
    _routing(turn).forward(
        turn.session, routing_id=routing_id, actor_slack_id=_actor(turn), to_slack_id=to, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    old = next(
        (
            r
            for r in _routing(turn).list_my_routings(turn.session, slack_user_id=_actor(turn), open_only=False)
            if r.id == routing_id
        ),
        None,
    )
    if old is not None:
        _update_dm(
            turn, old, state=STATE_DONE, status=t("routing.state_forwarded", turn.lang, name=user_mention(to) or "?")
        )


def handle_answer_button(turn: Turn) -> None:
    turn.ack()
    routing_id = _routing_id(turn)
    container = turn.body.get("container") or {}
    metadata = {"channel_id": container.get("channel_id"), "message_ts": container.get("message_ts")}
    message = turn.body.get("message") or {}
    question = ""
    for block in message.get("blocks") or []:
        text = ((block.get("text") or {}).get("text")) if isinstance(block, dict) else None
        if text:
            question = str(text)
            if "\n" in question:
                question = question.split("\n", 1)[1]
                break
    view = build_answer_modal(turn.lang, routing_id=routing_id, question=question.lstrip("> "), metadata=metadata)
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_answer_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    metadata = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    text = str(_state_value(values, ids.BLOCK_ANSWER_TEXT, ids.INPUT_ANSWER_TEXT).get("value") or "").strip()
    if not text:
        turn.ack(response_action="errors", errors={ids.BLOCK_ANSWER_TEXT: t("error.empty_answer", turn.lang)})
        return
    turn.ack()
    answer = _routing(turn).answer(
        turn.session, routing_id=int(metadata["routing_id"]), actor_slack_id=_actor(turn), text=text, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    routing = next((r for r in answer.question.routings if r.id == int(metadata["routing_id"])), None)
    if routing is not None:
        _update_dm_from_metadata(turn, metadata, routing, status=t("routing.state_answered", turn.lang))


# --- staff triage ------------------------------------------------------------------------------------------------


def _question_id(turn: Turn) -> int:
    action = turn.action
    from_block = parse_block_id(action.get("block_id"), ids.BLOCK_TRIAGE_ACTIONS)
    return from_block if from_block is not None else _int_value(action.get("value"))


def handle_triage_assign(turn: Turn) -> None:
    turn.ack()
    staff = _actor(turn)
    to = str(turn.action.get("selected_user") or "")
    _routing(turn).staff_assign(
        turn.session, question_id=_question_id(turn), to_slack_id=to, actor=turn.actor, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.triage_assigned", turn.lang, staff=user_mention(staff) or "?", name=user_mention(to) or "?"))


def handle_triage_close_button(turn: Turn) -> None:
    turn.ack()
    turn.actor.require_staff("close a question")  # no modal for non-staff; the service checks again on submit
    container = turn.body.get("container") or {}
    metadata = {"channel_id": container.get("channel_id"), "message_ts": container.get("message_ts")}
    view = build_triage_close_modal(turn.lang, question_id=_question_id(turn), metadata=metadata)
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_triage_close_submission(turn: Turn) -> None:
    turn.ack()
    staff = _actor(turn)
    view = turn.body.get("view") or {}
    metadata = json.loads(view.get("private_metadata") or "{}")
    values = (view.get("state") or {}).get("values") or {}
    note = str(_state_value(values, ids.BLOCK_TRIAGE_NOTE, ids.INPUT_TRIAGE_NOTE).get("value") or "")
    _routing(turn).staff_close(
        turn.session, question_id=int(metadata["question_id"]), actor=turn.actor, note=note, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    if metadata.get("channel_id") and metadata.get("message_ts"):
        turn.client.chat_postMessage(
            channel=str(metadata["channel_id"]),
            thread_ts=str(metadata["message_ts"]),
            text=t("routing.triage_closed", turn.lang, staff=user_mention(staff) or "?"),
        )


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
