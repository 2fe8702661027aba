"""The posts of proposed work sessions rendered again after a change: recorded in the change's transaction
(``mark_for_refresh`` for a question withdrawn or made private; ``posts_refreshed`` for a dismissal, a session done
or an invitation), then made by the job runner of any process until they got through (``bot.privacy``'s
``REFRESH_DELAY``, ``REFRESH_ATTEMPTS``): ``due_refreshes``, ``claim_refresh``, ``holds_refresh``, ``refreshed``,
``refresh_later``. A failure on the chat platform's side, or a restart, loses none. Each is claimed by one process
for ``REFRESH_LEASE`` before its posts are rendered, so replicas do not update the same posts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import privacy
from bot.privacy import MarkedItems
from bot.privacy.channels import REFRESH_ATTEMPTS, REFRESH_DELAY
from storage import proposal_refresh_repo
from storage.models import NeedProposal

# How long a process holds a refresh it claimed (``claim_refresh``) while it renders the posts; never longer than
# ``REFRESH_DELAY``, so a change recorded meanwhile does not make the row due before the claim runs out.
REFRESH_LEASE = REFRESH_DELAY


def mark_for_refresh(
    session: Session, *, question_ids: Sequence[int] = (), gap_ids: Sequence[int] = (), now: datetime
) -> list[int]:
    """In the transaction withdrawing these questions (or making them and gaps private): the live proposals
    quoting them are recorded as waiting for their posts to be rendered again (``due_refreshes``)."""
    return privacy.mark_for_refresh(session, items=MarkedItems(list(question_ids), list(gap_ids)), now=now)


def due_refreshes(session: Session, *, now: datetime) -> list[tuple[int, int, int]]:
    """The proposals whose posts are due to be rendered again: (proposal id, mark, tries)."""
    return proposal_refresh_repo.list_due_need_proposal_refreshes(session, now=now)


def claim_refresh(session: Session, *, proposal_id: int, now: datetime) -> tuple[int, int, datetime] | None:
    """Take the due refresh of ``proposal_id`` for this process for ``REFRESH_LEASE``: (mark, tries, lease end),
    or None when another process took it or it is no longer due."""
    until = now + REFRESH_LEASE
    claimed = proposal_refresh_repo.claim_need_proposal_refresh(session, proposal_id=proposal_id, now=now, until=until)
    return None if claimed is None else (*claimed, until)


def holds_refresh(session: Session, *, proposal_id: int, until: datetime) -> bool:
    """Whether the claim ending ``until`` still stands (no other process took the refresh over since)."""
    return proposal_refresh_repo.get_need_proposal_refresh_claim_held(session, proposal_id=proposal_id, until=until)


def refreshed(session: Session, *, proposal_id: int, mark: int) -> None:
    """Its posts show the state after change ``mark``."""
    proposal_refresh_repo.delete_need_proposal_refresh(session, proposal_id=proposal_id, mark=mark)


def refresh_later(session: Session, *, proposal_id: int, mark: int, tries: int, now: datetime) -> bool:
    """Its posts could not be updated (or were not posted yet): tried again later, the delay doubling each
    time; False when given up after ``REFRESH_ATTEMPTS`` tries (the row goes)."""
    if tries + 1 >= REFRESH_ATTEMPTS:
        proposal_refresh_repo.delete_need_proposal_refresh(session, proposal_id=proposal_id, mark=mark)
        return False
    due_at = now + min(REFRESH_DELAY * 2**tries, timedelta(hours=6))
    proposal_refresh_repo.update_need_proposal_refresh_later(session, proposal_id=proposal_id, mark=mark, due_at=due_at)
    return True


def posts_refreshed(session: Session, proposal: NeedProposal, *, now: datetime) -> None:
    """Staff closed ``proposal`` (in Slack or on the command line) or invited people to it: its posts are recorded
    for the job runner to render in that state in any case (closed without buttons; invited without the invite
    button, naming the channel) — also over a render of the open proposal that a refresh under way, read before the
    change, may still make: that one's row waits ``REFRESH_DELAY`` more. When none was waiting nor under way (the
    row's mark is 1), no older render can land later: the row is due at once, and the action's confirmation in
    Slack claims it and draws the posts (``ProposalRefresher.refresh_now``) — once, retried by the job runner when
    Slack fails; a close on the command line leaves it to the job runner's next pass."""
    mark = proposal_refresh_repo.upsert_need_proposal_refresh(
        session, proposal_id=proposal.id, due_at=now + REFRESH_DELAY
    )
    if mark == 1:
        proposal_refresh_repo.update_need_proposal_refresh_due(session, proposal_id=proposal.id, mark=1, due_at=now)
