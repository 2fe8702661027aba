"""Expert self-service in Slack: the Home tab, the profile modal, consent buttons, staff moderation of experts.

Listeners stay thin: they read the payload, call ``bot.register.profiles`` (which checks who may do what, with the
Slack id Slack signed the request with — never an id from a button value) and render with
``handlers.blocks.profile``. A user's Home tab is published when they open it and re-published after every change
to what it shows (``Turn.home_changed``; the outbox sender does the same for DMs it delivers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import NotFoundError
from bot.i18n import N_, format_date, t
from bot.matching.loader import load_themes
from bot.register import consent, profile_decisions, profile_reviews, profiles
from bot.register.profiles import InvalidRecord
from bot.register.validation import ANY_THEME, validate_expert
from handlers.accounts import slack_account
from handlers.blocks.home import HOME_LIST, held_blocks, held_item
from handlers.blocks.profile import (
    AdminData,
    ProfileCard,
    build_admin_blocks,
    build_consent_done,
    build_profile_modal,
    build_profile_review,
    build_reject_profile_modal,
    build_review_done,
    expert_card_blocks,
    field_errors,
    profile_card,
    profile_text,
)
from handlers.claims import Versioned
from handlers.forms import Draft, ProfileForm, ProfileRejectForm, required
from handlers.kit import Rendered, build_shared_stand_in, escape_truncate, theme_choices, user_mention
from handlers.moderation import decide_shown_version, reason_missing
from handlers.practices import practice_admin_blocks
from handlers.turn import Turn
from storage.models import Availability, Expert, RecordStatus

JOIN = re.compile(r"^(?:ik\s+weet\s+iets\s+over|i\s+know\s+about|je\s+connais)\b[\s:]*(.*)$", re.IGNORECASE | re.DOTALL)
PROFILE_WORDS = frozenset({"profiel", "mijn profiel", "profile", "my profile"})
# "beheer" alone, or with one e-mail address or @mention: "beheer van begraafplaatsen" is a question, not this
ADMIN = re.compile(r"^(?:beheer|admin)(?:\s+([^\s@<>]+@[^\s@<>]+|<@[A-Z0-9]+(?:\|[^>]*)?>))?\s*$", re.IGNORECASE)
# "beheer @name" as Slack sends it: the mention is the argument (its user id), so it is read before ``from_slack``
ADMIN_MENTION = re.compile(r"(?:beheer|admin)\s+<@[UW][A-Z0-9]+(?:\|[^<>]*)?>\s*", re.IGNORECASE)


def is_admin_mention(raw: str) -> bool:
    """Whether ``raw`` (a command's text as Slack sent it) is ``beheer`` naming one person by mention."""
    return ADMIN_MENTION.fullmatch(raw.strip()) is not None


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


# --- small helpers ---------------------------------------------------------------------------------------------------


def _card(turn: Turn, expert: Expert) -> ProfileCard:
    stale = profiles.is_stale(expert, now=turn.now, reconfirm_days=turn.services.settings.reconfirm_days)
    waiting = expert.status is RecordStatus.PENDING  # its Approve and Reject name the submission waiting
    submission = profile_reviews.current_submission(turn.session, expert_id=expert.id) if waiting else ""
    return profile_card(expert, turn.lang, stale=stale, tz=_zone(turn), submission=submission)


def _zone(turn: Turn) -> ZoneInfo:
    """The network's zone: the days people read are local."""
    return ZoneInfo(turn.services.settings.timezone)


def _today(turn: Turn) -> date:
    return turn.now.astimezone(_zone(turn)).date()


def _slack_identity(turn: Turn) -> dict[str, str]:
    """Name and e-mail address Slack has for the user, to pre-fill a new profile (best effort)."""
    account = slack_account(turn.client, turn.user_id or "")
    return {"name": account.name, "email": account.email} if account.checked else {}


# --- the profile modal -----------------------------------------------------------------------------------------------


def open_profile_modal(turn: Turn, *, expert: Expert | None, expertise: str = "", channel: str | None = None) -> None:
    """The join form (pre-filled from Slack and ``expertise``) or the edit form of ``expert``."""
    lang = turn.lang
    values = {**_slack_identity(turn), "expertise": ""} if expert is None else profiles.form_values(expert)
    view = build_profile_modal(
        lang,
        values=values,
        themes=theme_choices(load_themes(turn.session), lang),
        expert_id=expert.id if expert is not None else None,
        joining=expert is None,
        channel_id=channel,
        add_expertise=expertise,  # appended to the expertise, or offered below it when the sum is too long
    )
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def check_profile_form(form: ProfileForm, draft: Draft) -> dict[str, str]:
    """Before the ack: the fields' own rules (required, lengths, formats); the themes and an e-mail address taken
    by another profile are the service's to check when it saves."""
    _, errors = validate_expert({**form.values, "slack_user_id": draft.user_id or ""}, themes=ANY_THEME)
    errors = [e for e in errors if e.column not in form.keep]  # left out of the form, kept as stored when saved
    return field_errors(errors, draft.lang) if errors else {}


def check_reject_form(form: ProfileRejectForm, draft: Draft) -> dict[str, str]:
    return required(form.ERROR_BLOCK, form.reason, draft)


def handle_profile_submission(turn: Turn, form: ProfileForm) -> None:
    # the address Slack holds for the account: the only one a member may give their own profile (asked before
    # anything is written: never a Slack call inside a transaction that wrote)
    account = slack_account(turn.client, turn.user_id or "")
    slack_email = account.email if account.checked else None  # None: Slack could not be asked (try again)
    try:
        saved = profiles.save_profile(
            turn.session,
            actor=turn.actor,
            values=form.values,
            now=turn.now,
            expert_id=form.expert_id,
            slack_email=slack_email,
            approval_required=turn.services.settings.expert_approval,
            keep=form.keep,
            add_expertise=form.add_expertise,
            tz=_zone(turn),
        )
    except InvalidRecord as exc:  # shown on the fields; nothing was written
        turn.form_errors(field_errors(exc.errors, turn.lang, kept=form.keep))
        return
    turn.ack()
    expert = saved.expert
    turn.home_changed(turn.user_id, expert.slack_user_id)
    if saved.pending_approval:
        turn.queued_messages()
        if not saved.submitted:  # edited while it waits: the staff review shows what they would approve (a new
            _show_changed(turn, expert)  # submission has its own review; an earlier one keeps its decision)
        text = t("profile.saved_pending", turn.lang)
    elif turn.actor.is_self(expert.slack_user_id):
        text = t("profile.saved", turn.lang)
    else:
        text = t("profile.saved_by_staff", turn.lang, name=escape_truncate(expert.name, 150))
    if saved.created or form.channel_id or not turn.actor.is_self(expert.slack_user_id):
        turn.tell(text, channel=form.channel_id)


def handle_join_button(turn: Turn) -> None:
    open_profile_modal(turn, expert=profiles.get_profile(turn.session, slack_user_id=turn.user_id or ""))


def handle_edit_button(turn: Turn, expert_id: int) -> None:
    expert = profiles.get_expert_for(turn.session, actor=turn.actor, expert_id=expert_id)
    open_profile_modal(turn, expert=expert)


# --- availability (Home tab) -----------------------------------------------------------------------------------------


def handle_away(turn: Turn, until: date) -> None:
    """The Home tab's date picker: away until ``until`` (one's own profile only)."""
    expert = profiles.get_profile(turn.session, slack_user_id=turn.user_id or "")
    if expert is None:
        raise NotFoundError("not_in_register", "no profile for this user")
    profiles.set_availability(
        turn.session,
        actor=turn.actor,
        expert_id=expert.id,
        availability=Availability.AWAY,
        until=until,
        now=turn.now,
        today=_today(turn),
    )
    turn.home_changed(turn.user_id)


def _set_availability(turn: Turn, expert_id: int, availability: Availability) -> None:
    expert = profiles.set_availability(
        turn.session,
        actor=turn.actor,
        expert_id=expert_id,
        availability=availability,
        now=turn.now,
        today=_today(turn),
    )
    if availability is Availability.OPTED_OUT:
        _stop_asking(turn, expert)
    turn.home_changed(turn.user_id, expert.slack_user_id)


def _stop_asking(turn: Turn, expert: Expert) -> None:
    """They withdrew or opted out: their open requests move on, their queued DMs end (``bot.routing.stopped``), in
    this unit of work."""
    if turn.services.routing is not None:  # (a process without routing runs no routing timers and sends no DMs)
        turn.services.routing.expert_stopped(turn.session, expert_id=expert.id, now=turn.now)


def handle_available(turn: Turn, expert_id: int) -> None:
    _set_availability(turn, expert_id, Availability.AVAILABLE)


def handle_opt_out(turn: Turn, expert_id: int) -> None:
    _set_availability(turn, expert_id, Availability.OPTED_OUT)


def handle_refresh(turn: Turn) -> None:
    turn.home_changed(turn.user_id)


def handle_home_opened(turn: Turn) -> None:
    event = turn.body.get("event") or {}
    if event.get("tab", "home") == "home" and turn.user_id:
        turn.home_changed(turn.user_id)


# --- consent -----------------------------------------------------------------------------------------------------


def _consent_done(turn: Turn, expert: Expert, text: str, blocks: list[Any]) -> None:
    """The person's confirm-your-listing DMs (the database's, never the clicked container) show the outcome; when
    the button was elsewhere (or no DM is known) they are told too."""
    refs = consent.consent_request_refs(turn.session, expert=expert)
    turn.update_messages(refs, text, blocks, about=f"expert:{expert.id}")
    if not turn.clicked_in(refs):
        turn.tell(text)


def handle_consent_confirm(turn: Turn, expert_id: int) -> None:
    expert = consent.confirm_listing(turn.session, actor=turn.actor, expert_id=expert_id, now=turn.now)
    text = t("profile.confirmed_thanks", turn.lang, date=format_date(_today(turn), turn.lang, year=True))
    card = _card(turn, expert)
    _consent_done(turn, expert, text, [*build_consent_done(text), *build_consent_done(profile_text(card, turn.lang))])
    turn.home_changed(turn.user_id)


def handle_consent_withdraw(turn: Turn, expert_id: int) -> None:
    expert = consent.withdraw_listing(turn.session, actor=turn.actor, expert_id=expert_id, now=turn.now)
    _stop_asking(turn, expert)
    text = t("profile.withdrawn_done", turn.lang)
    if turn.actor.is_self(expert.slack_user_id):
        _consent_done(turn, expert, text, build_consent_done(text))
    else:
        turn.tell(t("profile.removed", turn.lang, name=escape_truncate(expert.name, 150)))
    turn.home_changed(turn.user_id, expert.slack_user_id)


# --- staff -------------------------------------------------------------------------------------------------------


SHARED_DONE = N_("profile.review_shared_done")  # profile #{expert_id} was decided
SHARED_WAITING = N_("profile.review_shared_waiting")  # profile #{expert_id} changed and waits


def _update_review(turn: Turn, expert_id: int, rendered: Rendered, *, shared_key: str, lang: str) -> list[Any]:
    """The staff review of profile ``expert_id`` (in the triage channel, the database's, with staff members' DM
    copies) shows ``rendered``, once committed; in a channel shared with another organisation by then, ``shared_key``
    with the number and the buttons alone: not the person, their profile, a reason or who decided. Returns the
    refs."""
    refs = profile_reviews.review_message_refs(turn.session, expert_id=expert_id)
    stand_in = build_shared_stand_in(t(shared_key, lang, expert_id=expert_id), rendered)
    turn.update_messages(
        refs,
        rendered.text,
        list(rendered.blocks),
        about=f"expert:{expert_id}",
        if_shared=(stand_in.text, stand_in.blocks),
    )
    return refs


def _show_changed(turn: Turn, expert: Expert) -> None:
    """The staff review (in the triage channel's language) shows the stored version of a waiting profile, with
    Approve and Reject for that version, and says it changed since it was posted."""
    lang = turn.channel_lang
    submission = profile_reviews.current_submission(turn.session, expert_id=expert.id)
    payload = profiles.profile_payload(expert, tz=_zone(turn), submission=submission)
    review = build_profile_review(payload, lang, status=t("profile.review_changed", lang))
    _update_review(turn, expert.id, review, shared_key=SHARED_WAITING, lang=lang)


def _changed(turn: Turn, expert_id: int) -> None:
    """A decision on a version staff were not shown (the owner edited the profile since): nothing decided; the
    review shows the stored version and the staff member is told to read it again."""
    _show_changed(turn, profiles.get_expert(turn.session, expert_id=expert_id))
    turn.tell(t("error.profile_changed", turn.lang))
    turn.outcome = f"refused expert {expert_id}: changed since shown"


def handle_approve(turn: Turn, claim: Versioned) -> None:
    mine = turn.lang  # before the change: looking it up may call Slack, never with a transaction that has written
    lang = turn.channel_lang
    decided = decide_shown_version(
        turn,
        lambda: profile_decisions.approve_profile(
            turn.session, actor=turn.actor, expert_id=claim.subject_id, version=claim.version, now=turn.now
        ),
        changed=profiles.ProfileChanged,
        on_changed=lambda: _changed(turn, claim.subject_id),
    )
    if decided is None:
        return
    (expert,) = decided
    staff = user_mention(turn.user_id) or "?"
    done = build_review_done(
        profiles.profile_payload(expert, tz=_zone(turn)), lang, status=t("profile.review_approved", lang, staff=staff)
    )
    # the staff review in the triage channel (the database's), wherever the button was (review or /wieweet beheer)
    refs = _update_review(turn, expert.id, done, shared_key=SHARED_DONE, lang=lang)
    if not turn.clicked_in(refs):
        turn.tell(t("profile.review_approved", mine, staff=staff))
    turn.home_changed(expert.slack_user_id)


def handle_reject_button(turn: Turn, claim: Versioned) -> None:
    # no modal for others; the service checks again (with the version this button showed)
    turn.actor.require_staff("reject an expert profile", target=f"expert:{claim.subject_id}")
    profile_decisions.get_expert_to_decide(turn.session, expert_id=claim.subject_id)
    profile_reviews.check_review(turn.session, expert_id=claim.subject_id, version=claim.version)
    view = build_reject_profile_modal(turn.lang, expert_id=claim.subject_id, version=claim.version, metadata={})
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_reject_submission(turn: Turn, form: ProfileRejectForm) -> None:
    if reason_missing(turn, form):
        return
    # already decided or gone meanwhile, or not staff: refused, and the user told by DM (``run_submission``)
    turn.actor.require_staff("reject an expert profile", target=f"expert:{form.expert_id}")  # before reading it
    expert = profile_decisions.get_expert_to_decide(turn.session, expert_id=form.expert_id)
    payload, slack_id = profiles.profile_payload(expert, tz=_zone(turn)), expert.slack_user_id
    refs = profile_reviews.review_message_refs(turn.session, expert_id=form.expert_id)  # with staff members' DM copies
    rejected = decide_shown_version(
        turn,
        lambda: profile_decisions.reject_profile(
            turn.session,
            actor=turn.actor,
            expert_id=form.expert_id,
            version=form.version,
            reason=form.reason,
            now=turn.now,
        ),
        changed=profiles.ProfileChanged,
        on_changed=lambda: _changed(turn, form.expert_id),
        submission=True,
    )
    if rejected is None:
        return
    staff, lang = user_mention(turn.user_id) or "?", turn.channel_lang
    status = t("profile.review_rejected", lang, staff=staff, reason=escape_truncate(form.reason, 500))
    done = build_review_done(payload, lang, status=status)
    stand_in = build_shared_stand_in(t(SHARED_DONE, lang, expert_id=form.expert_id), done)
    turn.update_messages(
        refs,
        done.text,
        list(done.blocks),
        about=f"expert:{form.expert_id}",
        if_shared=(stand_in.text, stand_in.blocks),
    )
    turn.home_changed(slack_id)


def handle_remove(turn: Turn, expert_id: int) -> None:
    turn.actor.require_staff("remove an expert", target=f"expert:{expert_id}")  # refused before anything is read
    expert = profiles.get_expert(turn.session, expert_id=expert_id)
    name, slack_id = expert.name, expert.slack_user_id
    profile_decisions.remove_expert(turn.session, actor=turn.actor, expert_id=expert_id, now=turn.now)
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
        blocks = expert_card_blocks(_card(turn, expert), lang)
        turn.respond(text=escape_truncate(expert.name, 150), blocks=blocks, response_type="ephemeral")
        return
    reconfirm = turn.services.settings.reconfirm_days
    routing = turn.services.routing
    held: list[Any] = []
    if routing is not None:  # the questions held back, as the staff's Home tab lists them
        queue = routing.waiting_for_staff(turn.session, limit=HOME_LIST)
        zone = ZoneInfo(turn.services.settings.timezone)
        held = held_blocks([held_item(h, lang, tz=zone) for h in queue.held], queue.held_count, lang)
    data = AdminData(
        stale=[_card(turn, e) for e in profiles.list_stale_profiles(turn.session, now=now, reconfirm_days=reconfirm)],
        pending=[_card(turn, e) for e in profiles.list_pending_profiles(turn.session)],
        extra_blocks=practice_admin_blocks(turn.session, lang),
        queue_blocks=held,
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
