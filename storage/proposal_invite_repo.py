"""Repository functions for inviting a proposed work session's people (``need_proposals``' invitation columns).

Keyword-only, never commit. Each is one conditional UPDATE, so two processes never both win:
``claim_need_proposal_invite`` reserves the invitation of an *open* proposal for one submission (its request key)
until a time limit, before any channel is made — free, already this submission's (a retry), or expired (a crashed
attempt) — ``update_need_proposal_invite_released`` gives a refused (or given up) submission's hold up,
``update_need_proposal_invited`` records the invitation if the proposal is still open and not held by another, and
``update_need_proposal_unheld_for_close`` lets a dismissal or a session done through only while nobody holds it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.orm import Session

from storage.models import NeedProposal, ProposalStatus

_UNHELD = {"invite_held_by": None, "invite_held_until": None, "invite_held_for": None}


def _free_for(holder: str | None, now: datetime) -> ColumnElement[bool]:
    """Not held, held by ``holder``, or held past its time limit."""
    held = NeedProposal.invite_held_by
    return or_(held.is_(None), held == holder, NeedProposal.invite_held_until <= now)


def claim_need_proposal_invite(
    session: Session, *, proposal_id: int, holder: str, now: datetime, until: datetime, staff: str | None = None
) -> bool:
    """Hold the invitation of an open proposal for ``holder`` (submitted by ``staff``, a Slack user id) until
    ``until``; False when it is not open or another submission holds it (not expired)."""
    query = update(NeedProposal).where(
        NeedProposal.id == proposal_id, NeedProposal.status == ProposalStatus.OPEN, _free_for(holder, now)
    )
    result = session.execute(query.values(invite_held_by=holder, invite_held_until=until, invite_held_for=staff))
    return bool(getattr(result, "rowcount", 0) == 1)


def update_need_proposal_invite_released(session: Session, *, proposal_id: int, holder: str) -> bool:
    """``holder``'s hold given up (its invitation was refused): another submission need not wait for it to expire."""
    query = update(NeedProposal).where(NeedProposal.id == proposal_id, NeedProposal.invite_held_by == holder)
    result = session.execute(query.values(**_UNHELD))
    return bool(getattr(result, "rowcount", 0) == 1)


def update_need_proposal_unheld_for_close(session: Session, *, proposal_id: int, now: datetime) -> bool:
    """Before a live proposal is dismissed or marked done: True when nobody holds its invitation (or the hold ran
    out: that hold is cleared), in one conditional statement, so an invitation reserved at the same moment either
    came first (False: the close is refused) or finds the proposal closed when it plans."""
    query = update(NeedProposal).where(
        NeedProposal.id == proposal_id,
        NeedProposal.status.in_((ProposalStatus.OPEN, ProposalStatus.INVITED)),
        _free_for(None, now),
    )
    result = session.execute(query.values(**_UNHELD, updated_at=now))
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
    result = session.execute(query.values(**values, **_UNHELD))
    return bool(getattr(result, "rowcount", 0) == 1)


def update_need_proposal_invite_holder_erased(session: Session, *, slack_user_id: str) -> int:
    """An erased person no longer named as holding an invitation (the hold itself stands until it ends or runs out:
    whoever is refused meanwhile is told "another staff member"); how many proposals named them."""
    query = update(NeedProposal).where(NeedProposal.invite_held_for == slack_user_id)
    result = session.execute(query.values(invite_held_for=None))
    return int(getattr(result, "rowcount", 0) or 0)
