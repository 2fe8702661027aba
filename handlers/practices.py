"""Practices from chat in Slack: the practice modal, the "Bewaar als praktijk" shortcut, staff moderation.

Thin listeners: ack, parse, call ``bot.register.submissions`` with the clicking user as the ``Actor``, render with
``handlers.blocks.practice``, send. Button values carry practice ids (Approve and Reject also the version of the
practice they showed: a practice edited since is not decided unseen); whether the clicking user may act is
decided by the service layer (a forged payload is refused there, and logged by ``handlers.errors``). Messages the
service queues (the staff triage post, the submitter's outcome DM) are sent right after the request commits.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.i18n import N_, t
from bot.matching.loader import load_themes
from bot.register import submissions
from bot.register.profiles import InvalidRecord
from bot.register.validation import ANY_THEME, validate_practice
from handlers.blocks.practice import (
    build_pending_practices,
    build_practice_modal,
    build_practice_review,
    build_practice_review_done,
    build_practice_submitted,
    build_reject_practice_modal,
    practice_field_errors,
    prefill_from_message,
)
from handlers.claims import Versioned
from handlers.forms import Draft, PracticeForm, PracticeRejectForm, required
from handlers.kit import (
    Rendered,
    ThemeChoice,
    build_shared_stand_in,
    escape_truncate,
    theme_choices,
)
from handlers.moderation import decide_shown_version, reason_missing
from handlers.slack_text import question_from_slack
from handlers.turn import Turn
from storage.models import Practice, RecordStatus
from storage.session import Session

PRACTICE_WORDS = frozenset({"praktijk", "practice"})  # alone: anything after it may be a question to search
SHARE_PREFIXES = ("praktijk delen", "deel praktijk", "share practice")  # may be followed by the title


def practice_admin_blocks(session: Session, lang: str, *, limit: int = 5) -> list[Block]:
    """For the staff overview (``/wieweet beheer``): the practices waiting for approval, as cards with buttons."""
    pending = submissions.list_pending_practices(session)
    return build_pending_practices([submissions.practice_payload(p) for p in pending], lang, limit=limit)


# --- helpers -------------------------------------------------------------------------------------------------------


def _themes(turn: Turn) -> list[ThemeChoice]:
    return theme_choices(load_themes(turn.session), turn.lang)


def _review_refs(turn: Turn, practice_id: int) -> list[dict[str, str]]:
    """The staff triage message about a practice, where the outbox posted it (the database's, never a payload's), and
    each staff member's DM copy when the triage channel could not be reached."""
    return submissions.review_message_refs(turn.session, practice_id=practice_id)


SHARED_DONE = N_("practice.review_shared_done")  # practice #{practice_id} was decided or removed
SHARED_WAITING = N_("practice.review_shared_waiting")  # practice #{practice_id} changed and waits


def _update_review(
    turn: Turn, refs: list[dict[str, str]], rendered: Rendered, practice_id: int, *, shared_key: str = SHARED_DONE
) -> None:
    """Re-render the staff message (in the triage channel's language: the default one), once committed. In a channel
    shared with another organisation by then it shows ``shared_key`` with the number and the buttons alone: not the
    practice, its submitter, a reason or who decided."""
    stand_in = build_shared_stand_in(t(shared_key, turn.channel_lang, practice_id=practice_id), rendered)
    turn.update_messages(
        refs,
        rendered.text,
        rendered.blocks,
        about=f"practice:{practice_id}",
        if_shared=(stand_in.text, stand_in.blocks),
    )


# --- opening the modal ---------------------------------------------------------------------------------------------


def open_practice_modal(
    turn: Turn,
    *,
    values: dict[str, str],
    practice_id: int | None = None,
    metadata: dict[str, Any] | None = None,
    from_message: bool = False,
) -> None:
    view = build_practice_modal(
        turn.lang,
        values=values,
        themes=_themes(turn),
        practice_id=practice_id,
        metadata=metadata,
        from_message=from_message,
    )
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def _share_prefix(folded: str) -> str | None:
    return next((p for p in SHARE_PREFIXES if folded == p or folded.startswith(p + " ")), None)


