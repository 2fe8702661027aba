"""The whole product's schema as typed SQLAlchemy 2 models.

Designed up front so that later features (routing, digests, self-service, privacy) add behaviour, not tables.
Conventions:

* every timestamp is a timezone-aware UTC ``datetime`` (``UTCDateTime`` stores naive UTC, returns aware UTC, the
  same on SQLite and PostgreSQL);
* enumerations are stored as short strings with a CHECK constraint (``native_enum=False``), portable and
  readable in plain SQL;
* list-valued register fields (expertise topics, tags, languages) are JSON arrays; themes are real rows linked by
  association tables so they can be renamed and counted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base, UTCDateTime, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import (
    Availability,
    Consent,
    DigestRunStatus,
    EscalationReason,
    EventKind,
    OutboxKind,
    Outcome,
    ProposalStatus,
    QuestionStatus,
    RecordStatus,
    RoutingStatus,
    TimerKind,
    Visibility,
)

# The enumerations live in storage.enums and the base and column types in storage.base; they are re-exported here
# for callers that import them with the models (the models defined below are public as usual).
__all__ = [
    "Availability",
    "Base",
    "Consent",
    "DigestRunStatus",
    "EscalationReason",
    "EventKind",
    "OutboxKind",
    "Outcome",
    "ProposalStatus",
    "QuestionStatus",
    "RecordStatus",
    "RoutingStatus",
    "TimerKind",
    "UTCDateTime",
    "Visibility",
    "utcnow",
]

# --- association tables -----------------------------------------------------------------------------------------

expert_themes = Table(
    "expert_themes",
    Base.metadata,
    Column("expert_id", ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
)

practice_themes = Table(
    "practice_themes",
    Base.metadata,
    Column("practice_id", ForeignKey("practices.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
)

question_themes = Table(
    "question_themes",
    Base.metadata,
    Column("question_id", ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
)


# --- register -------------------------------------------------------------------------------------------------


class Theme(Base):
    """The controlled vocabulary (keys are a contract; labels and synonyms are curated by staff)."""

    __tablename__ = "themes"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    label_nl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    synonyms: Mapped[list[str]] = mapped_column(default=list)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Expert(Base):
    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    organisation: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(200), default="")
    expertise: Mapped[list[str]] = mapped_column(default=list)
    languages: Mapped[list[str]] = mapped_column(default=list)
    bio: Mapped[str] = mapped_column(Text, default="")
    availability: Mapped[Availability] = mapped_column(
        _enum(Availability, "availability"), default=Availability.AVAILABLE
    )
    away_until: Mapped[date | None] = mapped_column(Date)
    consent: Mapped[Consent] = mapped_column(_enum(Consent, "consent"), default=Consent.PENDING)
    consent_changed_at: Mapped[datetime | None]
    last_confirmed_at: Mapped[datetime | None]
    consent_requested_at: Mapped[datetime | None]  # the last confirm-your-listing DM (revision 0002)
    max_open_questions: Mapped[int] = mapped_column(default=3)
    status: Mapped[RecordStatus] = mapped_column(_enum(RecordStatus, "expert_status"), default=RecordStatus.PUBLISHED)
    source: Mapped[str] = mapped_column(String(20), default="import")  # import | slack | demo
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    themes: Mapped[list[Theme]] = relationship(secondary=expert_themes, order_by=Theme.key, lazy="selectin")
    practices: Mapped[list[Practice]] = relationship(back_populates="contact_expert", lazy="raise_on_sql")

    __table_args__ = (Index("ix_experts_city", "city"),)


class Practice(Base):
    """A good, mixed or failed practice with lessons learned. Key: (title, city)."""

    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[str]] = mapped_column(default=list)
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome, "outcome"))
    lessons: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2000), default="")
    year: Mapped[int | None]
    status: Mapped[RecordStatus] = mapped_column(_enum(RecordStatus, "practice_status"), default=RecordStatus.PUBLISHED)
    submitted_by: Mapped[str | None] = mapped_column(String(32))  # Slack user id of a chat submission
    moderation_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    themes: Mapped[list[Theme]] = relationship(secondary=practice_themes, order_by=Theme.key, lazy="selectin")
    contact_expert: Mapped[Expert | None] = relationship(back_populates="practices", lazy="selectin")

    __table_args__ = (UniqueConstraint("title", "city", name="uq_practices_title_city"),)


# --- questions and routing ------------------------------------------------------------------------------------


class Question(Base):
    """A policy question: asked in chat, routed to experts, answered, and then searchable knowledge."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    asker_slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    asker_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="nl")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "visibility"), default=Visibility.PUBLIC)
    status: Mapped[QuestionStatus] = mapped_column(
        _enum(QuestionStatus, "question_status"), default=QuestionStatus.OPEN, index=True
    )
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    desired_by: Mapped[date | None] = mapped_column(Date)
    rating: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str] = mapped_column(String(20), default="")  # an EscalationReason, or ""
    staff_note: Mapped[str] = mapped_column(Text, default="")  # staff's note when closing by hand
    rated_at: Mapped[datetime | None]

    themes: Mapped[list[Theme]] = relationship(secondary=question_themes, order_by=Theme.key, lazy="selectin")
    routings: Mapped[list[Routing]] = relationship(
        back_populates="question", order_by="Routing.id", cascade="all, delete-orphan", lazy="selectin"
    )
    answers: Mapped[list[Answer]] = relationship(
        back_populates="question", order_by="Answer.id", cascade="all, delete-orphan", lazy="selectin"
    )


