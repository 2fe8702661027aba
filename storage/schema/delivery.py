"""Slack plumbing: the outbox of notifications, the inbox of acknowledged requests, the deduplication of Slack's
deliveries, and the cache of Slack users.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import NEVER_REUSED_IDS, Base, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import OutboxKind


class OutboxMessage(Base):
    """A notification written in the same transaction as the state change; the Slack layer sends it once."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(_enum(OutboxKind, "outbox_kind"))
    recipient_slack_id: Mapped[str | None] = mapped_column(String(32))  # a DM to this user ...
    channel_id: Mapped[str | None] = mapped_column(String(32))  # ... or a post in this channel
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routings.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)  # not claimable before (retry backoff)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    # a post may have gone out (revision 0007): before posting again, look in Slack for its marker
    post_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    sent_channel_id: Mapped[str | None] = mapped_column(String(32))
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    failed_at: Mapped[datetime | None]  # gave up after too many attempts
    # ended without being sent (revision 0016_endedcopies): what it asked of its reader was decided while it waited
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "next_attempt_at"), NEVER_REUSED_IDS)


class InboxRequest(Base):
    """A Slack request wieweet has acknowledged: recorded before the ack, its outcome produced from this row.

    ``request_key`` is the delivery's dedupe claim (a message's channel and ts, a modal's view id, a command's
    trigger id), so a redelivery, a replay or a double click finds the row instead of making a second one. The job
    runner claims pending rows (``claimed_by``/``claimed_at``, taken over when stale), produces the outcome and
    records what it posted (``posted_channel_id``/``posted_ts``; ``post_started_at`` says a post may have gone out,
    so a recovery looks for it in Slack before posting again). ``payload`` holds what the outcome needs and is
    emptied once the request is done.
    """

    __tablename__ = "inbox_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # steps done so far (ids, where it was posted)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    post_started_at: Mapped[datetime | None]
    posted_channel_id: Mapped[str | None] = mapped_column(String(32))
    posted_ts: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # gave up: the user was told once
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_inbox_requests_pending", "done_at", "next_attempt_at"),)


class ProcessedEvent(Base):
    """Deduplication of Slack deliveries across retries and processes (unique key, inserted before handling)."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SlackUser(Base):
    """Cache of what wieweet needs to know about a Slack user (locale for the UI language)."""

    __tablename__ = "slack_users"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
