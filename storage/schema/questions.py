"""Questions and their routing: the question, who it was sent to, its events and answers, the timers that move
it on, and the declines that rank an expert lower afterwards.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import NEVER_REUSED_IDS, Base, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import QuestionStatus, RoutingStatus, TimerKind, Visibility
from storage.schema.register import Expert, Theme

question_themes = Table(
    "question_themes",
    Base.metadata,
    Column("question_id", ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
)


class Question(Base):
    """A policy question: asked in chat, routed to experts, answered, and then searchable knowledge."""

    __tablename__ = "questions"
    __table_args__ = NEVER_REUSED_IDS

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

    __table_args__ = (
        UniqueConstraint("question_id", "expert_id", name="uq_routings_question_expert"),
        NEVER_REUSED_IDS,
    )


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
