"""Queries for the outbox table (``outbox_messages``). Keyword-only, never commit.

``bot.outbox`` is the outbox's one core module (typed payloads, queueing, claiming, marking sent or failed); these
are its queries, plus what privacy rights need (a person's messages, retention).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.claiming import claim_ids
from storage.models import OutboxKind, OutboxMessage

log = logging.getLogger("wieweet.outbox")


def create_outbox_message(
    session: Session,
    *,
    kind: OutboxKind,
    dedupe_key: str,
    now: datetime,
    payload: dict[str, Any],
    recipient_slack_id: str | None = None,
    channel_id: str | None = None,
    thread_ts: str | None = None,
    question_id: int | None = None,
    routing_id: int | None = None,
    concurrent: bool = False,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue one notification (sent from ``not_before`` on, by default at once); None (and nothing written) if one
    with the same ``dedupe_key`` exists. The same
    message queued again (a retried action) is dropped quietly; a different one under a key already used would be
    lost work, so it is logged as a WARNING with the key and kind (a caller that expects that checks the key first:
    ``get_outbox_message_keyed``).

    ``concurrent``: another transaction may queue the same key at the same moment (two staff members asking the
    same person): the row is written at once, under a savepoint, and meeting the other one's under the unique key
    (PostgreSQL waits for it to commit) means it was queued there: None, as for a key found, and this transaction
    goes on."""
    queued = get_outbox_message_keyed(session, dedupe_key=dedupe_key)
    if queued is not None:
        if queued.kind is not kind or queued.payload != payload:
            log.warning("outbox: not queued, key already used by other content key=%s kind=%s", dedupe_key, kind.value)
        return None
    message = OutboxMessage(
        kind=kind,
        dedupe_key=dedupe_key[:200],
        recipient_slack_id=recipient_slack_id,
        channel_id=channel_id,
        thread_ts=thread_ts,
        question_id=question_id,
        routing_id=routing_id,
        payload=payload,
        created_at=now,
        next_attempt_at=not_before or now,
    )
    if not concurrent:
        session.add(message)
        return message
    # SQLite needs the savepoint too: pysqlite runs the reads before the first write outside any transaction, so two
    # asks at the same moment can both find no message under the key; the second one's INSERT waits for the first
    # one's write lock, then meets its row under the unique key (as on PostgreSQL). The savepoint does not begin
    # SQLite's transaction (its RELEASE would commit the row at once): ``storage.write_lock`` begins it first.
    try:
        with session.begin_nested():  # flushed on leaving it: the conflict, if any, raised here
            session.add(message)
    except IntegrityError:
        log.info("outbox: queued meanwhile by another transaction key=%s kind=%s", dedupe_key, kind.value)
        return None
    return message


def get_outbox_message(session: Session, *, message_id: int, lock: bool = False) -> OutboxMessage | None:
    """One message; ``lock`` re-reads it and holds its row until commit (marking it sent or failed)."""
    return session.get(OutboxMessage, message_id, with_for_update=lock or None, populate_existing=lock)


def list_outbox_messages(
    session: Session,
    *,
    ids: Collection[int] | None = None,
    question_id: int | None = None,
    kind: OutboxKind | None = None,
) -> list[OutboxMessage]:
    """Messages by id, question and/or kind, oldest first."""
    query = select(OutboxMessage)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    if question_id is not None:
        query = query.where(OutboxMessage.question_id == question_id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def count_outbox_messages_keyed(session: Session, *, prefix: str, since: datetime) -> int:
    """How many messages whose ``dedupe_key`` starts with ``prefix`` were queued from ``since`` on."""
    query = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.dedupe_key.startswith(prefix, autoescape=True), OutboxMessage.created_at >= since
    )
    return int(session.scalar(query) or 0)


def get_outbox_message_first_keyed(session: Session, *, prefix: str) -> OutboxMessage | None:
    """The message queued first (in any state) whose ``dedupe_key`` starts with ``prefix``; None when none is."""
    query = select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))
    return session.scalars(query.order_by(OutboxMessage.created_at, OutboxMessage.id).limit(1)).first()


def list_queued_outbox_messages_keyed(session: Session, *, prefix: str) -> list[OutboxMessage]:
    """The messages still to be sent (not sent, failed or ended) whose ``dedupe_key`` starts with ``prefix``, oldest
    first."""
    query = select(OutboxMessage).where(*_queued(), OutboxMessage.dedupe_key.startswith(prefix, autoescape=True))
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def get_outbox_message_keyed(session: Session, *, dedupe_key: str) -> OutboxMessage | None:
    """The message queued under ``dedupe_key`` in any state, also one not yet flushed in this transaction."""
    for pending in session.new:
        if isinstance(pending, OutboxMessage) and pending.dedupe_key == dedupe_key:
            return pending
    return session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key).limit(1)).first()


def list_outbox_keys(
    session: Session, *, kind: OutboxKind, prefix: str, key: str | None = None, limit: int = 2
) -> list[str]:
    """The dedupe keys of messages of ``kind`` (in any state) whose key starts with ``prefix`` or is ``key``,
    newest first."""
    matches = OutboxMessage.dedupe_key.startswith(prefix, autoescape=True)
    if key is not None:
        matches = or_(matches, OutboxMessage.dedupe_key == key)
    query = select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == kind, matches)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def claim_outbox_messages(
    session: Session, *, now: datetime, worker_id: str, limit: int, stale_before: datetime
) -> list[int]:
    """Claim up to ``limit`` unsent messages due at ``now`` (oldest first) for ``worker_id``; returns their ids."""
    conditions = [
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.ended_at.is_(None),  # ended unsent: what it asked was decided while it waited
        OutboxMessage.next_attempt_at <= now,
    ]
    return claim_ids(
        session,
        model=OutboxMessage,
        conditions=conditions,
        order=(OutboxMessage.id,),
        now=now,
        worker_id=worker_id,
        limit=limit,
        stale_before=stale_before,
    )


