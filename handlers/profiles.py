"""Expert self-service in Slack: the Home tab, the profile modal, consent buttons, staff moderation of experts.

Listeners stay thin: they read the payload, call ``bot.register.profiles`` (which checks who may do what, with the
Slack id Slack signed the request with — never an id from a button value) and render with
``handlers.profile_blocks``. A user's Home tab is published when they open it and re-published after every change
to what it shows (``Turn.home_changed``; the outbox sender does the same for DMs it delivers).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.errors import WieweetError
from bot.i18n import N_, t
from bot.matching.loader import load_themes
from bot.mrkdwn import escape_truncate, user_mention
from bot.register import profiles
from bot.register.profiles import InvalidRecord
from bot.routing.errors import RoutingInputError
from handlers import claims, ids
from handlers.context import Services, Turn, listener
from handlers.errors import refuse_in_form
from handlers.needs import needs_home_blocks
from handlers.practices import practice_admin_blocks
from handlers.profile_blocks import (
    AdminData,
    HomeData,
    HomeItem,
    ProfileCard,
    build_admin_blocks,
    build_consent_done,
    build_home_view,
    build_profile_modal,
    build_reject_profile_modal,
    build_review_done,
    expert_card_blocks,
    field_errors,
    profile_text,
    read_profile_form,
)
from handlers.routing_blocks import status_label, theme_choices
from storage.models import Availability, Expert, RecordStatus

log = logging.getLogger(__name__)

JOIN = re.compile(r"^(?:ik\s+weet\s+iets\s+over|i\s+know\s+about|je\s+connais)\b[\s:]*(.*)$", re.IGNORECASE | re.DOTALL)
PROFILE_WORDS = frozenset({"profiel", "mijn profiel", "profile", "my profile"})
# "beheer" alone, or with one e-mail address or @mention: "beheer van begraafplaatsen" is a question, not this
ADMIN = re.compile(r"^(?:beheer|admin)(?:\s+([^\s@<>]+@[^\s@<>]+|<@[A-Z0-9]+(?:\|[^>]*)?>))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ProfileCommand:
    kind: str  # join | profile | admin
    arg: str = ""  # join: the topics ("; "-separated); admin: an e-mail address or a mention


def parse_profile_command(text: str) -> ProfileCommand | None:
    """The self-service sub-command in ``/wieweet`` text, or None (then it is something else, e.g. a question)."""
    text = text.strip()
    join = JOIN.match(text)
    if join:
        topics = (x.strip() for x in re.split(r"[;,\n]| en | and ", join.group(1)))
        return ProfileCommand("join", "; ".join(x for x in topics if x))
    if text.casefold() in PROFILE_WORDS:
        return ProfileCommand("profile")
    admin = ADMIN.match(text)
    if admin:
        return ProfileCommand("admin", (admin.group(1) or "").strip())
    return None


MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


# --- reading the register for display ------------------------------------------------------------------------------


def profile_card(services: Services, expert: Expert, lang: str, *, now: datetime) -> ProfileCard:
    return ProfileCard(
        expert_id=expert.id,
        name=expert.name,
        email=expert.email,
        organisation=expert.organisation,
        city=expert.city,
        role=expert.role,
        expertise=tuple(expert.expertise),
        themes=tuple(th.label_en if lang == "en" else th.label_nl for th in expert.themes),
        languages=tuple(expert.languages),
        availability=expert.availability.value,
        away_until=expert.away_until.isoformat() if expert.away_until else None,
        consent=expert.consent.value,
        last_confirmed=expert.last_confirmed_at.date().isoformat() if expert.last_confirmed_at else None,
        stale=profiles.is_stale(expert, now=now, reconfirm_days=services.settings.reconfirm_days),
        pending_approval=expert.status is RecordStatus.PENDING,
        slack_user_id=expert.slack_user_id,
    )


ROUTING_STATE_KEYS = {  # a question sent to this expert, as the Home tab lists it
    "asked": N_("profile.routing_asked"),
    "claimed": N_("profile.routing_claimed"),
    "declined": N_("profile.routing_declined"),
    "forwarded": N_("profile.routing_forwarded"),
    "expired": N_("profile.routing_expired"),
    "answered": N_("profile.routing_answered"),
}


def home_data(
    services: Services, session: Session, *, user_id: str, lang: str, is_staff: bool, now: datetime
) -> HomeData:
    expert = profiles.get_profile(session, slack_user_id=user_id)
    routed: list[HomeItem] = []
    asked: list[HomeItem] = []
    if services.routing is not None:
        routings = services.routing.list_my_routings(session, slack_user_id=user_id, open_only=False, limit=10)
        routed = [
            HomeItem(r.question.text, t(ROUTING_STATE_KEYS[r.status.value], lang), r.asked_at.date().isoformat())
            for r in routings
        ]
        asked = [
            HomeItem(q.text, status_label(q.status, lang), q.created_at.date().isoformat())
            for q in services.routing.list_my_questions(session, asker_slack_id=user_id, limit=10)
        ]
    stale = pending = 0
    if is_staff:
        reconfirm = services.settings.reconfirm_days
        stale, pending = profiles.count_profiles_to_review(session, now=now, reconfirm_days=reconfirm)
    return HomeData(
        profile=profile_card(services, expert, lang, now=now) if expert is not None else None,
        routed=routed,
        asked=asked,
        is_staff=is_staff,
        stale_count=stale,
        pending_count=pending,
    )


def publish_home(services: Services, client: WebClient, user_id: str) -> None:
    """Publish ``user_id``'s Home tab from the committed data (its own session)."""
    now = services.clock()
    with services.db.session() as session:
        lang = services.locales.language(session=session, client=client, user_id=user_id, now=now)
        staff = services.staff.is_staff(settings=services.settings, client=client, user_id=user_id, now=now)
        data = home_data(services, session, user_id=user_id, lang=lang, is_staff=staff, now=now)
        view = build_home_view(data, lang)
        if staff and services.needs is not None:  # "Kennisbehoeften": the quarter's most asked topics
            view.blocks = [*view.blocks, *needs_home_blocks(services, session, user_id=user_id, lang=lang, now=now)]
    client.views_publish(user_id=user_id, view=view)