def is_practice_command(text: str) -> bool:
    """Whether ``text`` is ``praktijk`` or ``praktijk delen <title>`` (from the text alone)."""
    folded = " ".join(text.casefold().split())
    return folded in PRACTICE_WORDS or _share_prefix(folded) is not None


def route_practice_command(turn: Turn, text: str) -> bool:
    """``/wieweet praktijk`` (or ``praktijk delen <title>``): open the practice modal; False for anything else."""
    folded = " ".join(text.casefold().split())
    if folded in PRACTICE_WORDS:
        open_practice_modal(turn, values={})
        return True
    prefix = _share_prefix(folded)
    if prefix is not None:
        title = " ".join(text.split()[len(prefix.split()) :])
        open_practice_modal(turn, values={"title": title})
        return True
    return False


def handle_save_practice_shortcut(turn: Turn) -> None:
    """Message shortcut "Bewaar als praktijk": the modal pre-filled from the message, linking back to it."""
    message = turn.body.get("message") or {}
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    ts = str(message.get("ts") or turn.body.get("message_ts") or "")
    permalink = ""
    if channel and ts:
        try:
            permalink = str(turn.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or "")
        except SlackApiError:  # not a channel the bot can see: no link, the rest is still filled in
            permalink = ""
    values = prefill_from_message(question_from_slack(str(message.get("text") or "")), permalink=permalink)
    open_practice_modal(turn, values=values, from_message=True)


# --- submitting and editing ----------------------------------------------------------------------------------------


def check_practice_form(form: PracticeForm, draft: Draft) -> dict[str, str]:
    """Before the ack: the fields' own rules (required, lengths, formats); the themes and a title already taken are
    the service's to check when it saves."""
    _, errors = validate_practice(form.values, themes=ANY_THEME, today=draft.today)
    errors = [e for e in errors if e.column not in form.keep]  # left out of the form, kept as stored when saved
    if form.practice_id is not None:  # an http link stored before https was required may stay: the service checks
        errors = [e for e in errors if e.code != "insecure_url"]
    return practice_field_errors(errors, draft.lang) if errors else {}


def check_reject_form(form: PracticeRejectForm, draft: Draft) -> dict[str, str]:
    return required(form.ERROR_BLOCK, form.reason, draft)


def handle_practice_submission(turn: Turn, form: PracticeForm) -> None:
    lang = turn.lang
    zone = ZoneInfo(turn.services.settings.timezone)  # the network's day bounds a practice's year
    try:
        if form.practice_id is None:
            practice = submissions.submit_practice(
                turn.session, actor=turn.actor, values=form.values, now=turn.now, zone=zone
            )
        else:
            practice = submissions.update_practice(
                turn.session,
                actor=turn.actor,
                practice_id=form.practice_id,
                values=form.values,
                now=turn.now,
                keep=form.keep,
                zone=zone,
            )
    except InvalidRecord as exc:
        # the database's checks (themes, a title taken): nothing written, the user told by DM with their text
        turn.form_errors(practice_field_errors(exc.errors, lang))
        turn.outcome = "invalid " + ",".join(sorted({e.column for e in exc.errors}))
        return
    turn.ack()
    payload = submissions.practice_payload(practice)
    if form.practice_id is None:
        turn.queued_messages()
        rendered = build_practice_submitted(payload, lang)
        turn.dm(rendered.text, rendered.blocks)
        turn.outcome = f"submitted practice {practice.id}"
        return
    turn.tell(t("practice.saved", lang, title=escape_truncate(practice.title, 300)))
    if practice.status is RecordStatus.PENDING:  # the triage message shows what staff will approve
        status = t("practice.review_edited", turn.channel_lang, staff=turn.staff_label)
        rendered = build_practice_review(payload, turn.channel_lang, status=status)
        _update_review(turn, _review_refs(turn, practice.id), rendered, practice.id, shared_key=SHARED_WAITING)
    turn.outcome = f"updated practice {practice.id}"


def handle_edit_button(turn: Turn, practice_id: int) -> None:
    practice = submissions.get_practice_for_edit(turn.session, actor=turn.actor, practice_id=practice_id)
    open_practice_modal(turn, values=submissions.form_values(practice), practice_id=practice.id)


