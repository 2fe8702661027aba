"""Expert self-service, without Slack: join, edit, availability, and what staff are shown of a profile (staff's
decisions: ``bot.register.profile_decisions``; consent and re-confirmation: ``bot.register.consent``; the marks of
an expert Slack cannot reach: ``bot.register.unreachable``).

Every function takes the acting person (``bot.actors.Actor``) and checks, before writing anything, that they may
do it: a person changes only their own profile (matched by the Slack id Slack signed their request with), staff
change anyone's, approve and remove. Profile fields are checked by ``bot.register.validation.validate_expert``,
the very rules of the file import; problems come back as one ``InvalidRecord`` listing every ``FieldError``.

An expert imported from a file starts ``pending`` until they confirm their listing; every ``reconfirm_days`` a
confirmed expert is asked again (``bot.register.consent``); a profile that is pending or older than that is *stale*:
ranked lower by the matcher and listed for staff (``list_stale_profiles``). Nothing here commits; every change
writes an audit row, and the matching index follows the commit (``bot.knowledge``).

Someone who was erased ("forget me") is not listed again by an import (``bot.register.erased``), but may join
again themselves: filling in one's own profile, with the address Slack holds for one's account, is a fresh consent,
so it removes the keyed hashes the erasure left for that address and Slack id (a later erasure leaves new ones).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, TypedDict

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError, WieweetError
from bot.i18n import local_day
from bot.matching.documents import is_stale_profile
from bot.outbox import ProfileReview
from bot.register import stop_locks
from bot.register.expert_import import expert_audit
from bot.register.identity import SOURCE_SLACK, same_address
from bot.register.profile_reviews import (
    current_submission,
    review_key,
    submission_stamp,
)
from bot.register.themes import ThemeResolver
from bot.register.validation import FieldError, split_list, validate_expert
from storage import erased_repo
from storage import register_repo as repo
from storage.models import Availability, Consent, Expert, RecordStatus


class InvalidRecord(WieweetError):
    """A register record from a form with problems; ``errors`` has one ``FieldError`` per problem (nothing saved)."""

    code = "invalid_record"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("invalid_record", "; ".join(f"{e.column}: {e.message}" for e in errors))
        self.errors = errors


class ProfileStateError(WieweetError):
    """An action that no longer fits the profile's state (already approved, already confirmed, ...)."""

    code = "profile_state"
    refusal = True


class ProfileChanged(WieweetError):
    """Staff decided on a version of the profile that is not the stored one (its owner edited it since)."""

    code = "profile_changed"
    refusal = True


@dataclass(frozen=True, slots=True)
class SavedProfile:
    expert: Expert
    created: bool
    pending_approval: bool
    submitted: bool = False  # a new submission posted to staff for review (made, or filled in after a rejection)


# --- reading -------------------------------------------------------------------------------------------------------


def get_profile(session: Session, *, slack_user_id: str) -> Expert | None:
    """The register entry of a Slack user (whatever its state), or None."""
    return repo.get_expert_by_slack_id(session, slack_user_id=slack_user_id) if slack_user_id else None


def get_expert(session: Session, *, expert_id: int, lock: bool = False) -> Expert:
    """One expert; ``lock`` holds the row until commit (two staff deciding at once: the second sees the first)."""
    expert = repo.get_expert(session, expert_id=expert_id, lock=lock)
    if expert is None:
        raise NotFoundError("no_expert", f"no expert #{expert_id}", values={"expert": expert_id})
    return expert


def get_expert_for(session: Session, *, actor: Actor, expert_id: int) -> Expert:
    """An expert to show in an edit form: the actor's own profile, or any for staff."""
    expert = get_expert(session, expert_id=expert_id)
    actor.require_self_or_staff(expert.slack_user_id, "edit an expert profile", target=f"expert:{expert.id}")
    return expert


def form_values(expert: Expert | None) -> dict[str, str]:
    """The profile as the form's raw text values (the file columns; lists joined with ``;``)."""
    if expert is None:
        return {}
    return {
        "name": expert.name,
        "email": expert.email,
        "organisation": expert.organisation,
        "city": expert.city,
        "role": expert.role,
        "expertise": "; ".join(expert.expertise),
        "themes": "; ".join(t.key for t in expert.themes),
        "languages": "; ".join(expert.languages),
        "bio": expert.bio,
    }


