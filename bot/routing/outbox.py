"""The outbox: notifications written with the state change, sent by the Slack layer exactly once.

The Slack layer polls ``claim_outbox`` (claimed rows are its own until sent, failed or stale), renders each
message by ``kind`` from its ``payload``, sends it (a DM to ``recipient_slack_id`` or a post in ``channel_id``,
in ``thread_ts`` when set), then calls ``mark_outbox_sent`` with the returned channel and ts — or
``mark_outbox_failed``. A ``triage`` message with no ``channel_id`` goes to the configured triage channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.routing.policy import RoutingPolicy
from storage import outbox_repo, question_repo
from storage import routing_repo as repo
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage


def claim_outbox(
    db: Database,
    *,
    now: datetime,
    worker_id: str,
    limit: int = 50,
    stale_after: timedelta = timedelta(minutes=10),
) -> list[OutboxMessage]:
    """Claim up to ``limit`` unsent messages, oldest first (detached rows: read them, don't change them)."""
    with db.session() as session:
        ids = outbox_repo.claim_outbox_messages(
            session, now=now, worker_id=worker_id, limit=limit, stale_before=now - stale_after
        )
        if not ids:
            return []
        return outbox_repo.list_outbox_messages(session, ids=ids)


def mark_outbox_sent(session: Session, *, message_id: int, ts: str | None, channel: str | None, now: datetime) -> bool:
    """Record a sent message (False if it was already marked sent). Also remembers where the DM asking an expert
    went (``Routing.dm_channel_id``/``dm_ts``, to update it later) and where an answer was posted."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.sent_at is not None:
        return False
    message.sent_at = now
    message.sent_ts = ts
    message.sent_channel_id = channel
    message.claimed_by = None
    message.claimed_at = None
    if message.kind is OutboxKind.EXPERT_REQUEST and message.routing_id is not None:
        routing = repo.get_routing(session, routing_id=message.routing_id)
        if routing is not None:
            routing.dm_channel_id = channel
            routing.dm_ts = ts
    elif message.kind is OutboxKind.QUESTION_ANSWERED:
        answer_id = message.payload.get("answer_id")
        answer = question_repo.get_answer(session, answer_id=answer_id) if isinstance(answer_id, int) else None
        if answer is not None and answer.posted_ts is None:
            answer.posted_channel_id = channel
            answer.posted_ts = ts
    return True


def mark_outbox_failed(
    session: Session,
    *,
    message_id: int,
    error: str,
    now: datetime,
    permanent: bool = False,
    policy: RoutingPolicy | None = None,
) -> None:
    """Record a failed send: retried after a backoff, or given up (``permanent``, or too many attempts)."""
    policy = policy or RoutingPolicy()
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or message.sent_at is not None:
        return
    message.attempts += 1
    message.last_error = error[:4000]
    message.claimed_by = None
    message.claimed_at = None
    if permanent or message.attempts >= policy.max_attempts:
        message.failed_at = now
    else:
        message.next_attempt_at = now + policy.backoff(message.attempts)
