"""What the matching index reads: the searchable records, the places in the register, and what changed since.

Keyword-only, never commit. ``bot.matching.loader`` turns the rows into matching documents; ``bot.knowledge``
follows changes with the ``updated_at`` stamps. The orders are part of the contract: the index is built in id
order, so rankings do not depend on how the database happens to return rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Answer, AuditLog, Expert, Practice, Question, QuestionStatus, RecordStatus, Theme, Visibility

SEARCHABLE_QUESTION_STATUSES = (QuestionStatus.ANSWERED, QuestionStatus.RESOLVED, QuestionStatus.CLOSED)

IndexedRecord = type[Expert] | type[Practice] | type[Question]


def list_all_experts(session: Session) -> Iterator[Expert]:
    """Every expert (whatever the state: the caller decides what is searchable), by id, streamed."""
    yield from session.scalars(select(Expert).order_by(Expert.id))


def list_published_practices(session: Session) -> Iterator[Practice]:
    """Published practices by id, streamed."""
    yield from session.scalars(select(Practice).where(Practice.status == RecordStatus.PUBLISHED).order_by(Practice.id))


def list_document_texts(session: Session) -> Iterator[tuple[str, str, list[str], str]]:
    """The embedded text fields of every expert (``("expert", role, expertise, bio)``) and practice
    (``("practice", title, tags, summary)``), whatever their state, by id, streamed."""
    for role, expertise, bio in session.execute(select(Expert.role, Expert.expertise, Expert.bio).order_by(Expert.id)):
        yield "expert", role, list(expertise or ()), bio
    query = select(Practice.title, Practice.tags, Practice.summary).order_by(Practice.id)
    for title, tags, summary in session.execute(query):
        yield "practice", title, list(tags or ()), summary


def list_answered_public_questions(session: Session) -> Iterator[Question]:
    """Public questions that were answered (answered, resolved or closed), by id, streamed."""
    query = (
        select(Question)
        .where(Question.visibility == Visibility.PUBLIC, Question.status.in_(SEARCHABLE_QUESTION_STATUSES))
        .order_by(Question.id)
    )
    yield from session.scalars(query)


def list_answerers_by_slack_id(session: Session, *, question_id: int | None = None) -> dict[str, Expert]:
    """The register entries, by Slack id, of the people answers are tied to by their Slack id (``answered_by_slack_id``,
    also where the answer has no expert id: chosen by hand, answered in the thread); of one question's answers when
    ``question_id`` is given."""
    answered = select(Answer.answered_by_slack_id).where(Answer.answered_by_slack_id.is_not(None))
    if question_id is not None:
        answered = answered.where(Answer.question_id == question_id)
    query = select(Expert).where(Expert.slack_user_id.in_(answered)).order_by(Expert.id)
    return {e.slack_user_id: e for e in session.scalars(query) if e.slack_user_id}


def list_question_ids_answered_by(session: Session, *, expert_ids: Collection[int]) -> set[int]:
    """The questions with an answer tied to one of these experts by its Slack id (whatever its expert id)."""
    if not expert_ids:
        return set()
    slack_ids = select(Expert.slack_user_id).where(Expert.id.in_(sorted(expert_ids)), Expert.slack_user_id.is_not(None))
    query = select(Answer.question_id).where(Answer.answered_by_slack_id.in_(slack_ids)).distinct()
    return set(session.scalars(query))


def list_register_places(session: Session) -> list[tuple[str, str]]:
    """The distinct (city, organisation) pairs of experts, then of practices."""
    rows = [(c, o) for c, o in session.execute(select(Expert.city, Expert.organisation).distinct())]
    rows += [(c, o) for c, o in session.execute(select(Practice.city, Practice.organisation).distinct())]
    return rows


def get_latest_change(session: Session) -> datetime | None:
    """The newest ``updated_at`` of experts, practices, questions and themes (None: all empty)."""
    stamps = [session.scalar(select(func.max(m.updated_at))) for m in (Expert, Practice, Question, Theme)]
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def get_latest_audit_id(session: Session, *, entity_type: str) -> int:
    """The highest id of an audit entry of ``entity_type`` (0: none). By id, not by time: replicas' clocks may differ,
    ids only grow. One index look-up (``ix_audit_log_entity_type_id``), however long the log."""
    return int(session.scalar(select(func.max(AuditLog.id)).where(AuditLog.entity_type == entity_type)) or 0)


def get_latest_theme_change(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Theme.updated_at)))


def list_changed_records(
    session: Session, *, model: IndexedRecord, since: datetime | None
) -> list[tuple[int, datetime]]:
    """(id, updated_at) of ``model``'s rows updated at or after ``since`` (every row when None)."""
    query = select(model.id, model.updated_at)
    if since is not None:
        query = query.where(model.updated_at >= since)
    return [(int(ident), updated) for ident, updated in session.execute(query)]


def list_record_ids(session: Session, *, model: IndexedRecord) -> set[int]:
    """The ids of every row of ``model`` (to find indexed records whose row is gone)."""
    return set(session.scalars(select(model.id)))
