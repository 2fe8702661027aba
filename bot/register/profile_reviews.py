"""The staff reviews of expert profiles: where each submission's review was posted, and which submission a staff
decision is about.

A profile is submitted for review when it is made (with ``WIEWEET_EXPERT_APPROVAL``) and again each time its owner
fills it in after a rejection; each submission is queued under its own outbox key (``review_key``) and its review's
buttons carry the profile's content fingerprint followed by a stamp of that key. A decision from the review of an
earlier submission is refused (``ReviewReplaced``), even when the content filled in again is the same.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from bot import outbox, staffdm
from bot.errors import WieweetError
from storage import outbox_repo
from storage.models import OutboxKind, OutboxMessage

FINGERPRINT_LENGTH = 16  # ``profiles.profile_version``
_STAMP_LENGTH = 8


class ReviewReplaced(WieweetError):
    """Staff decided from the review of an earlier submission of the profile: it was filled in again since (after a
    rejection), and that newer submission has its own review."""

    code = "profile_replaced"
    refusal = True


def review_key(expert_id: int, now: datetime) -> str:
    """The outbox key of the staff review of one submission of profile ``expert_id`` (made at ``now``): one per
    submission, so a rejected profile filled in again is posted for review again. Reviews queued before keys had
    the time carry ``profile_review:<id>`` alone (``review_message_ref`` finds both)."""
    return f"{_review_prefix(expert_id)}{now.isoformat()}"


def _review_prefix(expert_id: int) -> str:
    return f"profile_review:{expert_id}:"


def submission_stamp(key: str) -> str:
    """A short stamp of one submission (the key of its review), added to the version its review's buttons carry."""
    return hashlib.sha256(key.encode()).hexdigest()[:_STAMP_LENGTH]


def current_submission(session: Session, *, expert_id: int) -> str:
    """The stamp of the profile's latest submission for review ("" when none is on record: never submitted, or its
    review purged): what a staff decision must name to decide on it (``review_version``)."""
    keys = _review_keys(session, expert_id=expert_id)
    return submission_stamp(keys[0]) if keys else ""


def _review_keys(session: Session, *, expert_id: int) -> list[str]:
    """The outbox keys of the profile's two latest submissions for review, newest first."""
    prefix, legacy = _review_prefix(expert_id), f"profile_review:{expert_id}"
    return outbox_repo.list_outbox_keys(session, kind=OutboxKind.PROFILE_REVIEW, prefix=prefix, key=legacy, limit=2)


def check_review(session: Session, *, expert_id: int, version: str) -> None:
    """Refuse (``ReviewReplaced``) a decision whose ``version`` (``profiles.review_version``) names an earlier
    submission of the profile than its latest: after a rejection, the same content filled in again is a new
    submission that staff review anew, never approved from the earlier review's buttons. A button made before
    stamps were shown carries none: it is taken for the latest submission only while there was just one."""
    stamp = version[FINGERPRINT_LENGTH:]
    keys = _review_keys(session, expert_id=expert_id)
    if not keys:  # nothing on record to tell submissions apart
        return
    replaced = stamp != submission_stamp(keys[0]) if stamp else len(keys) > 1
    if replaced:
        raise ReviewReplaced("profile_replaced", f"profile #{expert_id} was submitted again after this review")


def review_message_ref(session: Session, *, expert_id: int) -> dict[str, str]:
    """Where the staff review of the profile's latest submission was posted (``channel_id``, ``message_ts``); {} if
    not (yet)."""
    sent = outbox_repo.list_sent_outbox_messages(
        session, kinds=(OutboxKind.PROFILE_REVIEW,), dedupe_key_prefix=_review_prefix(expert_id), limit=1
    )
    if not sent:  # a review queued before keys had the submission's time
        old = outbox_repo.get_sent_outbox_message(session, dedupe_key=f"profile_review:{expert_id}")
        sent = [old] if old is not None else []
    refs = outbox.sent_refs(sent)
    return refs[0] if refs else {}


def review_message_refs(session: Session, *, expert_id: int) -> list[dict[str, str]]:
    """The review's triage post and each staff member's DM copy (the channel was not reached: ``bot.staffdm``)."""
    ref = review_message_ref(session, expert_id=expert_id)
    return [*([ref] if ref else []), *outbox.sent_refs(_latest_copies(session, expert_id=expert_id))]


def _latest_copies(session: Session, *, expert_id: int) -> list[OutboxMessage]:
    """The staff DM copies of the review of the profile's latest submission only: an earlier submission's copies
    keep what they showed (its decision), as its triage post does. A copy's key is ``staff_dm_key(review key,
    user)``; with no review on record (purged), the newest copy's review counts as the latest."""
    copies = staffdm.staff_copies(session, original_key_prefix=_review_prefix(expert_id))  # old keys' copies too
    keys = _review_keys(session, expert_id=expert_id)
    latest = keys[0] if keys else (staffdm.copy_original_key(copies[0]) if copies else "")
    return [copy for copy in copies if staffdm.copy_original_key(copy) == latest]
