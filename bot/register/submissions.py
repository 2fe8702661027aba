"""Practices submitted from chat, without Slack: submit, edit, and staff moderation (approve, reject, remove).

Anyone may submit a practice; it waits (status ``pending``) until knowledge-centre staff approve it, and only then
is it searchable. Every function takes the acting person (``bot.actors.Actor``) and checks, before writing
anything, that they may do it: the submitter edits their own submission while it waits, staff edit any practice
at any time, and only staff approve, reject and remove. The fields are checked by
``bot.register.validation.validate_practice`` — the very rules of the file import — and problems come back as one
``InvalidRecord`` listing every ``FieldError`` (nothing saved).

Staff learn of a submission through a ``practice_review`` outbox message (the triage channel); the submitter learns
the decision through a ``submission_outcome`` DM. Nothing here commits; every change writes an audit row, and the
matching index follows the commit (``bot.knowledge`` listens to the session), so an approved practice is found at
once and a removed one is gone at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from datetime import date, datetime, tzinfo
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox, staffdm
from bot.actors import Actor
from bot.errors import NotFoundError, WieweetError
from bot.i18n import LANGUAGES, format_date, local_day, t
from bot.outbox import PracticeReview, SubmissionOutcomeKind
from bot.register.export import effective_contact
from bot.register.notify import tell_submission_outcome
from bot.register.practice_import import practice_label, practice_snapshot
from bot.register.profiles import InvalidRecord
from bot.register.themes import ThemeResolver
from bot.register.validation import FieldError, PracticeRecord, comparable, practice_key, validate_practice
from storage import outbox_repo
from storage import register_repo as repo
from storage.models import OutboxKind, Practice, RecordStatus

__all__ = [
    "AlreadyModerated",
    "InvalidRecord",
    "PracticeChanged",
    "approve_practice",
    "form_values",
    "get_practice",
    "get_practice_for_edit",
    "list_pending_practices",
    "practice_payload",
    "practice_version",
    "reject_practice",
    "remove_practice",
    "review_message_ref",
    "review_message_refs",
    "submit_practice",
    "update_practice",
    "work_session_title",
]

NOTE_LIMIT = 2000
# a work session's notes become a practice titled "Werksessie #<proposal id> (<date>): <topic>" in the network's
# language (``bot.needs.proposal_actions``, the catalogue's "needs.session_title"); only staff may give a practice
# such a title in any language, so no member can take a session's title. Matched against the title's
# ``comparable`` form, so full-width letters or format characters do not get round it.


@cache
def work_session_pattern() -> re.Pattern[str]:
    """What starts a work session's title in any catalogue's language ("werksessie #", "work session #")."""
    titles = (t("needs.session_title", lang, id="", date="", label="") for lang in LANGUAGES)
    heads = {comparable(title.partition("#")[0]) for title in titles}
    words = sorted(r"\s*".join(re.escape(word) for word in head.split()) for head in heads if head)
    return re.compile(rf"\s*(?:{'|'.join(words)})\s*#", re.IGNORECASE)


class AlreadyModerated(WieweetError):
    """The practice was already approved or rejected (by someone else, or by a second click)."""

    code = "already_moderated"
    refusal = True


class PracticeChanged(WieweetError):
    """Staff decided on a version of the practice that is not the stored one (its submitter edited it since)."""

    code = "practice_changed"
    refusal = True


# --- reading -------------------------------------------------------------------------------------------------------


def get_practice(session: Session, *, practice_id: int, lock: bool = False) -> Practice:
    practice = repo.get_practice(session, practice_id=practice_id, lock=lock)
    if practice is None:
        raise NotFoundError("no_practice", f"no practice #{practice_id}", values={"practice": practice_id})
    return practice


def get_practice_for_edit(session: Session, *, actor: Actor, practice_id: int) -> Practice:
    """A practice to show in the edit form: the actor's own waiting submission, or any practice for staff."""
    practice = get_practice(session, practice_id=practice_id)
    _require_may_edit(actor, practice)
    return practice


