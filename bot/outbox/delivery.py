"""Queueing and sending the outbox's messages: written in the same transaction as the change they announce, sent
exactly once.

A core service queues a message with ``enqueue(session, payload, ...)`` (a payload of ``bot.outbox.payloads``). The
Slack layer polls ``claim_outbox`` (claimed rows are its own until sent, failed or stale), reads each payload back
with ``read_payload``, renders it, sends it (a DM to ``recipient_slack_id`` or a post in ``channel_id``, in
``thread_ts`` when set), then calls ``mark_outbox_sent`` with the returned channel and ts — or
``mark_outbox_failed``. A staff message with no ``channel_id`` goes to the configured triage channel. The queries
are ``storage.outbox_repo``'s.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.outbox.payloads import (
    ExpertiseRequest,
    OutboxPayload,
    PayloadError,
    QuestionAnswered,
    payload_json,
    read_as,
)
from bot.retry import RetryPolicy
from storage import outbox_repo, question_repo, routing_repo
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage

# --- queueing, claiming, marking ------------------------------------------------------------------------------------


def enqueue(
    session: Session,
    payload: OutboxPayload,
    *,
    dedupe_key: str,
    now: datetime,
    recipient_slack_id: str | None = None,
    channel_id: str | None = None,
    thread_ts: str | None = None,
    question_id: int | None = None,
    routing_id: int | None = None,
    concurrent: bool = False,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Queue ``payload`` (in the caller's transaction; sent from ``not_before`` on, by default at once); None, and
    nothing written, if ``dedupe_key`` was queued (``concurrent``: also by another transaction at the same moment,
    ``outbox_repo.create_outbox_message``)."""
    return outbox_repo.create_outbox_message(
        session,
        kind=payload.kind,
        dedupe_key=dedupe_key,
        now=now,
        payload=payload_json(payload),
        recipient_slack_id=recipient_slack_id,
        channel_id=channel_id,
        thread_ts=thread_ts,
        question_id=question_id,
        routing_id=routing_id,
        concurrent=concurrent,
        not_before=not_before,
    )


REDRAW_KEY = "expertise_redraw:"  # the dedupe key of a sent recruiting DM's redraw, followed by that DM's outbox id
REDRAW_KIND = "expertise_redraw"  # what such a row is shown as (an export, the queued list): not a request of its own


def redraw_of(message: OutboxMessage) -> int | None:
    """The outbox id of the sent recruiting DM this message draws again (``enqueue_expertise_redraw``); None for
    any other message (a recruiting DM of its own among them)."""
    key = message.dedupe_key or ""
    if message.kind != OutboxKind.EXPERTISE_REQUEST or not key.startswith(REDRAW_KEY):
        return None
    ident = key[len(REDRAW_KEY) :]
    return int(ident) if ident.isdigit() else None


def shown_kind(message: OutboxMessage) -> str:
    """What a message is, as an export or the queued list shows it: its kind, but ``expertise_redraw`` for the
    redraw of a sent recruiting DM (stored as an ``expertise_request`` row, yet no second request)."""
    return REDRAW_KIND if redraw_of(message) is not None else message.kind.value


