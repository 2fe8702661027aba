"""Repository functions for proposed work sessions of knowledge-needs topics (``need_proposals``; the topics
themselves: ``needs_repo``; a proposal's invitation and refresh claims: ``proposal_invite_repo``,
``proposal_refresh_repo``).

Keyword-only, never commit. ``claim_need_proposal`` is the once-per-topic claim: an INSERT … ON CONFLICT DO NOTHING
on ``need_proposals.open_topic_id`` (unique), so of any number of processes proposing at once exactly one creates
the live proposal of a topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import NeedProposal, ProposalStatus


def claim_need_proposal(
    session: Session,
    *,
    topic_id: int,
    window_start: datetime,
    window_end: datetime,
    organisations: int,
    questions: int,
    worker_id: str,
    now: datetime,
) -> NeedProposal | None:
    """Create the live proposal of a topic; None when one is live already (claimed by another process or earlier)."""
    values: dict[str, Any] = {
        "topic_id": topic_id,
        "open_topic_id": topic_id,
        "status": ProposalStatus.OPEN,
        "window_start": window_start,
        "window_end": window_end,
        "organisations": organisations,
        "questions": questions,
        "claimed_by": worker_id[:64],
        "notes_url": "",
        "decided_by": "",
        "note": "",
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = (
            postgresql.insert(NeedProposal).values(**values).on_conflict_do_nothing(index_elements=["open_topic_id"])
        )
        proposal_id = session.execute(pg_stmt.returning(NeedProposal.id)).scalar_one_or_none()
    elif dialect == "sqlite":
        lite_stmt = (
            sqlite.insert(NeedProposal).values(**values).on_conflict_do_nothing(index_elements=["open_topic_id"])
        )
        proposal_id = session.execute(lite_stmt.returning(NeedProposal.id)).scalar_one_or_none()
    else:  # pragma: no cover - wieweet supports SQLite and PostgreSQL only
        raise NotImplementedError(f"claim_need_proposal does not support {dialect}")
    if proposal_id is None:
        return None
    return session.get(NeedProposal, proposal_id)


def get_need_proposal(session: Session, *, proposal_id: int, lock: bool = False) -> NeedProposal | None:
    return session.get(NeedProposal, proposal_id, with_for_update=lock or None, populate_existing=lock)


def list_need_proposals(
    session: Session, *, statuses: Sequence[ProposalStatus] | None = None, topic_id: int | None = None
) -> list[NeedProposal]:
    """Newest first."""
    query = select(NeedProposal)
    if statuses is not None:
        query = query.where(NeedProposal.status.in_(list(statuses)))
    if topic_id is not None:
        query = query.where(NeedProposal.topic_id == topic_id)
    return list(session.scalars(query.order_by(NeedProposal.created_at.desc(), NeedProposal.id.desc())))


def list_need_proposals_decided_by(session: Session, *, actor: str) -> list[NeedProposal]:
    return list(session.scalars(select(NeedProposal).where(NeedProposal.decided_by == actor).order_by(NeedProposal.id)))


def update_need_proposal_closed(session: Session, *, proposal: NeedProposal, status: ProposalStatus) -> NeedProposal:
    """Set a final status (dismissed / done) and free the topic for a later proposal."""
    proposal.status = status
    proposal.open_topic_id = None
    return proposal