def review_message_refs(session: Session, *, practice_id: int) -> list[dict[str, str]]:
    """Where staff were shown a practice to review: the triage post, and each staff member's DM copy when the triage
    channel could not be reached (``bot.staffdm``); [] if none was sent."""
    ref = review_message_ref(session, practice_id=practice_id)
    copies = staffdm.staff_copies(session, original_key_prefix=f"practice_review:{practice_id}:")
    return [*([ref] if ref else []), *outbox.sent_refs(copies)]


def review_message_ref(session: Session, *, practice_id: int) -> dict[str, str]:
    """Where the staff triage message about a practice was posted (``channel_id``, ``message_ts``); {} if not yet."""
    sent = outbox_repo.list_sent_outbox_messages(
        session, kinds=(OutboxKind.PRACTICE_REVIEW,), dedupe_key_prefix=f"practice_review:{practice_id}:", limit=1
    )
    refs = outbox.sent_refs(sent)
    return refs[0] if refs else {}


def list_pending_practices(session: Session, *, limit: int = 100) -> list[Practice]:
    """Submissions waiting for a staff decision, oldest first."""
    return repo.list_practices_by_status(session, status=RecordStatus.PENDING, limit=limit)


def form_values(practice: Practice | None) -> dict[str, str]:
    """The practice as the form's raw text values (the file columns; lists joined with ``;``)."""
    if practice is None:
        return {}
    snapshot = practice_snapshot(practice)
    return {
        "title": practice.title,
        "summary": practice.summary,
        "city": practice.city,
        "organisation": practice.organisation,
        "themes": "; ".join(snapshot["themes"]),
        "tags": "; ".join(practice.tags),
        "outcome": practice.outcome.value if practice.outcome else "",
        "lessons": practice.lessons,
        "contact_email": snapshot["contact_email"],
        "url": practice.url,
        "year": str(practice.year) if practice.year is not None else "",
    }


# --- submitting and editing ------------------------------------------------------------------------------------------


def submit_practice(
    session: Session, *, actor: Actor, values: Mapping[str, str | None], now: datetime, zone: tzinfo | None = None
) -> Practice:
    """A new practice from chat, waiting for staff approval; staff are told in the triage channel.

    A practice with the same key (title and city) that staff rejected earlier is replaced by the new submission;
    any other practice with that key makes the title an error. ``zone``: the network's (``Settings.timezone``),
    whose day bounds the practice's year.
    """
    record = _validate(session, values, today=local_day(now, zone))
    _require_may_title(actor, record.title)
    holder = _holder(session, record)
    if holder is not None and holder.status is not RecordStatus.REJECTED:
        raise InvalidRecord([_taken()])
    before = _audit_values(holder) if holder is not None else None
    if holder is None:
        practice = repo.create_practice(
            session,
            title=record.title,
            city=record.city,
            summary=record.summary,
            submitted_by=actor.slack_id,
            status=RecordStatus.PENDING,
            now=now,
        )
    else:
        practice = holder
        practice.status = RecordStatus.PENDING
        practice.submitted_by = actor.slack_id
        practice.moderation_note = ""
    _write(session, practice, record, now=now)
    _audit(session, actor=actor, action="submit", practice=practice, before=before, now=now)
    outbox.enqueue(
        session, practice_payload(practice), dedupe_key=f"practice_review:{practice.id}:{now.isoformat()}", now=now
    )
    return practice


def update_practice(
    session: Session,
    *,
    actor: Actor,
    practice_id: int,
    values: Mapping[str, str | None],
    now: datetime,
    keep: Collection[str] = (),
    zone: tzinfo | None = None,
) -> Practice:
    """Change a practice's fields: the submitter while it waits for approval, staff at any time. ``keep``: fields
    the form left out (too long for it) that stay as stored, whatever ``values`` holds for them. ``zone``: as for
    ``submit_practice``."""
    practice = get_practice(session, practice_id=practice_id)
    _require_may_edit(actor, practice)
    stored = form_values(practice)
    values = {**values, **{name: stored[name] for name in keep if name in stored}}
    # a link stored before https was required may stay as it is; a new or changed one must be https
    same_url = (values.get("url") or "").strip() == practice.url
    record = _validate(session, values, today=local_day(now, zone), allow_http=same_url)
    if record.title != practice.title:
        _require_may_title(actor, record.title)
    holder = _holder(session, record)
    if holder is not None and holder.id != practice.id:
        raise InvalidRecord([_taken()])
    before = _audit_values(practice)
    _write(session, practice, record, now=now)
    _audit(session, actor=actor, action="update", practice=practice, before=before, now=now)
    return practice


