"""Nothing for staff is lost when the triage channel cannot be reached.

Every message for staff is posted in the triage channel (``STAFF_KINDS`` queued with no recipient, or any message
queued for that channel by name: ``aimed_at_triage``). When that post
is given up — the bot is not in the channel, it was archived or deleted, none is configured, Slack refused it through
every attempt — the sender calls ``tell_staff``: each staff member gets the message by DM instead (a ``StaffDM``
carrying the original payload, so the DM shows the same content and buttons the channel would have), once per record
and person: the DM's outbox key is the original's key with the person's id (``staff_dm_key``), so the same failure
noticed again — a second replica, a restart — queues nothing. A record that no longer waits (the practice or profile
decided, the proposal handled meanwhile, the question no longer escalated: someone was assigned, it was closed or
withdrawn) is not sent. An escalated question is one more such post: each escalation is its own triage post, so
staff are told of each, as the channel would have shown each.

The services that find "where was this posted" for a record (to update it once staff decide) list the DM copies
too, by ``staff_dm_prefix`` (``RoutingService.triage_copies`` for a question): a button pressed in a staff member's
DM updates every copy and the channel post alike. A post or copy still queued when its record is decided is never
posted: the sender asks ``end_if_decided`` right before posting, which ends it unsent (``ended_at``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.text import is_slack_user_id
from storage import outbox_repo, proposal_repo, question_repo, register_repo
from storage.models import OutboxKind, OutboxMessage, ProposalStatus, QuestionStatus, RecordStatus

# Messages for staff: posted in the configured triage channel when the message names no recipient (a DM) itself.
STAFF_KINDS = frozenset(
    {
        OutboxKind.TRIAGE,
        OutboxKind.PRACTICE_REVIEW,
        OutboxKind.PROFILE_REVIEW,
        OutboxKind.NEEDS_PROPOSAL,
        OutboxKind.DELIVERY_FAILED,  # an expert marked away because Slack cannot reach them (else a DM to a chooser)
        OutboxKind.DIGEST_STOPPED,  # a channel's digest turned off: the channel was archived or the bot removed
        OutboxKind.CHANNEL_CHECK_FAILED,  # the day's channel-privacy check refused for good (``bot.jobs``)
        OutboxKind.EXPERT_REACTIVATED,  # an expert marked away as gone is active again (``bot.register.reactivated``)
    }
)
# The DMs that stand in for a triage post: when one of them fails too, nothing more is tried.
FALLBACK_KINDS = frozenset({OutboxKind.STAFF_DM})

# ``tell_staff``'s answer when nobody is configured as staff: nobody can be told
NO_STAFF = "nobody to tell: no staff configured"
# why a queued DM copy ended without being posted (``end_if_decided``)
NO_LONGER_WAITS = "no_longer_waits"

_KEY = "staff_dm:"


def aimed_at_triage(message: OutboxMessage, *, triage_channel_id: str | None = None) -> bool:
    """Whether ``message`` is a post for staff in the triage channel (not a DM to one person): a staff kind, or any
    message queued for the triage channel (``triage_channel_id``, the configured one) by name, not in a thread."""
    if message.recipient_slack_id:
        return False
    named = bool(message.channel_id) and message.channel_id == triage_channel_id and not message.thread_ts
    return message.kind in STAFF_KINDS or named


def staff_dm_key(original_key: str, user: str) -> str:
    """The outbox key of ``user``'s DM copy of the triage post keyed ``original_key``: once per record and person."""
    return f"{_KEY}{original_key}:{user}"


def staff_dm_prefix(original_key_prefix: str) -> str:
    """The key prefix of every DM copy of triage posts keyed ``original_key_prefix…`` (end it with a separator)."""
    return f"{_KEY}{original_key_prefix}"


def copy_original_key(copy: OutboxMessage) -> str:
    """The key of the triage post ``copy`` (a DM copy, keyed by ``staff_dm_key``) stands in for."""
    return copy.dedupe_key.removeprefix(_KEY).rpartition(":")[0]


def staff_copies(session: Session, *, original_key_prefix: str, question_id: int | None = None) -> list[OutboxMessage]:
    """The sent DM copies of the triage posts keyed ``original_key_prefix…`` (end it with a separator; about
    ``question_id`` when given), newest first: where else a record's triage post went, to update along with it."""
    return outbox_repo.list_sent_outbox_messages(
        session,
        kinds=(OutboxKind.STAFF_DM,),
        question_id=question_id,
        dedupe_key_prefix=staff_dm_prefix(original_key_prefix),
        limit=100,
    )