# --- small payload helpers -------------------------------------------------------------------------------------------


def _expert_id(turn: Turn) -> int:
    """The expert a button is about (its value: a claim the service checks for the clicking user)."""
    return claims.clicked_id(turn.body, what="expert")


def _today(turn: Turn) -> date:
    return turn.now.astimezone(ZoneInfo(turn.services.settings.timezone)).date()


def _clicked_in(turn: Turn, refs: list[dict[str, str]]) -> bool:
    """Whether the button was clicked in one of ``refs`` (the messages the database ties to the subject)."""
    clicked = claims.clicked_message(turn.body)
    return clicked is not None and clicked.as_ref() in refs


def _slack_identity(turn: Turn) -> dict[str, str]:
    """Name and e-mail address Slack has for the user, to pre-fill a new profile (best effort)."""
    try:
        user = turn.client.users_info(user=turn.user_id or "").get("user") or {}
    except SlackApiError as exc:
        log.warning("users.info failed for %s: %s", turn.user_id, exc.response.get("error"))
        return {}
    profile = user.get("profile") or {}
    name = str(user.get("real_name") or profile.get("real_name") or "")
    return {"name": name, "email": str(profile.get("email") or "")}


# --- the profile modal -----------------------------------------------------------------------------------------------


def open_profile_modal(turn: Turn, *, expert: Expert | None, expertise: str = "", channel: str | None = None) -> None:
    """The join form (pre-filled from Slack and ``expertise``) or the edit form of ``expert``."""
    lang = turn.lang
    if expert is None:
        values = {**_slack_identity(turn), "expertise": expertise}
    else:
        values = profiles.form_values(expert)
        if expertise:
            values["expertise"] = "; ".join(x for x in (values.get("expertise"), expertise) if x)
    view = build_profile_modal(
        lang,
        values=values,
        themes=theme_choices(load_themes(turn.session), lang),
        expert_id=expert.id if expert is not None else None,
        joining=expert is None,
    )
    data = json.loads(view.private_metadata or "{}")
    view.private_metadata = json.dumps({**data, "channel_id": channel})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_profile_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = read_profile_form((view.get("state") or {}).get("values") or {})
    try:
        metadata = claims.view_metadata(turn.body)
        # where the form was opened: only ever used for a notice to the submitter themselves
        channel = claims.channel_id(metadata.get("channel_id"))
        saved = profiles.save_profile(
            turn.session,
            actor=turn.actor,
            values=values,
            now=turn.now,
            expert_id=claims.optional_metadata_id(metadata, "expert_id", what="expert"),
            approval_required=turn.services.settings.expert_approval,
        )
    except InvalidRecord as exc:  # shown on the fields; nothing was written
        turn.ack(response_action="errors", errors=field_errors(exc.errors, turn.lang))
        return
    except WieweetError as exc:  # not theirs, gone meanwhile: said on the form, which stays open
        refuse_in_form(turn, exc, ids.profile_block("name"))
        return
    turn.ack()
    expert = saved.expert
    turn.home_changed(turn.user_id, expert.slack_user_id)
    if saved.pending_approval:
        turn.queued_messages()
        text = t("profile.saved_pending", turn.lang)
    elif turn.actor.is_self(expert.slack_user_id):
        text = t("profile.saved", turn.lang)
    else:
        text = t("profile.saved_by_staff", turn.lang, name=escape_truncate(expert.name, 150))
    if saved.created or channel or not turn.actor.is_self(expert.slack_user_id):
        turn.tell(text, channel=channel)