def get_sent_outbox_message(session: Session, *, dedupe_key: str) -> OutboxMessage | None:
    """The outbox message queued under ``dedupe_key``, when it was sent (it has a channel and ts)."""
    query = select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.sent_ts.is_not(None))
    return session.scalars(query.limit(1)).first()


def list_sent_outbox_messages(
    session: Session,
    *,
    kinds: Collection[OutboxKind],
    routing_id: int | None = None,
    question_id: int | None = None,
    recipient_slack_id: str | None = None,
    dedupe_key_prefix: str | None = None,
    limit: int = 20,
) -> list[OutboxMessage]:
    """Sent outbox messages of ``kinds`` about one routing, question or person, newest first: the messages the bot
    itself posted about that subject (each has ``sent_channel_id`` and ``sent_ts``)."""
    query = select(OutboxMessage).where(
        OutboxMessage.kind.in_(list(kinds)),
        OutboxMessage.sent_ts.is_not(None),
        OutboxMessage.sent_channel_id.is_not(None),
    )
    if routing_id is not None:
        query = query.where(OutboxMessage.routing_id == routing_id)
    if question_id is not None:
        query = query.where(OutboxMessage.question_id == question_id)
    if recipient_slack_id is not None:
        query = query.where(OutboxMessage.recipient_slack_id == recipient_slack_id)
    if dedupe_key_prefix is not None:
        query = query.where(OutboxMessage.dedupe_key.startswith(dedupe_key_prefix, autoescape=True))
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


# --- privacy rights ------------------------------------------------------------------------------------------------


def list_outbox_messages_to(session: Session, *, slack_user_id: str) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.recipient_slack_id == slack_user_id).order_by(OutboxMessage.id)
    return list(session.scalars(query))


def delete_outbox_messages_to(session: Session, *, slack_user_id: str) -> int:
    result = session.execute(delete(OutboxMessage).where(OutboxMessage.recipient_slack_id == slack_user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_finished_outbox_messages(session: Session, *, before: datetime) -> int:
    """Sent (given up, or ended unsent) messages older than ``before``; waiting ones are never purged."""
    result = session.execute(
        delete(OutboxMessage).where(
            or_(OutboxMessage.sent_at < before, OutboxMessage.failed_at < before, OutboxMessage.ended_at < before),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _queued() -> list[Any]:
    return [OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.ended_at.is_(None)]


def list_queued_outbox_messages(session: Session) -> list[OutboxMessage]:
    """Messages still to be sent (not sent, failed or ended), oldest first: what a start would send."""
    return list(session.scalars(select(OutboxMessage).where(*_queued()).order_by(OutboxMessage.id)))


def update_outbox_messages_discarded(
    session: Session,
    *,
    now: datetime,
    reason: str,
    live_since: datetime,
    ids: Collection[int] = (),
    created_before: datetime | None = None,
) -> list[int]:
    """End queued messages unsent (``ended_at``/``ended_reason``): those in ``ids`` and those created before
    ``created_before``, except those claimed since ``live_since`` (a running sender may be posting them: ended, its
    post would still go out and could not be recorded). Returns the ids ended, in order."""
    chosen: list[Any] = []
    if ids:
        chosen.append(OutboxMessage.id.in_(list(ids)))
    if created_before is not None:
        chosen.append(OutboxMessage.created_at < created_before)
    if not chosen:
        return []
    not_held = or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_at < live_since)
    ended = session.scalars(
        update(OutboxMessage)
        .where(*_queued(), not_held, or_(*chosen))
        .values(ended_at=now, ended_reason=reason[:64])
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(ended)


def update_outbox_messages_ended(session: Session, *, ids: Collection[int], now: datetime, reason: str) -> list[int]:
    """End unsent, unclaimed messages among ``ids`` (``ended_at``/``ended_reason``); a claimed one is its sender's
    to post or end. Returns the ids ended, in order."""
    if not ids:
        return []
    ended = session.scalars(
        update(OutboxMessage)
        .where(*_queued(), OutboxMessage.claimed_by.is_(None), OutboxMessage.id.in_(sorted(ids)))
        .values(ended_at=now, ended_reason=reason[:64])
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(ended)


def update_outbox_messages_ended_unstarted(
    session: Session, *, ids: Collection[int], now: datetime, reason: str
) -> list[int]:
    """End unsent messages among ``ids`` whose post has not started (``ended_at``/``ended_reason``), claimed or not:
    a claimed one's sender finds it ended right before its post (its claim is left for it to see why; nothing takes
    an ended message up again). Returns the ids ended, in order."""
    if not ids:
        return []
    ended = session.scalars(
        update(OutboxMessage)
        .where(*_queued(), OutboxMessage.post_started_at.is_(None), OutboxMessage.id.in_(sorted(ids)))
        .values(ended_at=now, ended_reason=reason[:64])
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(ended)


def update_routing_messages_ended(
    session: Session, *, routing_ids: Collection[int], kinds: Collection[OutboxKind], now: datetime, reason: str
) -> list[int]:
    """End unsent, unclaimed messages of ``kinds`` about these routings (``ended_at``/``ended_reason``); a claimed
    one is its sender's to post or end. Returns the ids ended, in order."""
    if not routing_ids or not kinds:
        return []
    ended = session.scalars(
        update(OutboxMessage)
        .where(
            *_queued(),
            OutboxMessage.claimed_by.is_(None),
            OutboxMessage.routing_id.in_(sorted(routing_ids)),
            OutboxMessage.kind.in_(sorted(kinds)),
        )
        .values(ended_at=now, ended_reason=reason[:64])
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(ended)
