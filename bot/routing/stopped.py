"""Someone who must not be asked any more: their listing withdrawn ("Remove me") or opted out of questions ("stop
asking me"). README: "never shown or asked again".

Three guards, each for what the one before cannot see:

- when they stop (``TimerReactions.expert_stopped``, in the transaction of the withdrawal or opt-out, which locks
  their register row): every request still open for them moves on as when a DM can never arrive (the next expert
  asked, or staff handed the question; staff who chose them by hand told why, a forwarding colleague told
  nothing), and the request, reminder and update DMs queued for their routings end unsent (``ENDED_REASON``);
- a due reminder or snooze timer of theirs sends nothing (``TimerReactions.handle_timer``);
- the sender, in the transaction that marks a post started, ends a routing DM whose routing is no longer open or
  whose person stopped (``end_if_not_askable``): a DM queued by another replica's routing that committed just
  before the withdrawal, or claimed by a sender meanwhile, is never posted after the withdrawal committed.

Locks: one order everywhere, questions (in id order) before expert rows. A withdrawal or opt-out locks the
questions of the person's open requests, then their register row (``bot.register.stop_locks``: read again after, and
taken again when a routing asked them meanwhile); a routing pass holds its question, then reads the candidates' rows
``FOR SHARE``, waiting for a change in progress; a request DM that failed for good holds its question, then marks its
expert away. A routing that read the person before the withdrawal locked their row commits first (the withdrawal
waits for it, then moves that routing on); one reading the row while it is being withdrawn waits and sees the
withdrawal. Either way nobody is asked after their withdrawal committed. SQLite has one writer at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.routing.states import ROUTING_OPEN
from storage import outbox_repo, register_repo, routing_repo
from storage.models import OutboxKind, is_stopped

# The DMs that ask a person something about a routing of theirs
ASKING_KINDS = frozenset({OutboxKind.EXPERT_REQUEST, OutboxKind.EXPERT_REMINDER, OutboxKind.QUESTION_UPDATED})
ENDED_REASON = "not_to_be_asked"
# ``DeliveryFailed.error`` for staff who chose them by hand: they asked not to be asked (withdrew or opted out)
STOPPED_ERROR = "stopped"


def end_if_not_askable(session: Session, *, message_id: int, worker_id: str, now: datetime) -> bool:
    """Right before a routing DM is posted (by the sender holding its claim as ``worker_id``, in the transaction that
    marks the post started): a DM asking a person about a routing that is no longer open, or a person who withdrew
    or opted out, ends unposted (True; ``ended_at``, reason ``ENDED_REASON``). Their register entry is held
    (``register_repo.get_experts_by_ids(share=True)``): a withdrawal committing at this moment is seen here, or waits
    until the post is under way. False: post it (also when the claim is not this sender's: posting is then refused
    as a lost claim)."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.claimed_by != worker_id or message.kind not in ASKING_KINDS:
        return False
    if message.sent_at is not None or message.failed_at is not None or message.ended_at is not None:
        return False
    if message.routing_id is None:
        return False
    routing = routing_repo.get_routing(session, routing_id=message.routing_id)
    if routing is not None and routing.status in ROUTING_OPEN:
        slack_id = message.recipient_slack_id or routing.recipient_slack_id
        expert_id = routing.expert_id
        if expert_id is None and slack_id:  # chosen by hand by their Slack id: their register entry, if any
            found = register_repo.get_expert_by_slack_id(session, slack_user_id=slack_id)
            expert_id = found.id if found is not None else None
        held = register_repo.get_experts_by_ids(session, expert_ids=[expert_id] if expert_id else [], share=True)
        expert = held.get(expert_id) if expert_id is not None else None
        if not is_stopped(expert):
            return False
    message.ended_at = now
    message.ended_reason = ENDED_REASON
    message.claimed_by = None
    message.claimed_at = None
    return True