def handle_join_button(turn: Turn) -> None:
    turn.ack()
    open_profile_modal(turn, expert=profiles.get_profile(turn.session, slack_user_id=turn.user_id or ""))


def handle_edit_button(turn: Turn) -> None:
    turn.ack()
    expert = profiles.get_expert_for(turn.session, actor=turn.actor, expert_id=_expert_id(turn))
    open_profile_modal(turn, expert=expert)


# --- availability (Home tab) -----------------------------------------------------------------------------------------


def _own_expert(turn: Turn) -> Expert:
    expert = profiles.get_profile(turn.session, slack_user_id=turn.user_id or "")
    if expert is None:
        raise RoutingInputError("no_expert", "no profile for this user")
    return expert


def handle_away(turn: Turn) -> None:
    turn.ack()
    selected = str(turn.action.get("selected_date") or "")
    try:
        until = date.fromisoformat(selected)
    except ValueError:
        raise RoutingInputError("away_date_past", "no date") from None
    profiles.set_availability(
        turn.session,
        actor=turn.actor,
        expert_id=_own_expert(turn).id,
        availability=Availability.AWAY,
        until=until,
        now=turn.now,
        today=_today(turn),
    )
    turn.home_changed(turn.user_id)


def _set_availability(turn: Turn, availability: Availability) -> None:
    turn.ack()
    expert = profiles.set_availability(
        turn.session,
        actor=turn.actor,
        expert_id=_expert_id(turn),
        availability=availability,
        now=turn.now,
        today=_today(turn),
    )
    turn.home_changed(turn.user_id, expert.slack_user_id)


def handle_available(turn: Turn) -> None:
    _set_availability(turn, Availability.AVAILABLE)


def handle_opt_out(turn: Turn) -> None:
    _set_availability(turn, Availability.OPTED_OUT)


def handle_refresh(turn: Turn) -> None:
    turn.ack()
    turn.home_changed(turn.user_id)


def handle_home_opened(turn: Turn) -> None:
    turn.ack()
    event = turn.body.get("event") or {}
    if event.get("tab", "home") == "home" and turn.user_id:
        turn.home_changed(turn.user_id)


# --- consent -----------------------------------------------------------------------------------------------------


def _consent_done(turn: Turn, expert: Expert, text: str, blocks: list[Any]) -> None:
    """The person's confirm-your-listing DMs (the database's, never the clicked container) show the outcome; when
    the button was elsewhere (or no DM is known) they are told too."""
    refs = profiles.consent_request_refs(turn.session, expert=expert)
    turn.update_messages(refs, text, blocks, about=f"expert:{expert.id}")
    if not _clicked_in(turn, refs):
        turn.tell(text)