class Routing(Base):
    """One question sent to one expert, with its own small state machine."""

    __tablename__ = "routings"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"), index=True)
    status: Mapped[RoutingStatus] = mapped_column(_enum(RoutingStatus, "routing_status"), default=RoutingStatus.ASKED)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    suggested_by_expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    volunteered: Mapped[bool] = mapped_column(Boolean, default=False)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    dm_ts: Mapped[str | None] = mapped_column(String(32))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Who is asked: the expert's Slack id, or a colleague outside the register (then ``expert_id`` is NULL).
    recipient_slack_id: Mapped[str | None] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(5), default="nl")  # the recipient's language, when known
    forwarded_from_id: Mapped[int | None] = mapped_column(ForeignKey("routings.id", ondelete="SET NULL"))
    snoozed_until: Mapped[datetime | None]

    question: Mapped[Question] = relationship(back_populates="routings", lazy="selectin")
    expert: Mapped[Expert | None] = relationship(foreign_keys=[expert_id], lazy="selectin")

    __table_args__ = (UniqueConstraint("question_id", "expert_id", name="uq_routings_question_expert"),)


class QuestionEvent(Base):
    """Every state change of a question or routing: when, who, from what to what."""

    __tablename__ = "question_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routings.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(20), default="")
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64), default="")  # Slack user id, "system" or "staff:<id>"
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="status")  # an EventKind


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="SET NULL"))
    answered_by_name: Mapped[str] = mapped_column(String(200), default="")
    answered_by_slack_id: Mapped[str | None] = mapped_column(String(32))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    posted_channel_id: Mapped[str | None] = mapped_column(String(32))
    posted_ts: Mapped[str | None] = mapped_column(String(32))
    permalink: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    question: Mapped[Question] = relationship(back_populates="answers", lazy="selectin")
    expert: Mapped[Expert | None] = relationship(lazy="selectin")


class Timer(Base):
    """A due action (reminder, next expert, escalation, snooze). Claimed by one process, handled once."""

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TimerKind] = mapped_column(_enum(TimerKind, "timer_kind"))
    due_at: Mapped[datetime]
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    routing_id: Mapped[int | None] = mapped_column(ForeignKey("routings.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_timers_pending", "done_at", "due_at"),)


class ExpertDecline(Base):
    """An expert declined a question on these themes: ranked lower for them afterwards (one row per theme)."""

    __tablename__ = "expert_declines"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"))
    theme_key: Mapped[str] = mapped_column(ForeignKey("themes.key", ondelete="CASCADE", onupdate="CASCADE"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    declined_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_expert_declines_expert_theme", "expert_id", "theme_key"),)


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
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "next_attempt_at"),)


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


class KnowledgeGap(Base):
    """A question that matched nobody well: what the network lacks knowledge about."""

    __tablename__ = "knowledge_gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    normalized: Mapped[str] = mapped_column(String(500), index=True)
    themes: Mapped[list[str]] = mapped_column(default=list)
    asker_slack_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    channel_is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="cli")  # cli | console | slack
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SearchLog(Base):
    """One "who knows" result set as shown, so 👍/👎 feedback and "more results" refer to exactly it.

    It is the asker's: only they may use its buttons, and — once the answer was posted where others see it
    (``posted_channel_id``: a thread answer, or shared) — the members of that conversation.
    """

    __tablename__ = "search_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    user_slack_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    posted_channel_id: Mapped[str | None] = mapped_column(String(32))  # revision 0003
    gap: Mapped[bool] = mapped_column(Boolean, default=False)
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    search_log_id: Mapped[int] = mapped_column(ForeignKey("search_logs.id", ondelete="CASCADE"))
    user_slack_id: Mapped[str | None] = mapped_column(String(32))
    vote: Mapped[int]  # +1 or -1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("search_log_id", "user_slack_id", name="uq_feedback_search_user"),)