def enqueue_expertise_redraw(session: Session, message: OutboxMessage, *, now: datetime) -> OutboxMessage | None:
    """A sent recruiting DM (``ExpertiseRequest``) drawn again in Slack without its label and button (an erasure took
    the label): an outbox message of its own that updates it, sent once the caller's transaction is committed; once
    per DM (``expertise_redraw:<id>``: None when queued already)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    topic_id = payload.get("topic_id")
    return enqueue(
        session,
        ExpertiseRequest(
            topic_id=topic_id if isinstance(topic_id, int) else 0,
            gone=True,
            redraw_channel=message.sent_channel_id or "",
            redraw_ts=message.sent_ts or "",
        ),
        dedupe_key=f"{REDRAW_KEY}{message.id}",
        now=now,
        recipient_slack_id=message.recipient_slack_id,
    )


def sent_refs(messages: Iterable[OutboxMessage]) -> list[dict[str, str]]:
    """Where these sent messages went (``channel_id``, ``message_ts``), each place once, in the order given."""
    refs: list[dict[str, str]] = []
    for message in messages:
        ref = {"channel_id": message.sent_channel_id or "", "message_ts": message.sent_ts or ""}
        if message.sent_channel_id and message.sent_ts and ref not in refs:
            refs.append(ref)
    return refs


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


def _still_ours(message: OutboxMessage, worker_id: str | None) -> bool:
    """An unsent message that ``worker_id`` (when given) still holds the claim of: a sender whose claim went stale
    and was taken over by another worker must not mark (or send) what is no longer its own."""
    if message.sent_at is not None or message.failed_at is not None or message.ended_at is not None:
        return False
    return worker_id is None or message.claimed_by == worker_id


def mark_outbox_sent(
    session: Session,
    *,
    message_id: int,
    ts: str | None,
    channel: str | None,
    now: datetime,
    worker_id: str | None = None,
) -> bool:
    """Record a sent message (False if it was already marked sent, or ``worker_id`` — the sender, when given — no
    longer holds its claim). Also remembers where the DM asking an expert went (``Routing.dm_channel_id``/``dm_ts``,
    to update it later) and where an answer was posted."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or not _still_ours(message, worker_id):
        return False
    message.sent_at = now
    message.sent_ts = ts
    message.sent_channel_id = channel
    message.claimed_by = None
    message.claimed_at = None
    if message.kind is OutboxKind.EXPERT_REQUEST and message.routing_id is not None:
        routing = routing_repo.get_routing(session, routing_id=message.routing_id)
        if routing is not None:
            routing.dm_channel_id = channel
            routing.dm_ts = ts
    elif message.kind is OutboxKind.QUESTION_ANSWERED:
        try:
            answer_id = read_as(QuestionAnswered, message.payload).answer_id
        except PayloadError:  # it was rendered and sent: only where the answer was posted is not remembered
            answer_id = None
        answer = question_repo.get_answer(session, answer_id=answer_id) if answer_id is not None else None
        if answer is not None and answer.posted_ts is None:
            answer.posted_channel_id = channel
            answer.posted_ts = ts
    return True


def mark_outbox_post_started(
    session: Session, *, message_id: int, worker_id: str, now: datetime, started_at: datetime | None = None
) -> bool:
    """A post of this message is about to go out: a retry (after a crash) looks for it in Slack first. Only while
    ``worker_id`` still holds the claim and the message is unsent (False: do not post, another worker took it over
    after this one's claim went stale); the claim is refreshed, so it does not go stale during the post.
    ``started_at``: the wall-clock time the post starts (the look-up reads Slack from then on); default ``now``."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or not worker_id or not _still_ours(message, worker_id):
        return False
    message.post_started_at = started_at or now
    message.claimed_at = now
    return True


def keep_outbox_claim(session: Session, *, message_id: int, worker_id: str, now: datetime) -> bool:
    """Before sending what Slack keeps no record of (an ephemeral message, which cannot be looked up after a crash):
    True, and the claim refreshed, while ``worker_id`` still holds the claim of the unsent message."""
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or not _still_ours(message, worker_id):
        return False
    message.claimed_at = now
    return True


class FailOutcome(enum.Enum):
    """What ``mark_outbox_failed`` recorded."""

    RETRYING = "retrying"  # sent again after a backoff
    GIVEN_UP = "given_up"  # permanent, or the last attempt: never sent


def mark_outbox_failed(
    session: Session,
    *,
    message_id: int,
    error: str,
    now: datetime,
    permanent: bool = False,
    policy: RetryPolicy | None = None,
    worker_id: str | None = None,
    not_before: datetime | None = None,
) -> FailOutcome | None:
    """Record a failed send: retried after a backoff (and no earlier than ``not_before``: when Slack asked to wait
    longer), or given up (``permanent``, or too many attempts) — the one place that rule lives. None, and nothing
    changed, when the message is sent already or ``worker_id`` (the sender, when given) no longer holds its claim
    (another worker took it over: its attempt counts, not this one's)."""
    policy = policy or RetryPolicy()
    message = outbox_repo.get_outbox_message(session, message_id=message_id, lock=True)
    if message is None or not _still_ours(message, worker_id):
        return None
    message.attempts += 1
    message.last_error = error[:4000]
    message.claimed_by = None
    message.claimed_at = None
    if permanent or message.attempts >= policy.max_attempts:
        message.failed_at = now
        return FailOutcome.GIVEN_UP
    retry_at = now + policy.backoff(message.attempts)
    message.next_attempt_at = max(retry_at, not_before) if not_before is not None else retry_at
    return FailOutcome.RETRYING
