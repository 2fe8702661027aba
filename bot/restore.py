"""After a restore: what the restored database would send or do once wieweet starts, and settling it first.

The restored database is the state at the backup's time. Outbox messages queued then are sent at the next start,
also those that went out since; timers pending then run when due. wieweet cannot tell which of them Slack has seen
already; the operator can (the Slack channels, the people asked). ``list_queued`` shows them — kind, recipient,
question, times; never a message's text — and ``discard_queued`` ends the chosen ones without sending or running
them: messages are ended unsent (``ended_reason`` ``discarded``), timers completed with a note. Audited (actor,
counts). Staff only (the command line). Nothing here commits.

This week's digests are ``digests.restored``'s.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.privacy.audit import record_counts
from storage import outbox_repo, routing_repo
from storage.enums import QUEUED_ENTITY
from storage.models import OutboxMessage, Timer

DISCARDED = "discarded"
DISCARD_ACTION = "discard"


@dataclass(frozen=True)
class Queued:
    messages: list[OutboxMessage]
    timers: list[Timer]


def list_queued(session: Session) -> Queued:
    """Outbox messages not sent, failed or ended (oldest first) and timers not done (by due time)."""
    return Queued(
        messages=outbox_repo.list_queued_outbox_messages(session),
        timers=routing_repo.list_pending_timers(session),
    )


@dataclass(frozen=True)
class Discarded:
    messages: int
    timers: int


def discard_queued(
    session: Session,
    *,
    actor: Actor,
    now: datetime,
    message_ids: Collection[int] = (),
    timer_ids: Collection[int] = (),
    messages_before: datetime | None = None,
    timers_before: datetime | None = None,
) -> Discarded:
    """End the chosen queued messages and complete the chosen timers without sending or running them: by id, and
    all created before a time. Audited with the counts."""
    messages = outbox_repo.update_outbox_messages_discarded(
        session, now=now, reason=DISCARDED, ids=message_ids, created_before=messages_before
    )
    timers = routing_repo.update_timers_discarded(
        session, now=now, note=DISCARDED, ids=timer_ids, created_before=timers_before
    )
    record_counts(
        session,
        actor=actor,
        action=DISCARD_ACTION,
        entity_type=QUEUED_ENTITY,
        key="restore",
        after={"messages": messages, "timers": timers},
        now=now,
    )
    return Discarded(messages=messages, timers=timers)
