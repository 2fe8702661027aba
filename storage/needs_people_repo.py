"""Repository functions for what knowledge needs read of the rest of the database: the experts named in topics,
proposals and recruiting, the answers to a topic's questions, and a report period's answers, new practices and
searches. Keyword-only, never commit; ids are bound 500 at a time (``needs_repo``'s batching)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Answer, Expert, Practice, RecordStatus, SearchLog
from storage.needs_repo import _chunks


def list_experts_by_slack_ids(session: Session, *, slack_user_ids: Iterable[str]) -> dict[str, Expert]:
    found: dict[str, Expert] = {}
    for ids in _chunks(s for s in slack_user_ids if s):
        query = select(Expert).where(Expert.slack_user_id.in_(ids))
        found.update({e.slack_user_id: e for e in session.scalars(query) if e.slack_user_id})
    return found


def list_experts_by_ids(session: Session, *, expert_ids: Iterable[int]) -> dict[int, Expert]:
    return {
        e.id: e for chunk in _chunks(expert_ids) for e in session.scalars(select(Expert).where(Expert.id.in_(chunk)))
    }


def list_answers_to(session: Session, *, question_ids: Collection[int]) -> list[Answer]:
    found = [
        a
        for chunk in _chunks(question_ids)
        for a in session.scalars(select(Answer).where(Answer.question_id.in_(chunk)))
    ]
    return sorted(found, key=lambda a: a.id)


def list_answers_between(session: Session, *, start: datetime, end: datetime) -> list[Answer]:
    query = select(Answer).where(Answer.created_at >= start, Answer.created_at < end).order_by(Answer.id)
    return list(session.scalars(query))


def list_practices_created(session: Session, *, start: datetime, end: datetime) -> list[Practice]:
    """Published practices added in ``[start, end)``."""
    query = (
        select(Practice)
        .where(Practice.status == RecordStatus.PUBLISHED, Practice.created_at >= start, Practice.created_at < end)
        .order_by(Practice.created_at, Practice.id)
    )
    return list(session.scalars(query))


def list_search_results_between(session: Session, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The result summaries of "who knows" searches made in ``[start, end)`` (which practices were shown)."""
    query = select(SearchLog.results).where(SearchLog.created_at >= start, SearchLog.created_at < end)
    return [r or {} for r in session.scalars(query)]
