"""Claiming rows for one worker, the only dialect-specific SQL of the work queues (timers and the outbox).

PostgreSQL locks candidate rows with ``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint rows; SQLite
(which serialises writers) claims them with one atomic ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` and reads
back what it claimed. Used by ``routing_repo.claim_due_timers`` and ``outbox_repo.claim_outbox_messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxMessage, Timer


def claim_ids(
    session: Session,
    *,
    model: type[Timer] | type[OutboxMessage],
    conditions: Sequence[Any],
    order: Sequence[Any],
    now: datetime,
    worker_id: str,
    limit: int,
    stale_before: datetime,
) -> list[int]:
    """Claim up to ``limit`` rows of ``model`` meeting ``conditions`` that are unclaimed (or claimed before
    ``stale_before``: a crashed worker), in ``order``; returns their ids."""
    unclaimed_or_stale = or_(model.claimed_by.is_(None), model.claimed_at < stale_before)
    candidates = select(model.id).where(*conditions, unclaimed_or_stale).order_by(*order).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
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
        .where(and_(model.claimed_by == worker_id, model.claimed_at == now), *conditions)
        .order_by(*order)
    )
    return list(session.scalars(mine))
