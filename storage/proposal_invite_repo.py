"""Repository functions for inviting a proposed work session's people (``need_proposals``' invitation columns).

Keyword-only, never commit. Each is one conditional UPDATE, so two processes never both win:
``claim_need_proposal_invite`` reserves the invitation of an *open* proposal for one submission (its request key)
until a time limit, before any channel is made — free, already this submission's (a retry), or expired (a crashed
attempt) — ``update_need_proposal_invite_released`` gives a refused submission's hold up, and
``update_need_proposal_invited`` records the invitation if the proposal is still open and not held by another.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.orm import Session

from storage.models import NeedProposal, ProposalStatus


def _free_for(holder: str | None, now: datetime) -> ColumnElement[bool]:
    """Not held, held by ``holder``, or held past its time limit."""
    held = NeedProposal.invite_held_by
    return or_(held.is_(None), held == holder, NeedProposal.invite_held_until <= now)


def claim_need_proposal_invite(
    session: Session, *, proposal_id: int, holder: str, now: datetime, until: datetime
) -> bool:
    """Hold the invitation of an open proposal for ``holder`` until ``until``; False when it is not open or another
    submission holds it (not expired)."""
    query = update(NeedProposal).where(
        NeedProposal.id == proposal_id, NeedProposal.status == ProposalStatus.OPEN, _free_for(holder, now)
    )
    result = session.execute(query.values(invite_held_by=holder, invite_held_until=until))
    return bool(getattr(result, "rowcount", 0) == 1)


def update_need_proposal_invite_released(session: Session, *, proposal_id: int, holder: str) -> bool:
    """``holder``'s hold given up (its invitation was refused): another submission need not wait for it to expire."""
    query = update(NeedProposal).where(NeedProposal.id == proposal_id, NeedProposal.invite_held_by == holder)
    result = session.execute(query.values(invite_held_by=None, invite_held_until=None))
    return bool(getattr(result, "rowcount", 0) == 1)


def update_need_proposal_invited(
    session: Session, *, proposal_id: int, channel_id: str, holder: str | None, now: datetime
) -> bool:
    """Mark an *open* proposal invited to ``channel_id`` (its hold ends), in one conditional statement: False when
    it was not open, or another submission holds its invitation (not expired)."""
    query = update(NeedProposal).where(
        NeedProposal.id == proposal_id, NeedProposal.status == ProposalStatus.OPEN, _free_for(holder, now)
    )
    values = {"status": ProposalStatus.INVITED, "channel_id": channel_id, "updated_at": now}
    result = session.execute(query.values(**values, invite_held_by=None, invite_held_until=None))
    return bool(getattr(result, "rowcount", 0) == 1)