# --- digests ----------------------------------------------------------------------------------------------------


class DigestSubscription(Base):
    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), unique=True)
    channel_is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    themes: Mapped[list[str]] = mapped_column(default=list)  # empty: all themes
    weekday: Mapped[int] = mapped_column(default=0)  # 0 = Monday
    hour: Mapped[int] = mapped_column(default=9)
    minute: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(String(5), default="nl")
    post_empty: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DigestRun(Base):
    """The claim that makes a digest go out once per channel per ISO week (Europe/Brussels)."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(10))  # ISO week, e.g. "2026-W48"
    status: Mapped[DigestRunStatus] = mapped_column(_enum(DigestRunStatus, "digest_run_status"))
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    parts_total: Mapped[int] = mapped_column(default=0)
    parts_sent: Mapped[list[str]] = mapped_column(default=list)  # ts of each posted part, to resume after a crash
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (UniqueConstraint("channel_id", "period", name="uq_digest_runs_channel_period"),)


# --- knowledge needs -------------------------------------------------------------------------------------------


class NeedTopic(Base):
    """A topic of the network's knowledge needs: questions and gaps that ask about the same thing.

    Topics are made by ``bot.needs`` and never renumbered: a topic keeps its id and label as questions join it.
    ``label`` is taken from a shareable (public) question only; it stays empty while the topic has none.
    """

    __tablename__ = "need_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    label_item: Mapped[str] = mapped_column(String(40), default="")  # the item the label came from, e.g. "q:12"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NeedItem(Base):
    """One question or knowledge gap placed in a topic (once; only a young topic of one question, never proposed
    nor acted on by staff, may later join a larger one: ``bot.needs.grouping``)."""

    __tablename__ = "need_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("need_topics.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), unique=True)
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_gaps.id", ondelete="CASCADE"), unique=True)
    asked_at: Mapped[datetime] = mapped_column(index=True)  # the question's or gap's created_at
    similarity: Mapped[float] = mapped_column(Float, default=1.0)  # to the topic when it joined (1 for a seed)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class NeedFit(Base):
    """A full refit of the grouping's collection statistics (the terms' IDF, the centre of the meaning vectors, the
    compound vocabulary): they are fitted on the items placed up to ``last_item_id`` (``items`` of them) and kept
    until the collection has grown by a set share (``bot.needs.state``), so any process rebuilds the same ones."""

    __tablename__ = "need_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_item_id: Mapped[int] = mapped_column(default=0)  # need_items.id of the last item fitted on
    items: Mapped[int] = mapped_column(default=0)  # how many items were fitted on
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NeedProposal(Base):
    """A proposed work session on a topic. ``open_topic_id`` is the topic's id while the proposal is open or
    invited and NULL afterwards: unique, so there is at most one live proposal per topic, whoever claims it."""

    __tablename__ = "need_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("need_topics.id", ondelete="CASCADE"), index=True)
    open_topic_id: Mapped[int | None] = mapped_column(unique=True)
    status: Mapped[ProposalStatus] = mapped_column(_enum(ProposalStatus, "proposal_status"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    organisations: Mapped[int] = mapped_column(default=0)  # distinct organisations when proposed
    questions: Mapped[int] = mapped_column(default=0)  # questions and gaps in the window when proposed
    claimed_by: Mapped[str] = mapped_column(String(64), default="")
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where staff invited the people
    notes_url: Mapped[str] = mapped_column(String(2000), default="")
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practices.id", ondelete="SET NULL"))
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")  # staff's reason when dismissing
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- Slack plumbing and audit ----------------------------------------------------------------------------------


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


class AuditLog(Base):
    """Every change to the registers: who, when, what before and after."""

    __tablename__ = "audit_log"
    # the newest entry of a type without a scan (``index_repo.get_latest_audit_id``: the index follows erasures)
    __table_args__ = (Index("ix_audit_log_entity_type_id", "entity_type", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))  # "cli:<user>", Slack user id, "system"
    action: Mapped[str] = mapped_column(String(40))  # create | update | delete | import | erase | ...
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(400))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Embedding(Base):
    """A text's vector under one embedding model (the meaning-based matching signal, ``bot.matching.semantic``).

    Keyed by the model id and the SHA-256 of the embedded text, not by a record: computed once in the background,
    reused across restarts, replicas and identical texts. A vector whose text no record has any more is purged by
    the embedding job (``bot.knowledge.KnowledgeBase.embed_pending``)."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("model", "content_hash", name="uq_embeddings_model_content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(80))
    content_hash: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float16, little-endian
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
