"""Repository functions for questions, answers and knowledge gaps. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Answer, Expert, KnowledgeGap, Question, QuestionStatus, Theme, Visibility


def get_question(session: Session, *, question_id: int) -> Question | None:
    return session.get(Question, question_id)


def get_question_by_text(session: Session, *, text: str) -> Question | None:
    return session.scalars(select(Question).where(Question.text == text).limit(1)).first()


def create_answered_question(
    session: Session,
    *,
    text: str,
    answer_text: str,
    expert: Expert | None,
    answered_by_name: str,
    themes: Sequence[Theme],
    asked_at: datetime,
    answered_at: datetime,
    visibility: Visibility = Visibility.PUBLIC,
    asker_name: str = "",
    channel_id: str | None = None,
    thread_ts: str | None = None,
) -> Question:
    """Record a question that was already answered (earlier knowledge, e.g. the demo or a migration)."""
    question = Question(
        text=text,
        asker_name=asker_name,
        visibility=visibility,
        status=QuestionStatus.RESOLVED,
        channel_id=channel_id,
        thread_ts=thread_ts,
        created_at=asked_at,
        updated_at=answered_at,
        answered_at=answered_at,
        closed_at=answered_at,
        themes=list(themes),
    )
    question.answers.append(
        Answer(
            expert_id=expert.id if expert else None,
            answered_by_name=answered_by_name,
            answered_by_slack_id=expert.slack_user_id if expert else None,
            organisation=expert.organisation if expert else "",
            text=answer_text,
            created_at=answered_at,
        )
    )
    session.add(question)
    session.flush()
    return question


def count_questions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Question)) or 0


def list_knowledge_gaps_by_asker(session: Session, *, since: datetime | None = None) -> list[KnowledgeGap]:
    query = select(KnowledgeGap).order_by(KnowledgeGap.created_at.desc(), KnowledgeGap.id.desc())
    if since is not None:
        query = query.where(KnowledgeGap.created_at >= since)
    return list(session.scalars(query))