def handle_consent_confirm(turn: Turn) -> None:
    turn.ack()
    expert = profiles.confirm_listing(turn.session, actor=turn.actor, expert_id=_expert_id(turn), now=turn.now)
    text = t("profile.confirmed_thanks", turn.lang, date=_today(turn).isoformat())
    card = profile_card(turn.services, expert, turn.lang, now=turn.now)
    _consent_done(turn, expert, text, [*build_consent_done(text), *build_consent_done(profile_text(card, turn.lang))])
    turn.home_changed(turn.user_id)


def handle_consent_withdraw(turn: Turn) -> None:
    turn.ack()
    expert = profiles.withdraw_listing(turn.session, actor=turn.actor, expert_id=_expert_id(turn), now=turn.now)
    text = t("profile.withdrawn_done", turn.lang)
    if turn.actor.is_self(expert.slack_user_id):
        _consent_done(turn, expert, text, build_consent_done(text))
    else:
        turn.tell(t("profile.removed", turn.lang, name=escape_truncate(expert.name, 150)))
    turn.home_changed(turn.user_id, expert.slack_user_id)


# --- staff -------------------------------------------------------------------------------------------------------


def handle_approve(turn: Turn) -> None:
    turn.ack()
    expert = profiles.approve_profile(turn.session, actor=turn.actor, expert_id=_expert_id(turn), now=turn.now)
    turn.queued_messages()
    staff = user_mention(turn.user_id) or "?"
    done = build_review_done(
        profiles.profile_payload(expert), turn.lang, status=t("profile.review_approved", turn.lang, staff=staff)
    )
    # the staff review in the triage channel (the database's), wherever the button was (review or /wieweet beheer)
    review = profiles.review_message_ref(turn.session, expert_id=expert.id)
    refs = [review] if review else []
    turn.update_messages(refs, done.text, list(done.blocks), about=f"expert:{expert.id}")
    if not _clicked_in(turn, refs):
        turn.tell(t("profile.review_approved", turn.lang, staff=staff))
    turn.home_changed(expert.slack_user_id)


def handle_reject_button(turn: Turn) -> None:
    turn.ack()
    expert_id = _expert_id(turn)
    # no modal for others; the service checks again
    turn.actor.require_staff("reject an expert profile", target=f"expert:{expert_id}")
    profiles.get_expert(turn.session, expert_id=expert_id)
    view = build_reject_profile_modal(turn.lang, expert_id=expert_id, metadata={})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_reject_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    entry = (values.get(ids.BLOCK_PROFILE_REJECT_REASON) or {}).get(ids.INPUT_PROFILE_REJECT_REASON) or {}
    reason = str(entry.get("value") or "").strip()
    if not reason:
        turn.ack(response_action="errors", errors={ids.BLOCK_PROFILE_REJECT_REASON: t("field.missing", turn.lang)})
        return
    try:
        expert_id = claims.metadata_id(claims.view_metadata(turn.body), "expert_id", what="expert")
        turn.actor.require_staff("reject an expert profile", target=f"expert:{expert_id}")  # before reading it
        expert = profiles.get_expert(turn.session, expert_id=expert_id)
        payload, slack_id = profiles.profile_payload(expert), expert.slack_user_id
        review = profiles.review_message_ref(turn.session, expert_id=expert_id)
        profiles.reject_profile(turn.session, actor=turn.actor, expert_id=expert_id, reason=reason, now=turn.now)
    except WieweetError as exc:  # already decided or gone meanwhile, or not staff: said on the form
        refuse_in_form(turn, exc, ids.BLOCK_PROFILE_REJECT_REASON)
        return
    turn.ack()
    turn.queued_messages()
    staff = user_mention(turn.user_id) or "?"
    status = t("profile.review_rejected", turn.lang, staff=staff, reason=escape_truncate(reason, 500))
    done = build_review_done(payload, turn.lang, status=status)
    turn.update_messages([review] if review else [], done.text, list(done.blocks), about=f"expert:{expert_id}")
    turn.home_changed(slack_id)


