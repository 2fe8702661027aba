"""The registers: the theme vocabulary, experts and practices, and the audit log of every change to them.

Part of the schema (``storage.models`` gathers every table; import the models from there).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import NEVER_REUSED_IDS, Base, utcnow
from storage.base import enum_column as _enum  # every enumeration column below
from storage.enums import Availability, Consent, Outcome, RecordStatus

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

    __table_args__ = (Index("ix_experts_city", "city"), NEVER_REUSED_IDS)


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

    __table_args__ = (UniqueConstraint("title", "city", name="uq_practices_title_city"), NEVER_REUSED_IDS)


def is_stopped(expert: Expert | None) -> bool:
    """Whether this person said to stop: listing withdrawn ("Remove me") or opted out of questions ("stop asking
    me"). Never asked again (routing), never named again (search results, digests). The one rule for all three."""
    return expert is not None and (expert.consent is Consent.WITHDRAWN or expert.availability is Availability.OPTED_OUT)


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


class ErasedIdentity(Base):
    """Someone who asked to be forgotten: a keyed hash (HMAC-SHA-256 with ``ErasureKey``) of one normalised e-mail
    address or Slack user id of theirs, nothing else. An import (or another path that would list them) skips a row
    whose address or id hashes to one of these (``storage.erased_repo``)."""

    __tablename__ = "erased_identities"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErasureKey(Base):
    """The database's own random key for ``ErasedIdentity`` (one row, made by revision 0017_erasedids or at the first
    erasure): without it a stored hash cannot be tested against a list of guessed addresses."""

    __tablename__ = "erasure_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