# --- staff moderation ----------------------------------------------------------------------------------------------


def _decided(turn: Turn, practice: Practice, *, status: str, done_key: str) -> None:
    """After a decision: the triage message shows it (no buttons); from elsewhere, the staff member is told."""
    rendered = build_practice_review_done(submissions.practice_payload(practice), turn.channel_lang, status=status)
    refs = _review_refs(turn, practice.id)
    _update_review(turn, refs, rendered, practice.id)
    if not turn.clicked_in(refs):
        turn.tell(t(done_key, turn.lang, title=escape_truncate(practice.title, 300)))


def _changed(turn: Turn, practice_id: int) -> None:
    """A decision on a version staff were not shown (the submitter edited it since): nothing decided; the review
    message shows the stored version, with buttons for it, and the staff member is told to read it again."""
    payload = submissions.practice_payload(submissions.get_practice(turn.session, practice_id=practice_id))
    status = t("practice.review_changed", turn.channel_lang)
    _update_review(
        turn,
        _review_refs(turn, practice_id),
        build_practice_review(payload, turn.channel_lang, status=status),
        practice_id,
        shared_key=SHARED_WAITING,
    )
    turn.tell(t("error.practice_changed", turn.lang))
    turn.outcome = f"refused practice {practice_id}: changed since shown"


def handle_approve(turn: Turn, claim: Versioned) -> None:
    decided = decide_shown_version(
        turn,
        lambda: submissions.approve_practice(
            turn.session, actor=turn.actor, practice_id=claim.subject_id, version=claim.version, now=turn.now
        ),
        changed=submissions.PracticeChanged,
        on_changed=lambda: _changed(turn, claim.subject_id),
    )
    if decided is None:
        return
    (practice,) = decided
    status = t("practice.review_approved", turn.channel_lang, staff=turn.staff_label)
    _decided(turn, practice, status=status, done_key=N_("practice.approved_done"))
    turn.outcome = f"approved practice {practice.id}"


def handle_reject_button(turn: Turn, claim: Versioned) -> None:
    # no modal for non-staff; the service checks again on submit (with the version this button showed)
    turn.actor.require_staff("reject a practice", target=f"practice:{claim.subject_id}")
    view = build_reject_practice_modal(turn.lang, practice_id=claim.subject_id, version=claim.version, metadata={})
    turn.client.views_open(trigger_id=turn.trigger_id, view=view)


def handle_reject_submission(turn: Turn, form: PracticeRejectForm) -> None:
    if reason_missing(turn, form):
        return
    decided = decide_shown_version(
        turn,
        lambda: submissions.reject_practice(
            turn.session,
            actor=turn.actor,
            practice_id=form.practice_id,
            version=form.version,
            reason=form.reason,
            now=turn.now,
        ),
        changed=submissions.PracticeChanged,
        on_changed=lambda: _changed(turn, form.practice_id),
        submission=True,
    )
    if decided is None:
        return
    (practice,) = decided
    lang = turn.channel_lang
    reason = escape_truncate(form.reason, 1500)
    status = t("practice.review_rejected", lang, staff=turn.staff_label, reason=reason)
    _decided(turn, practice, status=status, done_key=N_("practice.rejected_done"))
    turn.outcome = f"rejected practice {practice.id}"


def handle_remove(turn: Turn, practice_id: int) -> None:
    # before reading it; the service checks again
    turn.actor.require_staff("remove a practice", target=f"practice:{practice_id}")
    practice = submissions.get_practice(turn.session, practice_id=practice_id)
    payload = submissions.practice_payload(practice)
    refs = _review_refs(turn, practice_id) if practice.status is RecordStatus.PENDING else []
    label = submissions.remove_practice(turn.session, actor=turn.actor, practice_id=practice_id, now=turn.now)
    status = t("practice.review_removed", turn.channel_lang, staff=turn.staff_label)
    _update_review(turn, refs, build_practice_review_done(payload, turn.channel_lang, status=status), practice_id)
    turn.tell(t("practice.removed", turn.lang, title=escape_truncate(label, 300)))
    turn.outcome = f"removed practice {practice_id}"
