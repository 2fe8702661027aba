"""Queries for question routing: routings, declines and timers. Keyword-only; they never commit.

Questions and their events are in ``storage.question_repo``, the outbox in ``storage.outbox_repo``. Claiming due
timers is dialect-specific (``storage.claiming``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from storage.claiming import claim_ids
from storage.models import Expert, ExpertDecline, Routing, RoutingStatus, Timer, TimerKind

OPEN_ROUTING_STATUSES = (RoutingStatus.ASKED, RoutingStatus.CLAIMED)


# --- routings ------------------------------------------------------------------------------------------------------


def get_routing(session: Session, *, routing_id: int) -> Routing | None:
    """One routing, re-read from the database (after the question's row lock: the state under the lock)."""
    return session.get(Routing, routing_id, populate_existing=True)


def count_open_routings(session: Session, *, expert_ids: Collection[int]) -> dict[int, int]:
    """How many questions each expert has open (routings asked or claimed)."""
    if not expert_ids:
        return {}
    rows = session.execute(
        select(Routing.expert_id, func.count())
        .where(Routing.expert_id.in_(list(expert_ids)), Routing.status.in_(OPEN_ROUTING_STATUSES))
        .group_by(Routing.expert_id)
    ).all()
    return {int(eid): int(n) for eid, n in rows if eid is not None}


def list_routings_for(
    session: Session, *, slack_user_id: str, statuses: Sequence[RoutingStatus] | None = None, limit: int = 50
) -> list[Routing]:
    """Routings sent to a Slack user (by recipient id, or through their register entry), newest first."""
    expert_ids = select(Expert.id).where(Expert.slack_user_id == slack_user_id).scalar_subquery()
    query = select(Routing).where(or_(Routing.recipient_slack_id == slack_user_id, Routing.expert_id.in_(expert_ids)))
    if statuses is not None:
        query = query.where(Routing.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(Routing.asked_at.desc(), Routing.id.desc()).limit(limit)))


# --- declines ------------------------------------------------------------------------------------------------------


def create_declines(
    session: Session, *, expert_id: int, theme_keys: Iterable[str], question_id: int | None, now: datetime
) -> None:
    """One decline per theme of the question (the expert is ranked lower on those themes for a while)."""
    for key in sorted(set(theme_keys)):
        session.add(ExpertDecline(expert_id=expert_id, theme_key=key, question_id=question_id, declined_at=now))


def count_declines(
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


# --- timers --------------------------------------------------------------------------------------------------------


def create_timer(
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


def get_timer(session: Session, *, timer_id: int) -> Timer | None:
    """One timer, re-read from the database."""
    return session.get(Timer, timer_id, populate_existing=True)


def update_timers_cancelled(
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
        raise ValueError("update_timers_cancelled needs a question or a routing")
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
    conditions: list[Any] = [Timer.done_at.is_(None), Timer.due_at <= now]
    if kinds is not None:
        conditions.append(Timer.kind.in_(sorted(kinds)))
    return claim_ids(
        session,
        model=Timer,
        conditions=conditions,
        order=(Timer.due_at, Timer.id),
        now=now,
        worker_id=worker_id,
        limit=limit,
        stale_before=stale_before,
    )


def update_claimed_timer_done(session: Session, *, timer_id: int, worker_id: str, now: datetime) -> bool:
    """Mark a timer done if this worker still holds its claim (compare-and-set). False: someone took it over."""
    result = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.claimed_by == worker_id, Timer.done_at.is_(None))
        .values(done_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def update_timer_failed(
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


def list_pending_timers(session: Session) -> list[Timer]:
    """Timers not done yet, by due time: what a start would run when due."""
    return list(session.scalars(select(Timer).where(Timer.done_at.is_(None)).order_by(Timer.due_at, Timer.id)))


def update_timers_discarded(
    session: Session,
    *,
    now: datetime,
    note: str,
    live_since: datetime,
    ids: Collection[int] = (),
    created_before: datetime | None = None,
) -> list[int]:
    """Complete pending timers without running them: those in ``ids`` and those created before ``created_before``,
    except those claimed since ``live_since`` (a running pass is running them); a stale claim (a crashed process's)
    is cleared. Returns the ids completed, in order."""
    chosen: list[ColumnElement[bool]] = []
    if ids:
        chosen.append(Timer.id.in_(list(ids)))
    if created_before is not None:
        chosen.append(Timer.created_at < created_before)
    if not chosen:
        return []
    done = session.scalars(
        update(Timer)
        .where(Timer.done_at.is_(None), or_(Timer.claimed_by.is_(None), Timer.claimed_at < live_since), or_(*chosen))
        .values(done_at=now, last_error=note, claimed_by=None, claimed_at=None)
        .returning(Timer.id),
        execution_options={"synchronize_session": False},
    )
    return sorted(done)
