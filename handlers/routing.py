"""Question routing in Slack: the ask modal, the asker's questions, staff triage (the expert's buttons on a request
DM: ``handlers.expert_requests``).

Thin listeners: the wrapper (``handlers.listener``) has acknowledged the request and parsed its subject or form; a
handler calls ``RoutingService`` (which checks the acting user against the database), renders with
``handlers.blocks.routing`` (messages) and ``handlers.blocks.modals`` (forms) and sends. Messages the service queues
in the outbox go out right after the commit.
"""

from __future__ import annotations

import logging
import re
from datetime import date, tzinfo
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError

from bot import asking, directory
from bot import inbox as inbox_core
from bot.errors import QueryError
from bot.i18n import format_date, local_day, t
from bot.knowledge import searchable_start
from bot.matching.loader import load_themes
from bot.register.marked import DEACTIVATED
from bot.routing import RoutingInputError, RoutingService
from bot.routing.states import no_longer_quoted
from handlers import claims, ids, inbox, inbox_job, staff_posts
from handlers.blocks.modals import (
    build_add_info_modal,
    build_ask_modal,
    build_triage_close_modal,
)
from handlers.blocks.routing import (
    MyQuestion,
    build_assign_away,
    build_my_questions,
)
from handlers.claims import UserPick
from handlers.deactivated import account_admitted
from handlers.errors import user_message
from handlers.forms import AddInfoForm, AnswerForm, AskForm, Draft, TriageCloseForm
from handlers.home import publish_homes
from handlers.kit import escape_truncate, theme_choices, user_mention
from handlers.needs_refresh import refresh_in_turn, show_proposal_updates
from handlers.slack_text import question_from_slack
from handlers.staff_posts import update_staff_posts
from handlers.turn import Turn
from storage.models import Question, SearchLog, Visibility

log = logging.getLogger(__name__)

