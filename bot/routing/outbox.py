"""The outbox: notifications written with the state change, sent by the Slack layer exactly once.

The Slack layer polls ``claim_outbox`` (claimed rows are its own until sent, failed or stale), renders each
message by ``kind`` from its ``payload``, sends it (a DM to ``recipient_slack_id`` or a post in ``channel_id``,
in ``thread_ts`` when set), then calls ``mark_outbox_sent`` with the returned channel and ts — or
``mark_outbox_failed``. A ``triage`` message with no ``channel_id`` goes to the configured triage channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.routing.policy import RoutingPolicy
from storage import routing_repo as repo
from storage.db import Database
from storage.models import Answer, OutboxKind, OutboxMessage, Routing


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
        ids = repo.claim_outbox_messages(
            session, now=now, worker_id=worker_id, limit=limit, stale_before=now - stale_after
        )
        if not ids:
            return []
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)))


def mark_outbox_sent(session: Session, *, message_id: int, ts: str | None, channel: str | None, now: datetime) -> bool:
    """Record a sent message (False if it was already marked sent). Also remembers where the DM asking an expert
    went (``Routing.dm_channel_id``/``dm_ts``, to update it later) and where an answer was posted."""
    message = session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
    if message is None or message.sent_at is not None:
        return False
    message.sent_at = now
    message.sent_ts = ts
    message.sent_channel_id = channel
    message.claimed_by = None
    message.claimed_at = None
    if message.kind is OutboxKind.EXPERT_REQUEST and message.routing_id is not None:
        routing = session.get(Routing, message.routing_id)
        if routing is not None:
            routing.dm_channel_id = channel
            routing.dm_ts = ts
    elif message.kind is OutboxKind.QUESTION_ANSWERED:
        answer_id = message.payload.get("answer_id")
        answer = session.get(Answer, answer_id) if isinstance(answer_id, int) else None
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
    message = session.get(OutboxMessage, message_id, with_for_update=True, populate_existing=True)
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