def handle_remove(turn: Turn) -> None:
    turn.ack()
    expert_id = _expert_id(turn)
    turn.actor.require_staff("remove an expert", target=f"expert:{expert_id}")  # refused before anything is read
    expert = profiles.get_expert(turn.session, expert_id=expert_id)
    name, slack_id = expert.name, expert.slack_user_id
    profiles.remove_expert(turn.session, actor=turn.actor, expert_id=expert_id, now=turn.now)
    turn.tell(t("profile.removed", turn.lang, name=escape_truncate(name, 150)))
    turn.home_changed(slack_id)


def command_admin(turn: Turn, who: str) -> None:
    """``/wieweet beheer [e-mail | @name]``: staff overview of stale and pending profiles, or one expert."""
    turn.actor.require_staff("see the register management overview")
    lang, now = turn.lang, turn.now
    assert turn.respond is not None
    if who:
        mention = MENTION.match(who)
        expert = (
            profiles.find_expert(turn.session, slack_user_id=mention.group(1))
            if mention
            else profiles.find_expert(turn.session, email=who)
        )
        if expert is None:
            text = t("profile.admin_not_found", lang, who=escape_truncate(who, 200))
            turn.respond(text=text, response_type="ephemeral")
            return
        blocks = expert_card_blocks(profile_card(turn.services, expert, lang, now=now), lang)
        turn.respond(text=escape_truncate(expert.name, 150), blocks=blocks, response_type="ephemeral")
        return
    reconfirm = turn.services.settings.reconfirm_days
    data = AdminData(
        stale=[
            profile_card(turn.services, e, lang, now=now)
            for e in profiles.list_stale_profiles(turn.session, now=now, reconfirm_days=reconfirm)
        ],
        pending=[profile_card(turn.services, e, lang, now=now) for e in profiles.list_pending_profiles(turn.session)],
        extra_blocks=practice_admin_blocks(turn.session, lang),
    )
    turn.respond(text=t("profile.admin_title", lang), blocks=build_admin_blocks(data, lang), response_type="ephemeral")


def route_profile_command(turn: Turn, text: str) -> bool:
    """Handle a self-service sub-command of ``/wieweet``; False when ``text`` is not one."""
    command = parse_profile_command(text)
    if command is None:
        return False
    if command.kind == "admin":
        command_admin(turn, command.arg)
        return True
    own = profiles.get_profile(turn.session, slack_user_id=turn.user_id or "")
    open_profile_modal(turn, expert=own, expertise=command.arg, channel=turn.channel_id)
    return True


def register(app: App, services: Services) -> None:
    services.home.attach(lambda client, user_id: publish_home(services, client, user_id))
    app.event("app_home_opened")(listener(services, "event", handle_home_opened))
    app.view(ids.VIEW_PROFILE)(listener(services, "view", handle_profile_submission))
    app.action(ids.ACTION_PROFILE_JOIN)(listener(services, "action", handle_join_button))
    app.action(ids.ACTION_PROFILE_EDIT)(listener(services, "action", handle_edit_button))
    app.action(ids.ACTION_HOME_AWAY)(listener(services, "action", handle_away))
    app.action(ids.ACTION_HOME_AVAILABLE)(listener(services, "action", handle_available))
    app.action(ids.ACTION_HOME_OPT_OUT)(listener(services, "action", handle_opt_out))
    app.action(ids.ACTION_HOME_REFRESH)(listener(services, "action", handle_refresh))
    app.action(ids.ACTION_CONSENT_CONFIRM)(listener(services, "action", handle_consent_confirm))
    app.action(ids.ACTION_CONSENT_WITHDRAW)(listener(services, "action", handle_consent_withdraw))
    app.action(ids.ACTION_PROFILE_APPROVE)(listener(services, "action", handle_approve))
    app.action(ids.ACTION_PROFILE_REJECT)(listener(services, "action", handle_reject_button))
    app.view(ids.VIEW_PROFILE_REJECT)(listener(services, "view", handle_reject_submission))
    app.action(ids.ACTION_EXPERT_REMOVE)(listener(services, "action", handle_remove))