def is_stale(expert: Expert, *, now: datetime, reconfirm_days: int) -> bool:
    """Not confirmed by the person, or last confirmed longer ago than the re-confirmation period (the matcher
    ranks such profiles lower by the same rule, ``bot.matching.documents.is_stale_profile``)."""
    return is_stale_profile(expert.consent.value, expert.last_confirmed_at, now=now, reconfirm_days=reconfirm_days)


def list_stale_profiles(session: Session, *, now: datetime, reconfirm_days: int, limit: int = 200) -> list[Expert]:
    """Published, not withdrawn, and stale: oldest confirmation first (never-confirmed ones first of all)."""
    return repo.list_stale_experts(session, now=now, reconfirm_days=reconfirm_days, limit=limit)


def list_pending_profiles(session: Session, *, limit: int = 100) -> list[Expert]:
    """Profiles made in Slack that wait for staff approval, oldest first."""
    return repo.list_experts_by_status(session, status=RecordStatus.PENDING, limit=limit)


def count_profiles_to_review(session: Session, *, now: datetime, reconfirm_days: int) -> tuple[int, int]:
    """How many profiles are stale and how many wait for approval (for the staff's Home tab)."""
    stale = repo.count_stale_experts(session, now=now, reconfirm_days=reconfirm_days)
    return stale, repo.count_experts_by_status(session, status=RecordStatus.PENDING)


def find_expert(session: Session, *, email: str | None = None, slack_user_id: str | None = None) -> Expert | None:
    """An expert by e-mail address (any case) or by Slack id, for staff looking one up."""
    if slack_user_id:
        return get_profile(session, slack_user_id=slack_user_id)
    return repo.get_expert_by_email(session, email=email) if email else None


def append_expertise(expertise: str, added: str) -> str:
    """``expertise`` with the topics of ``added`` after it (the register's list syntax), each topic once."""
    return "; ".join(split_list(f"{expertise};{added}"))


def _with_kept(
    values: Mapping[str, str | None], existing: Expert | None, *, keep: Collection[str], add_expertise: str
) -> dict[str, str | None]:
    """The form's values with the kept fields as stored and the topics to add after the expertise."""
    stored = form_values(existing)
    result = {**values, **{name: stored[name] for name in keep if name in stored}}
    if split_list(add_expertise):
        result["expertise"] = append_expertise(result.get("expertise") or "", add_expertise)
    return result


# --- joining and editing ---------------------------------------------------------------------------------------------


