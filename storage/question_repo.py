"""Queries for questions, their events and answers, and knowledge gaps. Keyword-only; they never commit."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.models import (
    Answer,
    Expert,
    KnowledgeGap,
    ProcessedEvent,
    Question,
    QuestionEvent,
    QuestionStatus,
    Routing,
    RoutingStatus,
    Theme,
    Timer,
    TimerKind,
    Visibility,
    gap_key,
)
from storage.write_lock import hold_write_lock

# --- questions -----------------------------------------------------------------------------------------------------


def get_question(session: Session, *, question_id: int, lock: bool = False) -> Question | None:
    """One question; ``lock`` re-reads it and locks its row until the transaction ends (PostgreSQL; SQLite
    serialises writers). Every routing action locks the question first, so actions on one question never
    interleave."""
    return session.get(Question, question_id, with_for_update=lock or None, populate_existing=lock)


def list_questions_in_id_order(
    session: Session, *, question_ids: Collection[int], lock: bool = False
) -> list[Question]:
    """The questions with these ids, in id order; ``lock`` re-reads them and locks their rows in that order until
    the transaction ends (one order for everyone who locks several: no deadlock between them)."""
    if not question_ids:
        return []
    query = select(Question).where(Question.id.in_(sorted(question_ids))).order_by(Question.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def get_question_by_text(session: Session, *, text: str) -> Question | None:
    return session.scalars(select(Question).where(Question.text == text).limit(1)).first()


def create_question(session: Session, *, question: Question) -> Question:
    """Store a new question (built by the routing service) and give it its id."""
    session.add(question)
    session.flush()
    return question


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


def delete_question(session: Session, *, question: Question) -> None:
    session.delete(question)


def list_questions_by_asker(session: Session, *, asker_slack_id: str, limit: int = 50) -> list[Question]:
    """One person's questions, newest first."""
    query = (
        select(Question)
        .where(Question.asker_slack_id == asker_slack_id)
        .order_by(Question.created_at.desc(), Question.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def list_public_questions_in_channel(session: Session, *, channel_id: str) -> list[Question]:
    """The questions asked in ``channel_id`` while it was public (``channel_is_private`` not set)."""
    query = select(Question).where(Question.channel_id == channel_id, Question.channel_is_private.is_(False))
    return list(session.scalars(query.order_by(Question.id)))


def list_public_knowledge_gaps_in_channel(session: Session, *, channel_id: str) -> list[KnowledgeGap]:
    """The knowledge gaps recorded from ``channel_id`` while it was public."""
    query = select(KnowledgeGap).where(
        KnowledgeGap.channel_id == channel_id, KnowledgeGap.channel_is_private.is_(False)
    )
    return list(session.scalars(query.order_by(KnowledgeGap.id)))


def list_channels_with_public_content(session: Session) -> list[str]:
    """The channels that still hold questions or knowledge gaps asked there while they were public, once each,
    sorted: what the daily channel-privacy reconcile asks Slack about."""
    questions = select(Question.channel_id).where(
        Question.channel_id.is_not(None), Question.channel_is_private.is_(False)
    )
    gaps = select(KnowledgeGap.channel_id).where(
        KnowledgeGap.channel_id.is_not(None), KnowledgeGap.channel_is_private.is_(False)
    )
    return sorted(
        {str(c) for c in session.scalars(questions.distinct())} | {str(c) for c in session.scalars(gaps.distinct())}
    )


def count_channel_content(session: Session, *, channel_id: str, private: bool) -> int:
    """How many questions and knowledge gaps asked in ``channel_id`` are marked private (``private``) or public: what
    the database knows about the channel when the chat platform cannot be asked."""
    questions = select(func.count(Question.id)).where(
        Question.channel_id == channel_id, Question.channel_is_private.is_(private)
    )
    gaps = select(func.count(KnowledgeGap.id)).where(
        KnowledgeGap.channel_id == channel_id, KnowledgeGap.channel_is_private.is_(private)
    )
    return int(session.scalar(questions) or 0) + int(session.scalar(gaps) or 0)


def list_questions_by_status(session: Session, *, status: QuestionStatus, limit: int = 100) -> list[Question]:
    """Questions in one state, oldest escalation first."""
    query = (
        select(Question)
        .where(Question.status == status)
        .order_by(Question.escalated_at.asc(), Question.id.asc())
        .limit(limit)
    )
    return list(session.scalars(query))


def count_questions_asked_since(session: Session, *, asker_slack_id: str, since: datetime) -> int:
    """How many questions one person asked at or after ``since`` (whatever became of them)."""
    query = (
        select(func.count())
        .select_from(Question)
        .where(Question.asker_slack_id == asker_slack_id, Question.created_at >= since)
    )
    return int(session.scalar(query) or 0)


def count_questions_with_experts(session: Session, *, asker_slack_id: str) -> int:
    """How many of one person's questions are with experts now: still looking for an answer, with at least one
    expert asked or working on it (what uses up the experts' open slots)."""
    query = (
        select(func.count(func.distinct(Question.id)))
        .select_from(Question)
        .join(Routing, Routing.question_id == Question.id)
        .where(
            Question.asker_slack_id == asker_slack_id,
            *_with_experts(Question),
        )
    )
    return int(session.scalar(query) or 0)


def list_held_questions(
    session: Session,
    *,
    asker_slack_id: str | None = None,
    below_cap: int = 0,
    oldest_per_asker: bool = False,
    exclude_ids: Collection[int] = (),
    after: tuple[datetime, int] | None = None,
    without_escalation: bool = False,
    limit: int = 100,
) -> list[Question]:
    """Questions still open and asked of nobody (held back while their asker had enough with experts), oldest
    first; only one person's with ``asker_slack_id``. ``below_cap`` (> 0): only those whose asker has fewer than
    that many questions with experts now, decided in the query, so however many questions of askers at their cap
    wait, the others are reached; ``oldest_per_asker``: each asker's oldest only (not in ``exclude_ids``);
    ``after``: the page after the (created_at, id) of the last row of the previous page; ``without_escalation``:
    only those without a pending escalation timer."""
    query = select(Question).where(Question.status == QuestionStatus.OPEN)
    if asker_slack_id is not None:
        query = query.where(Question.asker_slack_id == asker_slack_id)
    if exclude_ids:
        query = query.where(Question.id.not_in(list(exclude_ids)))
    if below_cap > 0:
        mine = aliased(Question)
        with_experts = (
            select(func.count(func.distinct(mine.id)))
            .select_from(mine)
            .join(Routing, Routing.question_id == mine.id)
            .where(mine.asker_slack_id == Question.asker_slack_id, *_with_experts(mine))
            .scalar_subquery()
        )
        query = query.where(or_(Question.asker_slack_id.is_(None), with_experts < below_cap))
    if oldest_per_asker:
        waiting = aliased(Question)
        oldest = select(func.min(waiting.id)).where(waiting.status == QuestionStatus.OPEN)
        if exclude_ids:
            oldest = oldest.where(waiting.id.not_in(list(exclude_ids)))
        oldest = oldest.where(waiting.asker_slack_id.is_not(None)).group_by(waiting.asker_slack_id)
        query = query.where(or_(Question.asker_slack_id.is_(None), Question.id.in_(oldest)))
    if without_escalation:
        pending = select(Timer.id).where(
            Timer.question_id == Question.id, Timer.kind == TimerKind.ESCALATE, Timer.done_at.is_(None)
        )
        query = query.where(~pending.exists())
    if after is not None:
        at, last_id = after
        query = query.where(or_(Question.created_at > at, and_(Question.created_at == at, Question.id > last_id)))
    return list(session.scalars(query.order_by(Question.created_at.asc(), Question.id.asc()).limit(limit)))


def _with_experts(question: Any) -> tuple[Any, ...]:
    """Conditions for a question with experts now: looking for an answer, an expert asked or working on it."""
    return (
        question.status.in_(
            [QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.CLAIMED, QuestionStatus.ESCALATED]
        ),
        Routing.status.in_([RoutingStatus.ASKED, RoutingStatus.CLAIMED]),
    )


def claim_asker_lock(session: Session, *, asker_slack_id: str) -> None:
    """Serialise what one asker's limits decide (the hourly limit, the cap on questions with experts) until the
    transaction ends: two processes counting at once would both find room. PostgreSQL: a transaction-level
    advisory lock on the asker; SQLite: the database's write lock, taken now (``storage.write_lock``), as
    SQLite lets one writer at a time. Counts read after this see what the other committed."""
    _claim_person_lock(session, f"wieweet-asker:{asker_slack_id}")


def claim_chooser_lock(session: Session, *, chooser: str) -> None:
    """Serialise what one chooser's probing limit decides (their refused picks counted, one more recorded) until the
    transaction ends, as ``claim_asker_lock`` does for an asker: two processes counting at once would both let a
    pick through."""
    _claim_person_lock(session, f"wieweet-chooser:{chooser}")


def _claim_person_lock(session: Session, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))
    else:
        hold_write_lock(session.connection(), table=Question.metadata.tables[Question.__tablename__])


def count_questions_by_status(session: Session, *, status: QuestionStatus) -> int:
    """How many questions are in one state."""
    query = select(func.count()).select_from(Question).where(Question.status == status)
    return int(session.scalar(query) or 0)


def update_status(
    session: Session,
    *,
    record: Question | Routing,
    expected: QuestionStatus | RoutingStatus,
    values: Mapping[str, Any],
) -> bool:
    """Compare-and-set: write ``values`` (``status`` and more) on ``record``'s row if its status is still
    ``expected``. False when someone else changed it since it was read (nothing written)."""
    model: type[Question] | type[Routing] = type(record)
    result = session.execute(
        update(model).where(model.id == record.id, model.status == expected).values(**values),
        execution_options={"synchronize_session": False},
    )
    return getattr(result, "rowcount", 1) == 1


# --- events --------------------------------------------------------------------------------------------------------


def create_question_event(
    session: Session,
    *,
    question_id: int,
    routing_id: int | None,
    from_status: str,
    to_status: str,
    actor: str,
    note: str,
    kind: str,
    now: datetime,
) -> QuestionEvent:
    """Append to a question's history; flushed, so its id can name what it causes (outbox dedupe keys)."""
    event = QuestionEvent(
        question_id=question_id,
        routing_id=routing_id,
        from_status=from_status,
        to_status=to_status,
        actor=actor[:64],
        note=note,
        at=now,
        kind=kind,
    )
    session.add(event)
    session.flush()
    return event


def list_question_events(session: Session, *, question_id: int) -> list[QuestionEvent]:
    """A question's history, oldest first."""
    query = select(QuestionEvent).where(QuestionEvent.question_id == question_id).order_by(QuestionEvent.id)
    return list(session.scalars(query))


# --- answers -------------------------------------------------------------------------------------------------------


def get_answer(session: Session, *, answer_id: int) -> Answer | None:
    return session.get(Answer, answer_id)


def delete_answer(session: Session, *, answer: Answer) -> None:
    session.delete(answer)


# --- knowledge gaps ------------------------------------------------------------------------------------------------


def create_knowledge_gap(
    session: Session,
    *,
    query: str,
    normalized: str,
    themes: Sequence[str],
    asker_slack_id: str | None,
    channel_id: str | None,
    channel_is_private: bool,
    source: str,
    now: datetime,
    question_id: int | None = None,
) -> KnowledgeGap:
    """Record that nobody in the registers knows (``query`` and ``normalized`` already cut to size); flushed, so
    it has its id."""
    gap = KnowledgeGap(
        query=query,
        normalized=normalized,
        themes=list(themes),
        asker_slack_id=asker_slack_id,
        channel_id=channel_id,
        channel_is_private=channel_is_private,
        source=source,
        created_at=now,
        question_id=question_id,
    )
    session.add(gap)
    session.flush()
    return gap


def update_question_gaps_private(session: Session, *, question_id: int) -> int:
    """Mark the knowledge gaps recorded for a question private (its asker withdrew it): never quoted again, its
    asker never named; still counted. Returns how many were public."""
    result = session.execute(
        update(KnowledgeGap)
        .where(KnowledgeGap.question_id == question_id, KnowledgeGap.channel_is_private.is_(False))
        .values(channel_is_private=True),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_knowledge_gaps(session: Session, *, start: datetime, end: datetime) -> int:
    """Knowledge gaps recorded in ``[start, end)``, one per asker and ``gap_key``: someone asking the same again adds
    nothing (the digest's count); gaps without a known asker count as one person's."""
    rows = session.execute(
        select(KnowledgeGap.asker_slack_id, KnowledgeGap.normalized, KnowledgeGap.query)
        .where(KnowledgeGap.created_at >= start, KnowledgeGap.created_at < end)
        .distinct()
    )
    keys = {(asker or "", gap_key(normalized, query)) for asker, normalized, query in rows}
    return sum(1 for _asker, key in keys if key is not None)  # a gap without a word is not counted (``gap_key``)


def list_knowledge_gap_keys(
    session: Session, *, since: datetime, after_id: int = 0, limit: int = 500
) -> list[tuple[int, str, str]]:
    """(id, query, stored key) of the gaps recorded since ``since`` with an id above ``after_id``, by id."""
    rows = session.execute(
        select(KnowledgeGap.id, KnowledgeGap.query, KnowledgeGap.normalized)
        .where(KnowledgeGap.created_at >= since, KnowledgeGap.id > after_id)
        .order_by(KnowledgeGap.id)
        .limit(limit)
    )
    return [(gid, query, normalized) for gid, query, normalized in rows]


def update_knowledge_gap_keys(session: Session, *, keys: Mapping[int, str]) -> int:
    """Store these gaps' keys (id -> ``normalized``); how many rows changed."""
    changed = 0
    for gap_id, key in keys.items():
        result = session.execute(update(KnowledgeGap).where(KnowledgeGap.id == gap_id).values(normalized=key))
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed


GAP_KEYS_WRITER = "gap_keys_writer"  # the ``processed_events`` key naming the release whose analysis wrote the keys


def claim_gap_keys_writer(session: Session, *, now: datetime) -> ProcessedEvent:
    """The record of the release whose analysis last wrote the gaps' keys (``kind``; "" when none yet), locked until
    the transaction ends (PostgreSQL: ``FOR UPDATE``; SQLite: the write lock its insert takes): whoever writes keys
    decides on it first, so an older release never writes after a newer one decided. Change ``kind`` and
    ``received_at`` on it to record another release."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(ProcessedEvent)
        .values(event_key=GAP_KEYS_WRITER, kind="", received_at=now)
        .on_conflict_do_nothing(index_elements=["event_key"])
    )
    statement = select(ProcessedEvent).where(ProcessedEvent.event_key == GAP_KEYS_WRITER)
    return session.scalars(statement.with_for_update().execution_options(populate_existing=True)).one()
