"""Weekly theme digests: which channel gets one when, and the claim that sends it once a week.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import DigestRunStatus


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
    # when the claim was taken; after Slack asked to wait (Retry-After), moved so that the claim turns stale when the
    # wait ends, which may put it in the future (``digests.sender``)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    parts_total: Mapped[int] = mapped_column(default=0)
    parts_sent: Mapped[list[str]] = mapped_column(default=list)  # ts of each posted part, to resume after a crash
    error: Mapped[str] = mapped_column(Text, default="")
    # when the chat service last refused a post of this run, asked, in a way that keeps it due and may be the
    # channel's own (``no_permission``; never a refusal of the token or a scope: the app's) (``digests.sender``):
    # every pass asks the runs never refused first, then the longest refused, in whichever process it runs
    refused_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("channel_id", "period", name="uq_digest_runs_channel_period"),)
