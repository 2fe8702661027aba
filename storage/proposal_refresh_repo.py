"""Repository functions for proposals whose posts wait to be rendered again (``need_proposal_refreshes``).

Keyword-only, never commit. ``upsert_need_proposal_refreshes`` records the live proposals whose topic holds given
questions or gaps, in the transaction that withdrew them or made them private (INSERT … ON CONFLICT: a second change
raises ``mark``); ``delete_need_proposal_refresh`` removes a row only at the ``mark`` its refresh read, so a change
committed while the posts were being updated is refreshed again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import NeedItem, NeedProposal, NeedProposalRefresh


def upsert_need_proposal_refreshes(
    session: Session, *, question_ids: Collection[int] = (), gap_ids: Collection[int] = (), due_at: datetime
) -> list[int]:
    """Record the live proposals (open or invited) whose topic holds one of these questions or gaps as waiting
    to be rendered again from ``due_at``; returns their ids."""
    conditions = []
    if question_ids:
        conditions.append(NeedItem.question_id.in_(sorted(question_ids)))
    if gap_ids:
        conditions.append(NeedItem.gap_id.in_(sorted(gap_ids)))
    if not conditions:
        return []
    topics = select(NeedItem.topic_id).where(or_(*conditions))
    live = select(NeedProposal.id).where(NeedProposal.open_topic_id.is_not(None), NeedProposal.topic_id.in_(topics))
    proposal_ids = sorted(session.scalars(live))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for proposal_id in proposal_ids:
        statement = insert(NeedProposalRefresh).values(proposal_id=proposal_id, mark=1, tries=0, due_at=due_at)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["proposal_id"],
                set_={"mark": NeedProposalRefresh.mark + 1, "tries": 0, "due_at": statement.excluded.due_at},
            )
        )
    return proposal_ids


def list_due_need_proposal_refreshes(session: Session, *, now: datetime, limit: int = 50) -> list[tuple[int, int, int]]:
    """The refreshes due at ``now``, oldest first: (proposal id, mark, tries)."""
    statement = (
        select(NeedProposalRefresh.proposal_id, NeedProposalRefresh.mark, NeedProposalRefresh.tries)
        .where(NeedProposalRefresh.due_at <= now)
        .order_by(NeedProposalRefresh.due_at, NeedProposalRefresh.proposal_id)
        .limit(limit)
    )
    return [(int(p), int(m), int(t)) for p, m, t in session.execute(statement)]


def delete_need_proposal_refresh(session: Session, *, proposal_id: int, mark: int) -> None:
    """The posts were rendered again after change ``mark``: the row goes, unless a later change raised it."""
    session.execute(
        delete(NeedProposalRefresh).where(
            NeedProposalRefresh.proposal_id == proposal_id, NeedProposalRefresh.mark == mark
        )
    )


def update_need_proposal_refresh_later(session: Session, *, proposal_id: int, mark: int, due_at: datetime) -> None:
    """A refresh that failed (or found nothing posted yet) is tried again from ``due_at`` (one more try counted),
    unless a later change raised its mark (that one is due already)."""
    session.execute(
        update(NeedProposalRefresh)
        .where(NeedProposalRefresh.proposal_id == proposal_id, NeedProposalRefresh.mark == mark)
        .values(tries=NeedProposalRefresh.tries + 1, due_at=due_at)
    )