def staff_ids(staff: Collection[str]) -> list[str]:
    """The Slack user ids among ``staff``, sorted, each once."""
    return sorted(s for s in set(staff) if is_slack_user_id(s))


def tell_staff(
    session: Session,
    *,
    message_id: int,
    staff: Collection[str],
    channel_id: str | None,
    error: str,
    now: datetime,
) -> str:
    """The triage post ``message_id`` was given up: queue it by DM for each of ``staff`` (everyone who is staff now;
    the Slack layer knows), with why the channel (``channel_id``; None: none configured) did not get it — once per
    record and person, and not when the record no longer waits. Returns what happened."""
    original = outbox_repo.get_outbox_message(session, message_id=message_id)
    if original is None:
        return "noop: message gone"
    if not aimed_at_triage(original, triage_channel_id=channel_id):
        return f"noop: {original.kind.value} is not for the triage channel"
    people = staff_ids(staff)
    if not people:
        return NO_STAFF
    if not still_waits(session, original.kind, original.payload):
        return f"noop: {original.kind.value} no longer waits"
    notice = outbox.StaffDM(
        original_kind=original.kind, original=dict(original.payload), triage_channel_id=channel_id, error=error[:200]
    )
    queued = [
        user
        for user in people
        if outbox.enqueue(
            session,
            notice,
            dedupe_key=staff_dm_key(original.dedupe_key, user),
            now=now,
            recipient_slack_id=user,
            question_id=original.question_id,
        )
        is not None
    ]
    return f"staff told: {len(queued)} of {len(people)}"


def end_if_decided(session: Session, *, message_id: int, worker_id: str, now: datetime) -> bool:
    """Right before a staff post or its DM copy is posted (by the sender holding its claim as ``worker_id``): when
    what it asks staff to decide was decided while it waited in the queue (the question assigned, closed, withdrawn
    or answered; the review or proposal decided), it ends without being posted (True; ``ended_at``, reason
    ``NO_LONGER_WAITS``): the posts sent were updated with the outcome when it was decided, and a queued one must
    not arrive later with buttons nobody may use. False: post it (also when it is not this sender's any more:
    posting it is then refused as a lost claim)."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.claimed_by != worker_id:
        return False
    if message.sent_at is not None or message.failed_at is not None or message.ended_at is not None:
        return False
    if message.kind is OutboxKind.STAFF_DM:
        try:
            notice = outbox.read_as(outbox.StaffDM, message.payload)
        except outbox.PayloadError:  # rendering decides (and gives it up)
            return False
        kind, payload = notice.original_kind, notice.original
    elif message.kind in STAFF_KINDS and not message.recipient_slack_id:  # the triage channel post itself
        kind, payload = message.kind, message.payload
    else:
        return False
    if still_waits(session, kind, payload):
        return False
    message.ended_at = now
    message.ended_reason = NO_LONGER_WAITS
    message.claimed_by = None
    message.claimed_at = None
    return True


def still_waits(session: Session, kind: OutboxKind, payload: Mapping[str, Any]) -> bool:
    """Whether what the post asks staff to decide is still undecided (a notice, or a kind not known here: yes). An
    escalated question is read under its lock, so an assignment or a close at the same moment is seen."""
    try:
        if kind is OutboxKind.TRIAGE:
            question = question_repo.get_question(session, question_id=int(payload["question_id"]), lock=True)
            return question is not None and question.status is QuestionStatus.ESCALATED
        if kind is OutboxKind.PRACTICE_REVIEW:
            practice = register_repo.get_practice(session, practice_id=int(payload["practice_id"]))
            return practice is not None and practice.status is RecordStatus.PENDING
        if kind is OutboxKind.PROFILE_REVIEW:
            expert = register_repo.get_expert(session, expert_id=int(payload["expert_id"]))
            return expert is not None and expert.status is RecordStatus.PENDING
        if kind is OutboxKind.NEEDS_PROPOSAL:
            proposal = proposal_repo.get_need_proposal(session, proposal_id=int(payload["proposal"]["id"]))
            return proposal is not None and proposal.status in {ProposalStatus.OPEN, ProposalStatus.INVITED}
    except (KeyError, TypeError, ValueError):  # a damaged payload: sent as it is, rendering decides
        return True
    return True
