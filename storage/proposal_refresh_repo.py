"""Repository functions for proposals whose posts wait to be rendered again (``need_proposal_refreshes``).

Keyword-only, never commit. ``upsert_need_proposal_refreshes`` records the live proposals whose topic holds given
questions or gaps, in the transaction that withdrew them or made them private, and ``upsert_need_proposal_refresh``
one proposal staff closed (INSERT … ON CONFLICT: a second change raises ``mark`` and never puts the row off, so a
flood of changes is rendered once when the first one falls due). ``claim_need_proposal_refresh`` takes a due row for
one process (its ``due_at`` moved on by a lease, in one conditional UPDATE), and
``get_need_proposal_refresh_claim_held`` says whether that claim still stands; ``delete_need_proposal_refresh`` removes
a row only at the ``mark`` its refresh read, so a change committed while the posts were being updated is refreshed
again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, delete, or_, select, update
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
    for proposal_id in proposal_ids:
        upsert_need_proposal_refresh(session, proposal_id=proposal_id, due_at=due_at)
    return proposal_ids


def upsert_need_proposal_refresh(session: Session, *, proposal_id: int, due_at: datetime) -> int:
    """Record one proposal as waiting to be rendered again from ``due_at``: a row already there gets its mark
    raised, its tries counted afresh and the earlier of the two due times (a change never puts a due refresh off,
    nor one under a claim, whose lease is never longer than ``due_at`` is ahead). Returns the row's mark: 1 when
    there was none (no refresh waiting, nor one under way)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(NeedProposalRefresh).values(proposal_id=proposal_id, mark=1, tries=0, due_at=due_at)
    earlier = case(
        (NeedProposalRefresh.due_at <= statement.excluded.due_at, NeedProposalRefresh.due_at),
        else_=statement.excluded.due_at,
    )
    upsert = statement.on_conflict_do_update(
        index_elements=["proposal_id"],
        set_={"mark": NeedProposalRefresh.mark + 1, "tries": 0, "due_at": earlier},
    )
    return int(session.execute(upsert.returning(NeedProposalRefresh.mark)).scalar_one())


def list_due_need_proposal_refreshes(session: Session, *, now: datetime, limit: int = 50) -> list[tuple[int, int, int]]:
    """The refreshes due at ``now``, oldest first: (proposal id, mark, tries)."""
    statement = (
        select(NeedProposalRefresh.proposal_id, NeedProposalRefresh.mark, NeedProposalRefresh.tries)
        .where(NeedProposalRefresh.due_at <= now)
        .order_by(NeedProposalRefresh.due_at, NeedProposalRefresh.proposal_id)
        .limit(limit)
    )
    return [(int(p), int(m), int(t)) for p, m, t in session.execute(statement)]


def claim_need_proposal_refresh(
    session: Session, *, proposal_id: int, now: datetime, until: datetime
) -> tuple[int, int] | None:
    """Take the refresh of ``proposal_id`` if it is due at ``now``: its ``due_at`` becomes ``until`` (the lease),
    so no other process takes it meanwhile. Returns (mark, tries), or None when it is not due (any more)."""
    row = session.execute(
        update(NeedProposalRefresh)
        .where(NeedProposalRefresh.proposal_id == proposal_id, NeedProposalRefresh.due_at <= now)
        .values(due_at=until)
        .returning(NeedProposalRefresh.mark, NeedProposalRefresh.tries)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def get_need_proposal_refresh_claim_held(session: Session, *, proposal_id: int, until: datetime) -> bool:
    """Whether the claim ``claim_need_proposal_refresh`` gave (lease ``until``) still stands: no other process took
    the row over once the lease ran out (whose render, read later, may have been shown already)."""
    found = session.scalar(
        select(NeedProposalRefresh.proposal_id).where(
            NeedProposalRefresh.proposal_id == proposal_id, NeedProposalRefresh.due_at == until
        )
    )
    return found is not None


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


def update_need_proposal_refresh_due(session: Session, *, proposal_id: int, mark: int, due_at: datetime) -> None:
    """A row at ``mark`` that no process claimed made due at ``due_at`` (sooner), unless a later change raised it."""
    session.execute(
        update(NeedProposalRefresh)
        .where(NeedProposalRefresh.proposal_id == proposal_id, NeedProposalRefresh.mark == mark)
        .values(due_at=due_at)
    )