# --- staff -------------------------------------------------------------------------------------------------------


def approve_practice(
    session: Session, *, actor: Actor, practice_id: int, version: str | None, now: datetime, note: str = ""
) -> Practice:
    """Publish a waiting submission (searchable from the commit on) and tell the submitter.

    ``version``: the ``practice_version`` staff were shown; when the practice changed since (its submitter edited
    it), nothing is published and ``PracticeChanged`` is raised. None: no version was shown (a staff command)."""
    actor.require_staff("approve a practice", target=f"practice:{practice_id}")
    return _decide(session, actor=actor, practice_id=practice_id, version=version, approve=True, note=note, now=now)


def reject_practice(
    session: Session, *, actor: Actor, practice_id: int, version: str | None, reason: str, now: datetime
) -> Practice:
    """Refuse a waiting submission with a reason; it is kept (rejected, never shown) and the submitter told why.
    ``version`` as for ``approve_practice``: a practice edited since staff read it is not rejected unseen."""
    actor.require_staff("reject a practice", target=f"practice:{practice_id}")
    return _decide(session, actor=actor, practice_id=practice_id, version=version, approve=False, note=reason, now=now)


def _decide(
    session: Session, *, actor: Actor, practice_id: int, version: str | None, approve: bool, note: str, now: datetime
) -> Practice:
    practice = _waiting(session, practice_id)
    if version is not None and version != practice_version(practice):
        raise PracticeChanged("practice_changed", f"practice #{practice_id} was edited after staff read it")
    before = _audit_values(practice)
    practice.status = RecordStatus.PUBLISHED if approve else RecordStatus.REJECTED
    practice.moderation_note = note.strip()[:NOTE_LIMIT]
    repo.update_practice(session, practice=practice, values={}, now=now)
    session.flush()
    _audit(session, actor=actor, action="approve" if approve else "reject", practice=practice, before=before, now=now)
    outcome = SubmissionOutcomeKind.PRACTICE_APPROVED if approve else SubmissionOutcomeKind.PRACTICE_REJECTED
    _tell_submitter(session, practice, outcome=outcome, note=practice.moderation_note, now=now)
    return practice


def remove_practice(session: Session, *, actor: Actor, practice_id: int, now: datetime) -> str:
    """Staff delete a practice from the register (any state). Returns its label (title and city)."""
    actor.require_staff("remove a practice", target=f"practice:{practice_id}")
    practice = get_practice(session, practice_id=practice_id)
    before = _audit_values(practice)
    label = practice_label(practice.title, practice.city)
    repo.delete_practice(session, practice=practice)
    repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action="delete",
        entity_type="practice",
        entity_key=label,
        before=before,
        after=None,
        now=now,
    )
    return label


# --- helpers -----------------------------------------------------------------------------------------------------


def practice_payload(practice: Practice) -> PracticeReview:
    """What a staff message or a card about a practice shows (rendered by the Slack layer)."""
    return PracticeReview(
        practice_id=practice.id,
        title=practice.title,
        summary=practice.summary,
        city=practice.city,
        organisation=practice.organisation,
        themes=tuple(sorted(t.key for t in practice.themes)),
        theme_labels={t.key: {"nl": t.label_nl, "en": t.label_en} for t in practice.themes},
        tags=tuple(practice.tags),
        outcome=practice.outcome,
        lessons=practice.lessons,
        contact_email=effective_contact(practice),
        url=practice.url,
        year=practice.year,
        status=practice.status,
        submitted_by=practice.submitted_by,
        moderation_note=practice.moderation_note,
        version=practice_version(practice),
    )


