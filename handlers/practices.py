"""Practices from chat in Slack: the practice modal, the "Bewaar als praktijk" shortcut, staff moderation.

Thin listeners: ack, parse, call ``bot.register.submissions`` with the clicking user as the ``Actor``, render with
``handlers.practice_blocks``, send. Button values carry practice ids only; whether the clicking user may act is
decided by the service layer (a forged payload is refused there, and logged by ``handlers.errors``). Messages the
service queues (the staff triage post, the submitter's outcome DM) are sent right after the request commits.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from sqlalchemy.orm import Session

from bot.errors import WieweetError
from bot.i18n import N_, t
from bot.matching.loader import load_themes
from bot.mrkdwn import escape_truncate, user_mention
from bot.register import submissions
from bot.register.profiles import InvalidRecord
from handlers import claims, ids
from handlers.context import Services, Turn, listener
from handlers.errors import refuse_in_form
from handlers.practice_blocks import (
    build_pending_practices,
    build_practice_modal,
    build_practice_review,
    build_practice_review_done,
    build_practice_submitted,
    build_reject_practice_modal,
    practice_field_errors,
    prefill_from_message,
    read_practice_form,
)
from handlers.routing_blocks import Rendered, ThemeChoice, theme_choices
from handlers.whoknows import strip_mentions
from storage.models import Practice, RecordStatus

PRACTICE_WORDS = frozenset({"praktijk", "practice"})  # alone: anything after it may be a question to search
SHARE_PREFIXES = ("praktijk delen", "deel praktijk", "share practice")  # may be followed by the title


def practice_admin_blocks(session: Session, lang: str, *, limit: int = 5) -> list[Block]:
    """For the staff overview (``/wieweet beheer``): the practices waiting for approval, as cards with buttons."""
    pending = submissions.list_pending_practices(session)
    return build_pending_practices([submissions.practice_payload(p) for p in pending], lang, limit=limit)


# --- helpers -------------------------------------------------------------------------------------------------------


def _practice_id(turn: Turn) -> int:
    """The practice a button is about (block id "<review|card>:<id>" and value: claims the services check)."""
    return claims.clicked_id(
        turn.body, what="practice", block_prefixes=(ids.BLOCK_PRACTICE_REVIEW, ids.BLOCK_PRACTICE_CARD)
    )


def _themes(turn: Turn) -> list[ThemeChoice]:
    return theme_choices(load_themes(turn.session), turn.lang)


def _review_refs(turn: Turn, practice_id: int) -> list[dict[str, str]]:
    """The staff triage message about a practice, where the outbox posted it (the database's, never a payload's)."""
    ref = submissions.review_message_ref(turn.session, practice_id=practice_id)
    return [ref] if ref else []


def _update_review(turn: Turn, refs: list[dict[str, str]], rendered: Rendered, practice_id: int) -> None:
    """Re-render the staff message (in the triage channel's language: the default one), once committed."""
    turn.update_messages(refs, rendered.text, rendered.blocks, about=f"practice:{practice_id}")


def _staff_lang(turn: Turn) -> str:
    return turn.services.settings.default_language


def _staff_label(turn: Turn) -> str:
    return user_mention(turn.user_id) or "?"


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
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def route_practice_command(turn: Turn, text: str) -> bool:
    """``/wieweet praktijk`` (or ``praktijk delen <title>``): open the practice modal; False for anything else."""
    folded = " ".join(text.casefold().split())
    if folded in PRACTICE_WORDS:
        open_practice_modal(turn, values={})
        return True
    for prefix in SHARE_PREFIXES:
        if folded == prefix or folded.startswith(prefix + " "):
            title = " ".join(text.split()[len(prefix.split()) :])
            open_practice_modal(turn, values={"title": title})
            return True
    return False


def handle_save_practice_shortcut(turn: Turn) -> None:
    """Message shortcut "Bewaar als praktijk": the modal pre-filled from the message, linking back to it."""
    turn.ack()
    message = turn.body.get("message") or {}
    channel = str((turn.body.get("channel") or {}).get("id") or "")
    ts = str(message.get("ts") or turn.body.get("message_ts") or "")
    permalink = ""
    if channel and ts:
        try:
            permalink = str(turn.client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or "")
        except SlackApiError:  # not a channel the bot can see: no link, the rest is still filled in
            permalink = ""
    values = prefill_from_message(strip_mentions(str(message.get("text") or "")), permalink=permalink)
    open_practice_modal(turn, values=values, from_message=True)


# --- submitting and editing ----------------------------------------------------------------------------------------


def handle_practice_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = read_practice_form((view.get("state") or {}).get("values") or {})
    lang = turn.lang
    try:
        raw_id = claims.optional_metadata_id(claims.view_metadata(turn.body), "practice_id", what="practice")
        if raw_id is None:
            practice = submissions.submit_practice(turn.session, actor=turn.actor, values=values, now=turn.now)
        else:
            practice = submissions.update_practice(
                turn.session, actor=turn.actor, practice_id=raw_id, values=values, now=turn.now
            )
    except InvalidRecord as exc:
        # shown under the fields; the modal stays open and nothing was written
        turn.ack(response_action="errors", errors=practice_field_errors(exc.errors, lang))
        turn.context["wieweet_outcome"] = "invalid " + ",".join(sorted({e.column for e in exc.errors}))
        return
    except WieweetError as exc:
        refuse_in_form(turn, exc, ids.practice_block("title"))
        return
    turn.ack()
    payload = submissions.practice_payload(practice)
    if raw_id is None:
        turn.queued_messages()
        rendered = build_practice_submitted(payload, lang)
        turn.dm(rendered.text, rendered.blocks)
        turn.context["wieweet_outcome"] = f"submitted practice {practice.id}"
        return
    turn.tell(t("practice.saved", lang, title=escape_truncate(practice.title, 300)))
    if practice.status is RecordStatus.PENDING:  # the triage message shows what staff will approve
        status = t("practice.review_edited", _staff_lang(turn), staff=_staff_label(turn))
        rendered = build_practice_review(payload, _staff_lang(turn), status=status)
        _update_review(turn, _review_refs(turn, practice.id), rendered, practice.id)
    turn.context["wieweet_outcome"] = f"updated practice {practice.id}"


def handle_edit_button(turn: Turn) -> None:
    turn.ack()
    practice = submissions.get_practice_for_edit(turn.session, actor=turn.actor, practice_id=_practice_id(turn))
    open_practice_modal(turn, values=submissions.form_values(practice), practice_id=practice.id)


# --- staff moderation ----------------------------------------------------------------------------------------------


def _decided(turn: Turn, practice: Practice, *, status: str, done_key: str) -> None:
    """After a decision: the triage message shows it (no buttons); from elsewhere, the staff member is told."""
    rendered = build_practice_review_done(submissions.practice_payload(practice), _staff_lang(turn), status=status)
    refs = _review_refs(turn, practice.id)
    _update_review(turn, refs, rendered, practice.id)
    clicked = claims.clicked_message(turn.body)
    if clicked is None or clicked.as_ref() not in refs:
        turn.tell(t(done_key, turn.lang, title=escape_truncate(practice.title, 300)))


def handle_approve(turn: Turn) -> None:
    turn.ack()
    practice_id = _practice_id(turn)
    practice = submissions.approve_practice(turn.session, actor=turn.actor, practice_id=practice_id, now=turn.now)
    turn.queued_messages()
    status = t("practice.review_approved", _staff_lang(turn), staff=_staff_label(turn))
    _decided(turn, practice, status=status, done_key=N_("practice.approved_done"))
    turn.context["wieweet_outcome"] = f"approved practice {practice.id}"


def handle_reject_button(turn: Turn) -> None:
    turn.ack()
    practice_id = _practice_id(turn)
    # no modal for non-staff; the service checks again on submit
    turn.actor.require_staff("reject a practice", target=f"practice:{practice_id}")
    view = build_reject_practice_modal(turn.lang, practice_id=practice_id, metadata={})
    turn.client.views_open(trigger_id=str(turn.body.get("trigger_id")), view=view)


def handle_reject_submission(turn: Turn) -> None:
    view = turn.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    entry = (values.get(ids.BLOCK_PRACTICE_REJECT_REASON) or {}).get(ids.INPUT_PRACTICE_REJECT_REASON) or {}
    reason = str(entry.get("value") or "").strip()
    if not reason:
        turn.ack(response_action="errors", errors={ids.BLOCK_PRACTICE_REJECT_REASON: t("field.missing", turn.lang)})
        return
    try:
        practice_id = claims.metadata_id(claims.view_metadata(turn.body), "practice_id", what="practice")
        practice = submissions.reject_practice(
            turn.session, actor=turn.actor, practice_id=practice_id, reason=reason, now=turn.now
        )
    except WieweetError as exc:
        refuse_in_form(turn, exc, ids.BLOCK_PRACTICE_REJECT_REASON)
        return
    turn.ack()
    turn.queued_messages()
    lang = _staff_lang(turn)
    status = t("practice.review_rejected", lang, staff=_staff_label(turn), reason=escape_truncate(reason, 1500))
    _decided(turn, practice, status=status, done_key=N_("practice.rejected_done"))
    turn.context["wieweet_outcome"] = f"rejected practice {practice.id}"


def handle_remove(turn: Turn) -> None:
    turn.ack()
    practice_id = _practice_id(turn)
    # before reading it; the service checks again
    turn.actor.require_staff("remove a practice", target=f"practice:{practice_id}")
    practice = submissions.get_practice(turn.session, practice_id=practice_id)
    payload = submissions.practice_payload(practice)
    refs = _review_refs(turn, practice_id) if practice.status is RecordStatus.PENDING else []
    label = submissions.remove_practice(turn.session, actor=turn.actor, practice_id=practice_id, now=turn.now)
    status = t("practice.review_removed", _staff_lang(turn), staff=_staff_label(turn))
    _update_review(turn, refs, build_practice_review_done(payload, _staff_lang(turn), status=status), practice_id)
    turn.tell(t("practice.removed", turn.lang, title=escape_truncate(label, 300)))
    turn.context["wieweet_outcome"] = f"removed practice {practice_id}"


def register(app: App, services: Services) -> None:
    app.shortcut(ids.SHORTCUT_SAVE_PRACTICE)(listener(services, "shortcut", handle_save_practice_shortcut))
    app.view(ids.VIEW_PRACTICE)(listener(services, "view", handle_practice_submission))
    app.action(ids.ACTION_PRACTICE_EDIT)(listener(services, "action", handle_edit_button))
    app.action(ids.ACTION_PRACTICE_APPROVE)(listener(services, "action", handle_approve))
    app.action(ids.ACTION_PRACTICE_REJECT)(listener(services, "action", handle_reject_button))
    app.view(ids.VIEW_PRACTICE_REJECT)(listener(services, "view", handle_reject_submission))
    app.action(ids.ACTION_PRACTICE_REMOVE)(listener(services, "action", handle_remove))