def save_profile(
    session: Session,
    *,
    actor: Actor,
    values: Mapping[str, str | None],
    now: datetime,
    expert_id: int | None = None,
    approval_required: bool = False,
    slack_email: str | None,
    keep: Collection[str] = (),
    add_expertise: str = "",
    tz: tzinfo | None = None,
) -> SavedProfile:
    """Create the actor's own profile (``expert_id`` None: join) or update one (own, or anyone's for staff).

    ``slack_email``: the address Slack holds for the actor's account ("" when Slack gives none, None when Slack
    could not be asked). On one's own profile a new or changed address must be that one
    (``bot.register.identity``): otherwise anyone could claim an official's address and receive their questions
    once the knowledge centre imports it. Staff editing someone else's profile set any address (audited).

    Joining confirms the listing at once (the person filled it in themselves). With ``approval_required`` a
    profile made by someone who is not staff waits (status pending) until staff approve it. ``keep``: fields the
    form left out (too long for it) that stay as stored, whatever ``values`` holds for them. ``add_expertise``:
    topics appended to the expertise (the stored one when kept), read as the expertise list is (``;`` or ``|``,
    trimmed, an item already there in any case is not added again); empty adds nothing.
    """
    existing = get_expert(session, expert_id=expert_id) if expert_id is not None else None
    if existing is not None:
        actor.require_self_or_staff(existing.slack_user_id, "edit an expert profile", target=f"expert:{existing.id}")
        slack_id = existing.slack_user_id
    else:
        if not actor.slack_id:
            raise NotAuthorized("join as an expert without a Slack account", target="expert:new")
        existing = get_profile(session, slack_user_id=actor.slack_id)  # joining again edits the profile
        slack_id = actor.slack_id
    values = _with_kept(values, existing, keep=keep, add_expertise=add_expertise)
    record, errors = validate_expert({**values, "slack_user_id": slack_id}, themes=ThemeResolver.for_session(session))
    if record is None:
        raise InvalidRecord(errors)
    _check_address(session, actor=actor, email=record.email, existing=existing, slack_email=slack_email)

    before = expert_audit(existing) if existing is not None else None
    created = existing is None
    was_rejected = existing is not None and existing.status is RecordStatus.REJECTED
    status = RecordStatus.PENDING if approval_required and not actor.is_staff else RecordStatus.PUBLISHED
    if existing is None:
        expert = repo.create_expert(
            session,
            email=record.email,
            name=record.name,
            organisation=record.organisation,
            source=SOURCE_SLACK,
            now=now,
            consent=Consent.CONFIRMED,
        )
        expert.status = status
    else:
        expert = existing
    if actor.is_self(expert.slack_user_id) or created:
        _filled_in_by_owner(expert, status=status, now=now)
    themes = list(repo.get_themes_by_keys(session, keys=list(record.themes)).values())
    expert.email = record.email
    repo.update_expert(
        session,
        expert=expert,
        values={
            "name": record.name,
            "slack_user_id": slack_id,
            "organisation": record.organisation,
            "city": record.city,
            "role": record.role,
            "expertise": list(record.expertise),
            "themes": themes,
            "languages": list(record.languages),
            "bio": record.bio,
        },
        now=now,
    )
    if created:  # their own fresh consent (address checked with Slack): an earlier erasure no longer holds
        erased_repo.delete_erased_identities(
            session, emails=[record.email], slack_user_ids=[slack_id] if slack_id else []
        )
    session.flush()
    audit_change(session, actor=actor, action="create" if created else "update", expert=expert, before=before, now=now)
    pending = expert.status is RecordStatus.PENDING
    submitted = pending and (created or was_rejected)
    if submitted:  # a new submission: staff are asked to review it
        key = review_key(expert.id, now)
        payload = profile_payload(expert, tz=tz, submission=submission_stamp(key))
        outbox.enqueue(session, payload, dedupe_key=key, now=now)
    return SavedProfile(expert=expert, created=created, pending_approval=pending, submitted=submitted)


def _filled_in_by_owner(expert: Expert, *, status: RecordStatus, now: datetime) -> None:
    """Filling in one's own profile is confirming it (after a withdrawal: listed and askable again). A profile
    rejected while its owner had stopped (kept, marked rejected: ``profile_decisions.reject_profile``) takes
    ``status`` as a new one does: waiting for staff again, or published."""
    if expert.status is RecordStatus.REJECTED:
        expert.status = status
    if expert.consent is Consent.WITHDRAWN and expert.availability is Availability.OPTED_OUT:
        expert.availability = Availability.AVAILABLE
    if expert.consent is not Consent.CONFIRMED:
        expert.consent_changed_at = now
    expert.consent = Consent.CONFIRMED
    expert.last_confirmed_at = now


def refuse_rejected(expert: Expert) -> None:
    """A profile staff rejected (kept because its owner had stopped: ``profile_decisions.reject_profile``) is never
    shown or asked: being available or confirming it changes nothing, so it is refused (``profile_rejected``);
    filling it in again (``save_profile``) submits it to staff again."""
    if expert.status is RecordStatus.REJECTED:
        raise ProfileStateError("profile_rejected", f"expert #{expert.id} was not accepted; edit it to submit it again")


def _check_address(
    session: Session, *, actor: Actor, email: str, existing: Expert | None, slack_email: str | None
) -> None:
    """Refuse an address on one's own profile (new, or changed) that Slack does not hold for one's account, and an
    address another profile has."""
    own = existing is None or actor.is_self(existing.slack_user_id)
    if own and (existing is None or not same_address(existing.email, email)):
        if slack_email is None:  # Slack could not be asked just now: the address is unknown, not absent
            message = "Slack could not be asked for your account's e-mail address just now; try again shortly"
            raise InvalidRecord([FieldError("email", "email_check_failed", message)])
        if not slack_email:
            message = "Slack gives no e-mail address for your account, so this one cannot be checked"
            raise InvalidRecord([FieldError("email", "email_unchecked", message)])
        if not same_address(email, slack_email):
            message = "this is not the e-mail address of your Slack account"
            suggestion = slack_email.strip().lower()
            raise InvalidRecord([FieldError("email", "email_not_yours", message, suggestion=suggestion)])
    holder = repo.get_expert_by_email(session, email=email)
    if holder is not None and (existing is None or holder.id != existing.id):
        message = "this e-mail address belongs to another profile in the register; ask the knowledge centre"
        raise InvalidRecord([FieldError("email", "email_taken", message)])


