"""Queries for question routing: routings, declines, timers and the outbox. They never commit.

The two claim functions (``claim_due_timers``, ``claim_outbox_rows``) are the only place with dialect-specific
SQL: PostgreSQL locks candidate rows with ``FOR UPDATE SKIP LOCKED``; SQLite claims them with one atomic
``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` (SQLite serialises writers) and reads back what it claimed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import (
    Consent,
    Expert,
    ExpertDecline,
    OutboxKind,
    OutboxMessage,
    Question,
    QuestionEvent,
    QuestionStatus,
    RecordStatus,
    Routing,
    RoutingStatus,
    SlackUser,
    Theme,
    Timer,
    TimerKind,
)

OPEN_ROUTING_STATUSES = (RoutingStatus.ASKED, RoutingStatus.CLAIMED)


# --- questions and routings -------------------------------------------------------------------------------------


def lock_question(session: Session, *, question_id: int) -> Question | None:
    """Load a question and lock its row until the transaction ends (PostgreSQL; SQLite serialises writers).

    Every routing action locks the question first, so actions on one question never interleave.
    """
    return session.get(Question, question_id, with_for_update=True, populate_existing=True)


def get_routing(session: Session, *, routing_id: int) -> Routing | None:
    return session.get(Routing, routing_id, populate_existing=True)


def open_routings(question: Question) -> list[Routing]:
    return [r for r in question.routings if r.status in OPEN_ROUTING_STATUSES]


def open_routing_counts(session: Session, *, expert_ids: Collection[int]) -> dict[int, int]:
    """How many questions each expert has open (routings asked or claimed)."""
    if not expert_ids:
        return {}
    rows = session.execute(
        select(Routing.expert_id, func.count())
        .where(Routing.expert_id.in_(list(expert_ids)), Routing.status.in_(OPEN_ROUTING_STATUSES))
        .group_by(Routing.expert_id)
    ).all()
    return {int(eid): int(n) for eid, n in rows if eid is not None}


def experts_by_id(session: Session, *, expert_ids: Collection[int]) -> dict[int, Expert]:
    if not expert_ids:
        return {}
    return {e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_(list(expert_ids))))}


def expert_by_slack_id(session: Session, *, slack_user_id: str) -> Expert | None:
    return session.scalars(select(Expert).where(Expert.slack_user_id == slack_user_id).limit(1)).first()


def routable_expert_by_slack_id(session: Session, *, slack_user_id: str) -> Expert | None:
    """The register entry of a Slack user, if they are in the register and may be linked to a routing."""
    expert = expert_by_slack_id(session, slack_user_id=slack_user_id)
    if expert is None or expert.consent is Consent.WITHDRAWN or expert.status is not RecordStatus.PUBLISHED:
        return None
    return expert


def themes_by_key(session: Session, *, keys: Iterable[str]) -> dict[str, Theme]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    return {t.key: t for t in session.scalars(select(Theme).where(Theme.key.in_(wanted)))}


def slack_locale(session: Session, *, slack_user_id: str) -> str | None:
    user = session.get(SlackUser, slack_user_id)
    return user.locale if user is not None and user.locale else None


def slack_name(session: Session, *, slack_user_id: str) -> str | None:
    user = session.get(SlackUser, slack_user_id)
    return user.name if user is not None and user.name else None


def list_questions_by_asker(session: Session, *, asker_slack_id: str, limit: int = 50) -> list[Question]:
    query = (
        select(Question)
        .where(Question.asker_slack_id == asker_slack_id)
        .order_by(Question.created_at.desc(), Question.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def list_routings_for(
    session: Session, *, slack_user_id: str, statuses: Sequence[RoutingStatus] | None = None, limit: int = 50
) -> list[Routing]:
    """Routings sent to a Slack user (by recipient id, or through their register entry)."""
    expert_ids = select(Expert.id).where(Expert.slack_user_id == slack_user_id).scalar_subquery()
    query = select(Routing).where(or_(Routing.recipient_slack_id == slack_user_id, Routing.expert_id.in_(expert_ids)))
    if statuses is not None:
        query = query.where(Routing.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(Routing.asked_at.desc(), Routing.id.desc()).limit(limit)))


def list_questions_by_status(session: Session, *, status: QuestionStatus, limit: int = 100) -> list[Question]:
    query = (
        select(Question)
        .where(Question.status == status)
        .order_by(Question.escalated_at.asc(), Question.id.asc())
        .limit(limit)
    )
    return list(session.scalars(query))


def question_events(session: Session, *, question_id: int) -> list[QuestionEvent]:
    query = select(QuestionEvent).where(QuestionEvent.question_id == question_id).order_by(QuestionEvent.id)
    return list(session.scalars(query))


# --- declines ---------------------------------------------------------------------------------------------------


def add_declines(
    session: Session, *, expert_id: int, theme_keys: Iterable[str], question_id: int | None, now: datetime
) -> None:
    for key in sorted(set(theme_keys)):
        session.add(ExpertDecline(expert_id=expert_id, theme_key=key, question_id=question_id, declined_at=now))


def decline_counts(
    session: Session, *, expert_ids: Collection[int], theme_keys: Collection[str], since: datetime
) -> dict[int, int]:
    """Per expert: how many declines on any of ``theme_keys`` since ``since`` (one per question and theme)."""
    if not expert_ids or not theme_keys:
        return {}
    rows = session.execute(
        select(ExpertDecline.expert_id, func.count())
        .where(
            ExpertDecline.expert_id.in_(list(expert_ids)),
            ExpertDecline.theme_key.in_(sorted(theme_keys)),
            ExpertDecline.declined_at >= since,
        )
        .group_by(ExpertDecline.expert_id)
    ).all()
    return {int(eid): int(n) for eid, n in rows}


# --- timers -----------------------------------------------------------------------------------------------------


def schedule_timer(
    session: Session,
    *,
    kind: TimerKind,
    due_at: datetime,
    now: datetime,
    question_id: int | None = None,
    routing_id: int | None = None,
    expert_id: int | None = None,
) -> Timer:
    timer = Timer(
        kind=kind,
        due_at=due_at,
        question_id=question_id,
        routing_id=routing_id,
        expert_id=expert_id,
        created_at=now,
    )
    session.add(timer)
    return timer


def pending_timers(
    session: Session,
    *,
    question_id: int | None = None,
    routing_id: int | None = None,
    kinds: Collection[TimerKind] | None = None,
) -> list[Timer]:
    query = select(Timer).where(Timer.done_at.is_(None))
    if question_id is not None:
        query = query.where(Timer.question_id == question_id)
    if routing_id is not None:
        query = query.where(Timer.routing_id == routing_id)
    if kinds is not None:
        query = query.where(Timer.kind.in_(list(kinds)))
    return list(session.scalars(query.order_by(Timer.due_at, Timer.id)))


def cancel_timers(
    session: Session,
    *,
    now: datetime,
    question_id: int | None = None,
    routing_id: int | None = None,
    kinds: Collection[TimerKind] | None = None,
    note: str = "cancelled",
) -> int:
    """Complete pending, unclaimed timers without running them (the state they were for has moved on)."""
    if question_id is None and routing_id is None:
        raise ValueError("cancel_timers needs a question or a routing")
    conditions: list[ColumnElement[bool]] = [Timer.done_at.is_(None), Timer.claimed_by.is_(None)]
    if question_id is not None:
        conditions.append(Timer.question_id == question_id)
    if routing_id is not None:
        conditions.append(Timer.routing_id == routing_id)
    if kinds is not None:
        conditions.append(Timer.kind.in_(list(kinds)))
    result = session.execute(
        update(Timer).where(*conditions).values(done_at=now, last_error=note),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _claimable(
    model: type[Timer] | type[OutboxMessage],
    *,
    now: datetime,
    stale_before: datetime,
    kinds: Collection[TimerKind] | None = None,
) -> list[Any]:
    """The conditions for a claimable row; the last one is "unclaimed, or claimed before ``stale_before``"."""
    unclaimed_or_stale = or_(model.claimed_by.is_(None), model.claimed_at < stale_before)
    if model is Timer:
        conditions: list[Any] = [Timer.done_at.is_(None), Timer.due_at <= now]
        if kinds is not None:
            conditions.append(Timer.kind.in_(sorted(kinds)))
        return [*conditions, unclaimed_or_stale]
    return [
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        unclaimed_or_stale,
    ]


def _claim(
    session: Session,
    model: type[Timer] | type[OutboxMessage],
    *,
    now: datetime,
    worker_id: str,
    limit: int,
    stale_before: datetime,
    kinds: Collection[TimerKind] | None = None,
) -> list[int]:
    conditions = _claimable(model, now=now, stale_before=stale_before, kinds=kinds)
    order: tuple[Any, ...] = (Timer.due_at, Timer.id) if model is Timer else (OutboxMessage.id,)
    candidates = select(model.id).where(*conditions).order_by(*order).limit(limit)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if ids:
            session.execute(
                update(model).where(model.id.in_(ids)).values(claimed_by=worker_id, claimed_at=now),
                execution_options={"synchronize_session": False},
            )
        return ids
    # SQLite (and anything else that serialises writers): one atomic UPDATE, then read back our claims.
    session.execute(
        update(model).where(model.id.in_(candidates.scalar_subquery())).values(claimed_by=worker_id, claimed_at=now),
        execution_options={"synchronize_session": False},
    )
    mine = (
        select(model.id)
        .where(and_(model.claimed_by == worker_id, model.claimed_at == now), *conditions[:-1])
        .order_by(*order)
    )
    return list(session.scalars(mine))


def claim_due_timers(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    limit: int,
    stale_before: datetime,
    kinds: Collection[TimerKind] | None = None,
) -> list[int]:
    """Claim up to ``limit`` due timers (unclaimed, or claimed before ``stale_before``); returns their ids."""
    return _claim(session, Timer, now=now, worker_id=worker_id, limit=limit, stale_before=stale_before, kinds=kinds)


def claim_outbox_rows(
    session: Session, *, now: datetime, worker_id: str, limit: int, stale_before: datetime
) -> list[int]:
    return _claim(session, OutboxMessage, now=now, worker_id=worker_id, limit=limit, stale_before=stale_before)


def complete_claimed_timer(session: Session, *, timer_id: int, worker_id: str, now: datetime) -> bool:
    """Mark a timer done if this worker still holds its claim (compare-and-set). False: someone took it over."""
    result = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.claimed_by == worker_id, Timer.done_at.is_(None))
        .values(done_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def release_failed_timer(
    session: Session, *, timer_id: int, worker_id: str, error: str, retry_at: datetime | None, now: datetime
) -> None:
    """Record a failure; release the claim for a retry at ``retry_at`` or give up (``retry_at`` None)."""
    values: dict[str, Any] = {
        "attempts": Timer.attempts + 1,
        "last_error": error[:4000],
        "claimed_by": None,
        "claimed_at": None,
    }
    if retry_at is None:
        values["done_at"] = now
    else:
        values["due_at"] = retry_at
    session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.claimed_by == worker_id, Timer.done_at.is_(None))
        .values(**values),
        execution_options={"synchronize_session": False},
    )


# --- outbox -----------------------------------------------------------------------------------------------------


def enqueue_outbox(
    session: Session,
    *,
    kind: OutboxKind,
    dedupe_key: str,
    now: datetime,
    payload: dict[str, Any],
    recipient_slack_id: str | None = None,
    channel_id: str | None = None,
    thread_ts: str | None = None,
    question_id: int | None = None,
    routing_id: int | None = None,
) -> OutboxMessage | None:
    """Queue one notification; None (and nothing written) if one with the same ``dedupe_key`` exists."""
    for pending in session.new:  # not flushed yet in this transaction
        if isinstance(pending, OutboxMessage) and pending.dedupe_key == dedupe_key:
            return None
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key).limit(1))
    if exists is not None:
        return None
    message = OutboxMessage(
        kind=kind,
        dedupe_key=dedupe_key[:200],
        recipient_slack_id=recipient_slack_id,
        channel_id=channel_id,
        thread_ts=thread_ts,
        question_id=question_id,
        routing_id=routing_id,
        payload=payload,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(message)
    return message


def outbox_messages(
    session: Session, *, question_id: int | None = None, kind: OutboxKind | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if question_id is not None:
        query = query.where(OutboxMessage.question_id == question_id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def get_sent_outbox(session: Session, *, dedupe_key: str) -> OutboxMessage | None:
    """The outbox message queued under ``dedupe_key``, when it was sent (it has a channel and ts)."""
    query = select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.sent_ts.is_not(None))
    return session.scalars(query.limit(1)).first()


def list_sent_outbox(
    session: Session,
    *,
    kinds: Collection[OutboxKind],
    routing_id: int | None = None,
    question_id: int | None = None,
    recipient_slack_id: str | None = None,
    dedupe_key_prefix: str | None = None,
    limit: int = 20,
) -> list[OutboxMessage]:
    """Sent outbox messages of ``kinds`` about one routing, question or person, newest first: the messages the bot
    itself posted about that subject (each has ``sent_channel_id`` and ``sent_ts``)."""
    query = select(OutboxMessage).where(
        OutboxMessage.kind.in_(list(kinds)),
        OutboxMessage.sent_ts.is_not(None),
        OutboxMessage.sent_channel_id.is_not(None),
    )
    if routing_id is not None:
        query = query.where(OutboxMessage.routing_id == routing_id)
    if question_id is not None:
        query = query.where(OutboxMessage.question_id == question_id)
    if recipient_slack_id is not None:
        query = query.where(OutboxMessage.recipient_slack_id == recipient_slack_id)
    if dedupe_key_prefix is not None:
        query = query.where(OutboxMessage.dedupe_key.startswith(dedupe_key_prefix, autoescape=True))
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))
