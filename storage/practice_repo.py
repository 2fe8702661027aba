"""Database queries for practices submitted from chat and their moderation. Keyword-only; never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import register_repo as repo
from storage.models import OutboxKind, OutboxMessage, Practice, RecordStatus


def get_practice(session: Session, *, practice_id: int, lock: bool = False) -> Practice | None:
    """One practice; ``lock`` holds its row until commit (two staff deciding at once: the second sees the first)."""
    return session.get(Practice, practice_id, with_for_update=lock or None, populate_existing=lock)


def get_practice_by_key(session: Session, *, title: str, city: str) -> Practice | None:
    """The practice with this (title, city), compared case-insensitively (the register's key)."""
    return repo.get_practice_by_key(session, title=title, city=city)


def list_practices_by_status(session: Session, *, status: RecordStatus, limit: int = 100) -> list[Practice]:
    """Practices in one moderation state, oldest submission first."""
    query = select(Practice).where(Practice.status == status).order_by(Practice.created_at, Practice.id).limit(limit)
    return list(session.scalars(query))


def list_practices_submitted_by(session: Session, *, slack_user_id: str, limit: int = 50) -> list[Practice]:
    """What one person submitted from chat, newest first."""
    query = (
        select(Practice)
        .where(Practice.submitted_by == slack_user_id)
        .order_by(Practice.created_at.desc(), Practice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def create_practice(
    session: Session,
    *,
    title: str,
    city: str,
    summary: str,
    submitted_by: str | None,
    status: RecordStatus,
    now: datetime,
) -> Practice:
    practice = repo.create_practice(session, title=title, city=city, summary=summary, now=now)
    practice.submitted_by = submitted_by
    practice.status = status
    return practice


def get_review_message(session: Session, *, practice_id: int) -> OutboxMessage | None:
    """The latest staff triage message about a practice that was sent (it has a channel and ts), or None."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == OutboxKind.PRACTICE_REVIEW,
            OutboxMessage.dedupe_key.startswith(f"practice_review:{practice_id}:", autoescape=True),
            OutboxMessage.sent_ts.is_not(None),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