def set_availability(
    session: Session,
    *,
    actor: Actor,
    expert_id: int,
    availability: Availability,
    now: datetime,
    today: date,
    until: date | None = None,
) -> Expert:
    """Available, away until (and including) ``until``, or opted out of routed questions. Own profile or staff. The
    row is locked until commit, for an opt-out after the questions of their open requests (as for a withdrawal:
    ``bot.register.stop_locks``); after an opt-out the caller moves their open requests on
    (``RoutingService.expert_stopped``, in this transaction)."""
    if availability is Availability.OPTED_OUT:  # not found, not theirs: refused before any lock
        found = get_expert(session, expert_id=expert_id)
        actor.require_self_or_staff(found.slack_user_id, "change an expert's availability", target=f"expert:{found.id}")
        stop_locks.lock_expert_to_stop(session, expert_id=expert_id)
    expert = get_expert(session, expert_id=expert_id, lock=True)
    actor.require_self_or_staff(expert.slack_user_id, "change an expert's availability", target=f"expert:{expert.id}")
    refuse_rejected(expert)
    if availability is Availability.AWAY:
        if until is None or until < today:
            raise ProfileStateError("away_date_past", "the away date must be today or later")
    else:
        until = None
    before = expert_audit(expert)
    expert.availability = availability
    expert.away_until = until
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    audit_change(session, actor=actor, action="availability", expert=expert, before=before, now=now)
    return expert


# --- what staff are shown ----------------------------------------------------------------------------------------


def review_version(session: Session, *, expert: Expert) -> str:
    """What a staff decision about ``expert`` names: its content (``profile_version``) and its latest submission
    (``current_submission``)."""
    return profile_version(expert) + current_submission(session, expert_id=expert.id)


def profile_version(expert: Expert) -> str:
    """A short fingerprint of everything the owner can edit: what staff saw, to approve or reject that version."""
    text = json.dumps(form_values(expert), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- helpers -----------------------------------------------------------------------------------------------------


class ProfileFields(TypedDict):
    expert_id: int
    name: str
    email: str
    slack_user_id: str | None
    organisation: str
    city: str
    role: str
    expertise: tuple[str, ...]
    themes: tuple[str, ...]
    last_confirmed: str | None


def profile_fields(expert: Expert, tz: tzinfo | None) -> ProfileFields:
    """What every message about a profile carries; the day of the last confirmation local (``tz``: the network's
    zone), as people read dates."""
    return {
        "expert_id": expert.id,
        "name": expert.name,
        "email": expert.email,
        "slack_user_id": expert.slack_user_id,
        "organisation": expert.organisation,
        "city": expert.city,
        "role": expert.role,
        "expertise": tuple(expert.expertise),
        "themes": tuple(t.key for t in expert.themes),
        "last_confirmed": local_day(expert.last_confirmed_at, tz).isoformat() if expert.last_confirmed_at else None,
    }


def profile_payload(expert: Expert, *, tz: tzinfo | None = None, submission: str = "") -> ProfileReview:
    """What a DM or a staff message about a profile shows (rendered by the Slack layer; its days local: ``tz``).
    ``submission``: the stamp of the submission staff decide on (``current_submission``), in the buttons' version."""
    return ProfileReview(**profile_fields(expert, tz), version=profile_version(expert) + submission)


def audit_change(
    session: Session, *, actor: Actor, action: str, expert: Expert, before: dict[str, Any] | None, now: datetime
) -> None:
    repo.create_audit_log(
        session,
        actor=actor.audit_label,
        action=action,
        entity_type="expert",
        entity_key=expert.email,
        before=before,
        after=expert_audit(expert),
        now=now,
    )
