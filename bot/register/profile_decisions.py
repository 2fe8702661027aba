"""Staff decide on expert profiles: approve or reject one waiting for approval (the version they were shown, the
submission they decided on: ``bot.register.profile_reviews``), and remove one from the register; the owner is told
of the decision. Every decision is audited.

The profiles themselves (joining, editing, availability, what staff are shown) are ``bot.register.profiles``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.outbox import SubmissionOutcomeKind
from bot.register.expert_import import expert_audit
from bot.register.notify import tell_submission_outcome
from bot.register.profile_reviews import FINGERPRINT_LENGTH, check_review, review_message_ref
from bot.register.profiles import ProfileChanged, ProfileStateError, audit_change, get_expert, profile_version
from storage import register_repo as repo
from storage.models import Expert, RecordStatus, is_stopped


def approve_profile(session: Session, *, actor: Actor, expert_id: int, version: str | None, now: datetime) -> Expert:
    """Publish a profile waiting for approval. ``version``: the ``profile_version`` staff were shown; when the owner
    changed the profile since, nothing is published and ``ProfileChanged`` is raised (None: no version was shown)."""
    actor.require_staff("approve an expert profile", target=f"expert:{expert_id}")
    expert = _waiting(session, expert_id, version=version)
    before = expert_audit(expert)
    expert.status = RecordStatus.PUBLISHED
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    audit_change(session, actor=actor, action="approve", expert=expert, before=before, now=now)
    _tell_owner(session, expert, outcome=SubmissionOutcomeKind.PROFILE_APPROVED, note="", now=now)
    return expert


def reject_profile(
    session: Session, *, actor: Actor, expert_id: int, version: str | None, reason: str, now: datetime
) -> None:
    """Staff refuse a new profile: it is removed, the person is told why (``version`` as for ``approve_profile``).
    Someone who withdrew or opted out while it waited keeps their entry, marked rejected (``_delete`` removes no
    such entry: it keeps their answers unnamed and an import from listing them again): it leaves the review queue
    and is never shown or asked, as a removed one."""
    actor.require_staff("reject an expert profile", target=f"expert:{expert_id}")
    expert = _waiting(session, expert_id, version=version)
    _tell_owner(session, expert, outcome=SubmissionOutcomeKind.PROFILE_REJECTED, note=reason.strip()[:2000], now=now)
    if removable(expert):
        _delete(session, actor=actor, expert=expert, action="reject", now=now)
        return
    before = expert_audit(expert)
    expert.status = RecordStatus.REJECTED
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    audit_change(session, actor=actor, action="reject", expert=expert, before=before, now=now)


def get_expert_to_decide(session: Session, *, expert_id: int, lock: bool = False) -> Expert:
    """The profile a staff review is about. Gone while its review was posted, or kept rejected: decided already (a
    rejected profile is deleted, as is a removed one, or kept marked rejected when its owner had stopped), refused as
    ``already_moderated`` as a decided practice is, not as unknown."""
    expert = repo.get_expert(session, expert_id=expert_id, lock=lock)
    rejected = expert is not None and expert.status is RecordStatus.REJECTED
    if rejected or (expert is None and review_message_ref(session, expert_id=expert_id)):
        raise ProfileStateError("already_moderated", f"profile #{expert_id} was already decided")
    return expert if expert is not None else get_expert(session, expert_id=expert_id)


def _waiting(session: Session, expert_id: int, *, version: str | None) -> Expert:
    expert = get_expert_to_decide(session, expert_id=expert_id, lock=True)
    if expert.status is not RecordStatus.PENDING:
        raise ProfileStateError("profile_state", "this profile is not waiting for approval")
    if version is not None:
        check_review(session, expert_id=expert_id, version=version)
        if version[:FINGERPRINT_LENGTH] != profile_version(expert):
            raise ProfileChanged("profile_changed", f"profile #{expert_id} was edited after staff read it")
    return expert


def removable(expert: Expert) -> bool:
    """Whether staff may remove ``expert`` (``remove_expert``): not someone who withdrew or opted out (``is_stopped``),
    whom erasure removes. What the staff's card offers, and what ``_delete`` refuses otherwise."""
    return not is_stopped(expert)


def remove_expert(session: Session, *, actor: Actor, expert_id: int, now: datetime) -> None:
    """Staff remove an expert from the register (their routings and answers stay, unlinked). Refused for someone who
    withdrew or opted out (``remove_stopped``): erasure removes them (``_delete``)."""
    actor.require_staff("remove an expert", target=f"expert:{expert_id}")
    _delete(session, actor=actor, expert=get_expert(session, expert_id=expert_id, lock=True), action="delete", now=now)


def _delete(session: Session, *, actor: Actor, expert: Expert, action: str, now: datetime) -> None:
    """Delete the entry, audited. Never the entry of someone who withdrew or opted out (``is_stopped``): it is what
    keeps their answers unnamed (search, digests) and a later import from listing them again; erasure
    (``bot.privacy.erasure``) removes such a person and their names properly."""
    if not removable(expert):
        raise ProfileStateError("remove_stopped", f"expert #{expert.id} stopped: erase them instead of removing")
    before = expert_audit(expert)
    repo.delete_expert(session, expert=expert)
    repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=action,
        entity_type="expert",
        entity_key=before["email"],
        before=before,
        after=None,
        now=now,
    )


def _tell_owner(session: Session, expert: Expert, *, outcome: SubmissionOutcomeKind, note: str, now: datetime) -> None:
    tell_submission_outcome(
        session,
        recipient_slack_id=expert.slack_user_id,
        subject="expert",
        subject_id=expert.id,
        outcome=outcome,
        title=expert.name,
        note=note,
        now=now,
    )