ASK_WORDS = frozenset({"vraag", "ask", "question"})
MINE_WORDS = frozenset({"mijn vragen", "my questions", "mijn", "mine"})
AWAY = re.compile(r"^(?:afwezig|away)(?:\s+(?:tot|until))?\s+(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE | re.ASCII)


def _routing(turn: Turn) -> RoutingService:
    return turn.services.routing_service()


def _actor(turn: Turn) -> str:
    return turn.user_id or ""


# --- asking ------------------------------------------------------------------------------------------------------


def open_ask_modal(turn: Turn, *, text: str, metadata: dict[str, Any]) -> None:
    """Open the modal at once (the trigger expires in 3 s), then pre-select the recognised theme."""
    lang = turn.lang
    themes = theme_choices(load_themes(turn.session), lang)
    view = build_ask_modal(lang, text=text, themes=themes, theme_key=None, metadata=metadata)
    opened = turn.client.views_open(trigger_id=turn.trigger_id, view=view)
    if not text.strip():
        return
    try:  # on the text's start: a long question is not refused here (``searchable_start``), and nothing is said
        result = turn.services.knowledge.search(searchable_start(text), now=turn.now, limit=1)
    except QueryError:  # no words to search: nothing to pre-select
        return
    if not result.themes:
        return
    updated = build_ask_modal(lang, text=text, themes=themes, theme_key=result.themes[0], metadata=metadata)
    view_info = opened.get("view") or {}
    try:
        turn.client.views_update(view_id=str(view_info.get("id")), hash=view_info.get("hash"), view=updated)
    except SlackApiError as exc:  # already submitted or closed (or changed by the user): nothing to pre-select
        log.info("ask modal not updated with the theme: %s", exc.response.get("error"))


def handle_ask_shortcut(turn: Turn) -> None:
    message = turn.body.get("message") or {}
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    metadata = {"channel_id": channel or None, "thread_ts": message.get("thread_ts") or message.get("ts")}
    open_ask_modal(turn, text=question_from_slack(str(message.get("text") or "")), metadata=metadata)


def handle_ask_experts_button(turn: Turn, search_log: SearchLog) -> None:
    open_ask_modal(turn, text=search_log.query, metadata={"channel_id": turn.channel_id or None, "thread_ts": None})


def command_ask(turn: Turn, text: str) -> None:
    open_ask_modal(turn, text=text, metadata={"channel_id": turn.channel_id or None, "thread_ts": None})


def handle_ask_submission(turn: Turn, form: AskForm) -> None:
    """Check the form (nothing slow: no write to the database, no Slack call; one count for the hourly limit),
    record the question in the inbox under the modal's view id, ack. A replayed submission or a double click finds
    the same record: one question. The question is made from the record (``ask_question``), after the ack."""
    lang = turn.quick_lang
    errors: dict[str, str] = {}
    if not form.text:
        errors[ids.BLOCK_ASK_TEXT] = t("error.empty_question", lang)
    if form.desired_by is not None and form.desired_by < _routing(turn).calendar.local(turn.now).date():
        errors[ids.BLOCK_ASK_DATE] = t("error.desired_date_past", lang)
    if not errors and form.text:
        errors.update(_over_hourly_limit(turn, lang))
    if errors:
        turn.form_errors(errors)
        return
    view = turn.body.get("view") or {}
    new = inbox.record(
        turn.services,
        request_key=f"view:{view.get('id')}",
        kind_name=ASK_KIND,
        payload={
            "text": form.text,
            "context": form.context,
            "theme": form.theme,
            "desired": form.desired_by.isoformat() if form.desired_by else None,
            "visibility": form.visibility.value,
            "channel_id": form.channel_id,
            "thread_ts": form.thread_ts,
            "user_name": str((turn.body.get("user") or {}).get("name") or ""),
        },
        user_id=_actor(turn),
    )
    turn.ack()  # accepted: the modal closes
    turn.outcome = "recorded" if new else "duplicate"


def _over_hourly_limit(turn: Turn, lang: str) -> dict[str, str]:
    """Over the hourly limit: refused on the form, under the question (the modal stays open with what was typed).
    A quick count first; only someone over the limit is looked up as staff, who are not limited — from what is known
    without asking Slack (the configured ids and the staff user group's cached members, ``known_staff``): nothing
    before the ack waits on Slack. When that cannot say (the group's cache is cold), the form is not refused on a
    guess: the question is recorded and ``ask_question`` decides after the ack (with the full staff check, retried;
    someone refused there gets their question back by DM)."""
    try:
        with turn.services.db.ack_read_session() as session:
            _routing(turn).check_may_ask(session, asker_slack_id=_actor(turn), now=turn.now)
    except RoutingInputError as error:
        services = turn.services
        staff = services.staff.known_staff(settings=services.settings, user_id=turn.user_id, now=turn.now)
        if staff is None:
            log.info("ask form of %s: staff not known without Slack, decided when recorded", turn.user_id)
            return {}
        return {} if staff else {ids.BLOCK_ASK_TEXT: user_message(error, lang, "")}
    return {}


def _tell_asker(job: inbox_job.InboxJob, text: str) -> None:
    """Why the question was not asked, by DM (the modal closed long ago), with the question quoted: nothing is lost,
    it can be asked again as it was. Not once it was recorded (only its channel message failed): it was asked,
    and the asker hears who was asked."""
    with job.services.db.session() as session:
        if inbox_core.delivery_seen(session, key=f"asked:{job.key}"):
            log.warning("request %s: the question was recorded, its channel message failed", job.key)
            return
    asked = str(job.payload.get("text") or "")
    if asked:
        quoted = "> " + escape_truncate(asked, 2500).replace("\n", "\n> ")
        text = f"{text}\n\n{t('routing.was_asked', job.language(), question=quoted)}"
    job.dm_once(step="error", text=text)


ASK_KIND = "ask_question"


@inbox.kind(ASK_KIND, tell=_tell_asker)
def ask_question(job: inbox_job.InboxJob) -> None:
    """A submitted ask modal, from the inbox: check where it was asked, post it there, make the question — each
    step once. Where it was asked is a claim too: privacy comes from Slack, and the bot only shows a question in a
    channel the asker is a member of."""
    services, payload, asker = job.services, job.payload, job.user_id or ""
    routing = services.routing_service()
    lang = job.language()
    channel_id = payload.get("channel_id")
    visibility = Visibility(str(payload.get("visibility") or "public"))
    channels = services.channels
    private = channel_id is None or channels.is_private(client=job.client, channel_id=channel_id, now=job.now)
    placement = asking.place_question(
        visibility=visibility, channel_id=channel_id, thread_ts=payload.get("thread_ts"), channel_is_private=private
    )
    if placement.shown_in_channel:
        is_member = channels.is_member(client=job.client, channel_id=placement.channel_id, user_id=asker, now=job.now)
        asking.require_member(placement, is_member=is_member)
    text = str(payload.get("text") or "")
    staff = services.staff.is_staff(settings=services.settings, client=job.client, user_id=asker, now=job.now)
    desired = payload.get("desired")
    with services.db.session() as session:
        cached = directory.get_cached_user(session, user_id=asker)

        def make_question() -> int:
            # the hourly limit is checked and the question recorded in one step, before anything is posted: a
            # question is either refused with nothing posted, or recorded (and then posted)
            return routing.ask_question(
                session,
                asker_slack_id=asker,
                asker_name=cached.name if cached is not None and cached.name else str(payload.get("user_name") or ""),
                text=text,
                context=str(payload.get("context") or ""),
                theme_keys=[str(payload["theme"])] if payload.get("theme") else [],
                desired_by=date.fromisoformat(desired) if isinstance(desired, str) else None,
                visibility=visibility,
                channel_id=placement.channel_id,
                channel_is_private=private,
                thread_ts=placement.thread_ts,
                language=lang,
                asker_is_staff=staff,
                now=job.now,
            ).id

        question_id = inbox_core.once(session, step="asked", request_key=job.key, now=job.now, make=make_question)
    if placement.post_in_channel and placement.channel_id and question_id is not None:
        # a channel message, read by everyone there: in the network's language (the asker's DMs stay in theirs)
        _post_in_channel(job, question_id, placement.channel_id, text, services.settings.default_language)
    # The confirmation naming who was asked (or that staff take it up) is the outbox's ASKER_UPDATE, a DM sent by
    # the jobs once this has committed: one message, also when the question is escalated.
    services.outbox.ring()
    publish_homes(services, job.client, [asker])


def _post_in_channel(job: inbox_job.InboxJob, question_id: int, channel: str, text: str, lang: str) -> None:
    """A public question from a channel gets a message there (once), so the answer comes in its thread. The
    question is recorded by now: a channel that refuses the message (archived, the bot removed) leaves it without
    a thread (answers then go to the asker by DM); a failure that may pass (Slack down, a rate limit) is retried."""
    quoted = "> " + escape_truncate(text, 2500).replace("\n", "\n> ")
    try:
        _, posted_ts = job.post_once(
            step="question",
            channel=channel,
            text=t("routing.posted_question", lang, name=user_mention(job.user_id or "") or "?", question=quoted),
        )
    except SlackApiError as exc:
        status = exc.response.status_code
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR or status == HTTPStatus.TOO_MANY_REQUESTS:
            raise
        log.warning("question %s not posted in %s: %s", question_id, channel, exc.response.get("error"))
        return
    if posted_ts:
        with job.services.db.session() as session:
            # an answer given before this post follows in the thread (queued here, sent by the outbox)
            job.services.routing_service().set_question_thread(
                session, question_id=question_id, thread_ts=posted_ts, now=job.now
            )


# --- the asker's own questions -----------------------------------------------------------------------------------


def command_mine(turn: Turn) -> None:
    questions = _routing(turn).list_my_questions(turn.session, asker_slack_id=_actor(turn), limit=15)
    blocks = build_my_questions([_my(q, ZoneInfo(turn.services.settings.timezone)) for q in questions], turn.lang)
    assert turn.respond is not None
    turn.respond(text=t("routing.my_title", turn.lang), blocks=blocks, response_type="ephemeral")


def _my(question: Question, tz: tzinfo) -> MyQuestion:
    return MyQuestion(
        id=question.id,
        text=question.text,
        status=question.status,
        created=local_day(question.created_at, tz),
        answered=bool(question.answers),
        rating=question.rating,
    )


def handle_cancel(turn: Turn, question_id: int) -> None:
    _routing(turn).cancel(turn.session, question_id=question_id, actor_slack_id=_actor(turn), now=turn.now)
    refresh_in_turn(turn, question_ids=[question_id])  # proposed work sessions count it, no longer quote it
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    update_staff_posts(turn, question_id, staff_posts.WITHDRAWN)
    turn.tell(t("routing.cancelled", turn.lang))


def handle_add_info_button(turn: Turn, question_id: int) -> None:
    question = _routing(turn).get_own_question(turn.session, question_id=question_id, asker_slack_id=_actor(turn))
    view = build_add_info_modal(turn.lang, question_id=question_id, question=question.text)
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def _not_empty(block: str, text: str, code: str, draft: Draft) -> dict[str, str]:
    """Before the ack: an empty text, refused with the service's own message for it."""
    return {} if text.strip() else {block: user_message(RoutingInputError(code), draft.lang, "")}


def check_add_info_form(form: AddInfoForm, draft: Draft) -> dict[str, str]:
    return _not_empty(form.ERROR_BLOCK, form.text, "empty_information", draft)


def check_answer_form(form: AnswerForm, draft: Draft) -> dict[str, str]:
    return _not_empty(form.ERROR_BLOCK, form.text, "empty_answer", draft)


def handle_add_info_submission(turn: Turn, form: AddInfoForm) -> None:
    # not theirs, closed meanwhile: the service refuses, nothing written, the user told by DM (``run_submission``)
    _routing(turn).add_information(
        turn.session, question_id=form.question_id, actor_slack_id=_actor(turn), text=form.text, now=turn.now
    )
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    turn.tell(t("routing.info_added", turn.lang))


def handle_resolve(turn: Turn, question_id: int) -> None:
    _routing(turn).resolve(turn.session, question_id=question_id, actor_slack_id=_actor(turn), now=turn.now)
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    update_staff_posts(turn, question_id, staff_posts.RESOLVED)
    turn.tell(t("routing.resolved", turn.lang))


def handle_rate(turn: Turn, rated: claims.Rating) -> None:
    _routing(turn).rate(
        turn.session, question_id=rated.question_id, actor_slack_id=_actor(turn), stars=rated.stars, now=turn.now
    )
    turn.tell(t("routing.rated", turn.lang, stars="⭐" * rated.stars))


def command_away(turn: Turn, until: date) -> None:
    _routing(turn).set_away(turn.session, slack_user_id=_actor(turn), until=until, now=turn.now)
    turn.home_changed(turn.user_id)
    assert turn.respond is not None
    shown = format_date(until, turn.lang, year=True)
    turn.respond(text=t("routing.away_set", turn.lang, date=shown), response_type="ephemeral")


def is_away_command(text: str) -> bool:
    """Whether ``text`` is ``afwezig tot <date>`` (the routing sub-command that changes something)."""
    return AWAY.match(text) is not None


def is_routing_command(text: str) -> bool:
    """Whether ``text`` is a routing sub-command (``vraag …``, ``mijn vragen``, ``afwezig tot …``), from the text."""
    head = text.partition(" ")[0]
    return head.casefold() in ASK_WORDS or text.casefold() in MINE_WORDS or AWAY.match(text) is not None


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
        try:
            until = date.fromisoformat(away.group(1))
        except ValueError:  # 2026-02-30
            raise RoutingInputError("away_date_past", t("routing.away_usage", turn.lang)) from None
        command_away(turn, until)
        return True
    return False


# --- someone chosen by hand (passing a question on, staff assigning) ---------------------------------------------


# Slack's own bot, whose users.info says neither is_bot nor deleted
SLACKBOT = "USLACKBOT"


def require_reachable(turn: Turn, user_id: str, *, question_id: int) -> None:
    """Refuse someone chosen by a person (forwarding, staff assigning) who can never get the question by DM: a bot
    (Slack refuses ``cannot_dm_bot``), someone outside the network (a person of another organisation in a Slack
    Connect channel, who must never get the question or the asker's name) or a deactivated account
    (``user_disabled``). Checked with ``users.info`` before anything is written, so nothing changes and the one who
    chose is told; whether Slack's answer is of the network (a Grid member's organisation) is decided as for a
    ``user_change`` and a reactivation, and a guest is outside unless the network lets guests in
    (``handlers.deactivated.account_admitted``). When Slack cannot tell (an outage), whether the person is inside is
    unknown: refused too, to be tried again. A deactivated expert in the
    register is marked away as when their DM fails (``pick_unreachable``): the refusal keeps that record
    (``keep_changes``), so the request's transaction commits it before the one who chose is told. Who may be given
    the question at all (not the asker, nobody who withdrew or opted out) is the core's check
    (``bot.routing.chosen``)."""
    if user_id == SLACKBOT:
        raise RoutingInputError("ask_bot")
    try:
        user = turn.client.users_info(user=user_id).get("user") or {}
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            raise RoutingInputError("ask_unknown_user") from exc
        log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        raise RoutingInputError("ask_unchecked") from exc
    except OSError as exc:  # no answer at all (a timeout, a network error): the same as an outage
        log.warning("users.info failed for %s: %r", user_id, exc)
        raise RoutingInputError("ask_unchecked") from exc
    if user.get("is_bot"):
        raise RoutingInputError("ask_bot")
    if not account_admitted(turn.services.home.network, user):  # as for a user_change, and no guest (bot.network)
        team = user.get("team_id")
        log.warning("refused pick: user=%s of team=%s outside the network, question=%s", user_id, team, question_id)
        raise RoutingInputError("ask_outside_network")
    if user.get("deleted"):
        if _routing(turn).pick_unreachable(
            turn.session, question_id=question_id, slack_user_id=user_id, error=DEACTIVATED, now=turn.now
        ):
            turn.services.marked_away.marked(user_id)  # this process's matcher sees the reactivation at once
        raise RoutingInputError("ask_deactivated", keep_changes=True)


# --- staff triage ------------------------------------------------------------------------------------------------


AWAY_CODES = frozenset({"chosen_away", "chosen_away_until"})


def handle_triage_assign(turn: Turn, pick: UserPick) -> None:
    _triage_assign(turn, pick, assign_away=False)


def handle_triage_assign_away(turn: Turn, pick: UserPick) -> None:
    """ "Assign anyway": staff were told the person they chose is away, and confirm (audited by the service)."""
    _triage_assign(turn, pick, assign_away=True)


def _triage_assign(turn: Turn, pick: UserPick, *, assign_away: bool) -> None:
    turn.actor.require_staff("assign a question", target=f"question:{pick.subject_id}")  # before asking Slack
    require_reachable(turn, pick.user_id, question_id=pick.subject_id)
    try:
        _routing(turn).staff_assign(
            turn.session,
            question_id=pick.subject_id,
            to_slack_id=pick.user_id,
            actor=turn.actor,
            now=turn.now,
            assign_away=assign_away,
        )
    except RoutingInputError as error:  # refused before anything was written
        if error.code not in AWAY_CODES or turn.respond is None:
            raise
        # the refusal anyone gets, and for staff a button to assign them all the same
        shown = build_assign_away(pick.subject_id, pick.user_id, user_message(error, turn.lang, ""), turn.lang)
        turn.respond(text=shown.text, blocks=shown.blocks, response_type="ephemeral", replace_original=False)
        turn.outcome = f"refused {error.code}"
        return
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    staff, assignee = user_mention(_actor(turn)) or "?", user_mention(pick.user_id) or "?"
    update_staff_posts(turn, pick.subject_id, staff_posts.ASSIGNED, name=assignee)
    turn.tell(t("routing.triage_assigned", turn.lang, staff=staff, name=assignee))


def handle_triage_close_button(turn: Turn, question_id: int) -> None:
    # no modal for non-staff; the service checks again on submit
    turn.actor.require_staff("close a question", target=f"question:{question_id}")
    view = build_triage_close_modal(turn.lang, question_id=question_id, metadata={})
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_triage_close_submission(turn: Turn, form: TriageCloseForm) -> None:
    routing = _routing(turn)
    question = routing.staff_close(  # only one waiting for staff: a stale copy of the post was assigned meanwhile
        turn.session, question_id=form.question_id, actor=turn.actor, note=form.note, now=turn.now, only_waiting=True
    )
    if no_longer_quoted(question.status.value, question.answered_at):  # proposals count it, no longer quote it
        show_proposal_updates(turn, question_ids=[question.id], now=turn.now)  # recorded for the job runner too
    turn.ack()
    turn.queued_messages()
    turn.home_changed(turn.user_id)
    # the triage post itself says so (no note in its thread: the channel may be shared with another organisation)
    update_staff_posts(turn, form.question_id, staff_posts.CLOSED)