def practice_version(practice: Practice) -> str:
    """A short fingerprint of everything a submitter can edit: what staff saw, to approve or reject that version."""
    text = json.dumps(form_values(practice), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def work_session_title(proposal_id: int, day: date, label: str, lang: str) -> str:
    """The title of the practice made from a work session's notes, in ``lang`` (``work_session_pattern``)."""
    return t("needs.session_title", lang, id=proposal_id, date=format_date(day, lang, year=True), label=label)[:300]


def _require_may_title(actor: Actor, title: str) -> None:
    if not actor.is_staff and work_session_pattern().match(comparable(title)):
        raise InvalidRecord(
            [FieldError("title", "title_reserved", "titles starting with a work session's prefix are for its notes")]
        )


def _holder(session: Session, record: PracticeRecord) -> Practice | None:
    """The stored practice with the record's key (``practice_key``, as the file import compares), or None."""
    found = repo.get_practice_by_key(session, title=record.title, city=record.city)  # the usual case, by index
    if found is not None:
        return found
    return next((p for p in repo.list_practices(session) if practice_key(p.title, p.city) == record.key), None)


def _require_may_edit(actor: Actor, practice: Practice) -> None:
    actor.require_self_or_staff(practice.submitted_by, "edit a practice", target=f"practice:{practice.id}")
    if not actor.is_staff and practice.status is not RecordStatus.PENDING:
        raise AlreadyModerated("already_moderated", "this practice was already handled by the knowledge centre")


def _waiting(session: Session, practice_id: int) -> Practice:
    practice = get_practice(session, practice_id=practice_id, lock=True)
    if practice.status is not RecordStatus.PENDING:
        raise AlreadyModerated("already_moderated", f"practice #{practice_id} is {practice.status.value}")
    return practice


def _validate(
    session: Session, values: Mapping[str, str | None], *, today: date, allow_http: bool = False
) -> PracticeRecord:
    resolver = ThemeResolver.for_session(session)
    record, errors = validate_practice(values, themes=resolver, today=today, allow_http=allow_http)
    if record is None:
        raise InvalidRecord(errors)
    return record


def _taken() -> FieldError:
    return FieldError(
        "title", "practice_taken", "a practice with this title and city is already in the register (or waiting)"
    )


def _write(session: Session, practice: Practice, record: PracticeRecord, *, now: datetime) -> None:
    """Set the validated fields, as the import does (a contact address of a registered expert links that expert)."""
    contact = repo.get_expert_by_email(session, email=record.contact_email) if record.contact_email else None
    repo.update_practice(
        session,
        practice=practice,
        values={
            "title": record.title,
            "summary": record.summary,
            "city": record.city,
            "organisation": record.organisation,
            "themes": list(repo.get_themes_by_keys(session, keys=list(record.themes)).values()),
            "tags": list(record.tags),
            "outcome": record.outcome,
            "lessons": record.lessons,
            "contact_email": record.contact_email,
            "contact_expert": contact,
            "url": record.url,
            "year": record.year,
        },
        now=now,
    )
    session.flush()


def _audit_values(practice: Practice) -> dict[str, Any]:
    return {
        **practice_snapshot(practice),
        "status": practice.status.value,
        "submitted_by": practice.submitted_by,
        "moderation_note": practice.moderation_note,
    }


def _audit(
    session: Session, *, actor: Actor, action: str, practice: Practice, before: dict[str, Any] | None, now: datetime
) -> None:
    repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=action,
        entity_type="practice",
        entity_key=practice_label(practice.title, practice.city),
        before=before,
        after=_audit_values(practice),
        now=now,
    )


def _tell_submitter(
    session: Session, practice: Practice, *, outcome: SubmissionOutcomeKind, note: str, now: datetime
) -> None:
    tell_submission_outcome(
        session,
        recipient_slack_id=practice.submitted_by,
        subject="practice",
        subject_id=practice.id,
        outcome=outcome,
        title=practice.title,
        note=note,
        now=now,
    )
