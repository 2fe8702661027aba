"""Consent to be listed in the expert register: the person confirms their listing (first time and periodically), or
withdraws it ("Remove me"); the job runner queues the confirm-your-listing DMs (``request_confirmations``).

An expert imported from a file starts ``pending`` and is not routed questions (routing policy) until they confirm
their listing with the button of the ``consent_request`` DM. Every ``reconfirm_days`` a confirmed expert is asked
again. Nothing here commits; every change writes an audit row (``bot.register.profiles.audit_change``).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from bot import outbox
from bot.actors import Actor, NotAuthorized
from bot.outbox import ConsentRequest, ConsentRequestKind
from bot.register import profiles, stop_locks
from bot.register.expert_import import expert_audit
from storage import outbox_repo
from storage import register_repo as repo
from storage.models import Availability, Consent, Expert, OutboxKind

MAX_REQUESTS_PER_PASS = 50  # consent DMs queued per job pass (Slack's rate limits; the rest follow next pass)


def consent_request_refs(session: Session, *, expert: Expert) -> list[dict[str, str]]:
    """The confirm-your-listing DMs the bot sent this expert (``channel_id``, ``message_ts``; newest first): the
    messages to update once they decided — tied to the expert and their Slack id by the database."""
    if not expert.slack_user_id:
        return []
    sent = outbox_repo.list_sent_outbox_messages(
        session,
        kinds=(OutboxKind.CONSENT_REQUEST,),
        recipient_slack_id=expert.slack_user_id,
        dedupe_key_prefix=f"consent_request:{expert.id}:",
    )
    return outbox.sent_refs(sent)


def confirm_listing(session: Session, *, actor: Actor, expert_id: int, now: datetime) -> Expert:
    """The person confirms their listing (first time or periodic). Only the person themselves: consent is theirs."""
    expert = profiles.get_expert(session, expert_id=expert_id)
    if not actor.is_self(expert.slack_user_id):
        raise NotAuthorized("confirm someone else's listing", target=f"expert:{expert.id}")
    profiles.refuse_rejected(expert)
    before = expert_audit(expert)
    if expert.consent is Consent.WITHDRAWN and expert.availability is Availability.OPTED_OUT:
        expert.availability = Availability.AVAILABLE  # listed again (an old confirm button): askable again too
    if expert.consent is not Consent.CONFIRMED:
        expert.consent_changed_at = now
    expert.consent = Consent.CONFIRMED
    expert.last_confirmed_at = now
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    profiles.audit_change(session, actor=actor, action="confirm", expert=expert, before=before, now=now)
    return expert


def withdraw_listing(session: Session, *, actor: Actor, expert_id: int, now: datetime) -> Expert:
    """Stop being listed: never shown, never asked (the record stays so an import does not list them again). The row
    is locked until commit, after the questions of their open requests (``bot.register.stop_locks``): a routing that
    read it before (``FOR SHARE``) commits first, a routing reading it now waits and sees the withdrawal
    (``bot.routing.stopped``); the caller then moves their open requests on (``RoutingService.expert_stopped``, in
    this transaction)."""
    expert = profiles.get_expert(session, expert_id=expert_id)  # not found, not theirs: refused before any lock
    actor.require_self_or_staff(expert.slack_user_id, "withdraw an expert's listing", target=f"expert:{expert.id}")
    stop_locks.lock_expert_to_stop(session, expert_id=expert_id)
    expert = profiles.get_expert(session, expert_id=expert_id, lock=True)
    actor.require_self_or_staff(expert.slack_user_id, "withdraw an expert's listing", target=f"expert:{expert.id}")
    before = expert_audit(expert)
    expert.consent = Consent.WITHDRAWN
    expert.consent_changed_at = now
    expert.availability = Availability.OPTED_OUT
    repo.update_expert(session, expert=expert, values={}, now=now)
    session.flush()
    profiles.audit_change(session, actor=actor, action="withdraw", expert=expert, before=before, now=now)
    return expert


def request_confirmations(
    session: Session,
    *,
    now: datetime,
    reconfirm_days: int,
    limit: int = MAX_REQUESTS_PER_PASS,
    tz: tzinfo | None = None,
) -> int:
    """Queue a confirm-your-listing DM for experts who need one; returns how many were queued. The day they last
    confirmed, as the DM shows it, is the local one (in ``tz``, the network's zone).

    Asked once: pending experts (imported, never confirmed) and confirmed experts whose last confirmation is older
    than ``reconfirm_days``, each only if not asked since their last confirmation. Needs a Slack id.
    """
    queued = 0
    for expert in repo.list_experts_to_reconfirm(session, now=now, reconfirm_days=reconfirm_days, limit=limit):
        kind = ConsentRequestKind.INITIAL if expert.consent is Consent.PENDING else ConsentRequestKind.RECONFIRM
        stamp = expert.last_confirmed_at.date().isoformat() if expert.last_confirmed_at else "never"
        outbox.enqueue(
            session,
            ConsentRequest(**profiles.profile_fields(expert, tz), request=kind),
            dedupe_key=f"consent_request:{expert.id}:{stamp}",
            now=now,
            recipient_slack_id=expert.slack_user_id,
        )
        expert.consent_requested_at = now
        queued += 1
    session.flush()
    return queued
