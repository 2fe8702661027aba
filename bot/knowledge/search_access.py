"""A search's buttons (more results, share, ask its experts, feedback): who may use them, and the share's claim.

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.actors import Actor, NotAuthorized
from bot.errors import NotFoundError, QueryError
from storage import slack_repo
from storage.models import Feedback, SearchLog

SEARCH_MORE = "see more results of"
SEARCH_SHARE = "share"
SEARCH_ASK = "ask experts about"
SEARCH_FEEDBACK = "give feedback on"
# what someone else than the asker may do with an answer posted where they can see it
_SHOWN_TO_MEMBERS = frozenset({SEARCH_MORE, SEARCH_ASK, SEARCH_FEEDBACK})

MemberOf = Callable[[str], bool]


def _no_channel(_channel_id: str) -> bool:
    return False


def get_search_for(
    session: Session, *, actor: Actor, search_log_id: int, action: str, member_of: MemberOf = _no_channel
) -> SearchLog:
    """The search behind a button on a "who knows" answer, if ``actor`` may ``action`` it.

    A search is its asker's (by the Slack id Slack signed the request with, never an id in the payload). Once its
    answer was posted where others see it (``posted_channel_id``), the members of that conversation
    (``member_of``, Slack's data) may see more results, ask its experts and vote on it; sharing stays the asker's.
    Staff have no say over someone's searches. Raises ``NotFoundError`` (gone, e.g. purged) or ``NotAuthorized``
    before anything is shown or written.
    """
    search_log = slack_repo.get_search_log(session, search_log_id=search_log_id)
    if search_log is None:
        raise NotFoundError("search_expired", f"search log {search_log_id} not found", values={"search": search_log_id})
    if actor.is_self(search_log.user_slack_id):
        return search_log
    posted = search_log.posted_channel_id
    if action in _SHOWN_TO_MEMBERS and posted and actor.slack_id and member_of(posted):
        return search_log
    raise NotAuthorized(f"{action} someone else's search", target=f"search_log:{search_log_id}", code="not_your_search")


def record_feedback(
    session: Session,
    *,
    actor: Actor,
    search_log_id: int,
    vote: int,
    now: datetime,
    member_of: MemberOf = _no_channel,
) -> Feedback:
    """👍 (+1) or 👎 (-1) on a search the actor may see (``get_search_for``); one vote per person, the last counts."""
    if vote not in (1, -1):
        raise QueryError("invalid_vote", f"a vote is +1 or -1, not {vote!r}")
    search_log = get_search_for(
        session, actor=actor, search_log_id=search_log_id, action=SEARCH_FEEDBACK, member_of=member_of
    )
    return slack_repo.upsert_feedback(
        session, search_log_id=search_log.id, user_slack_id=actor.slack_id or "", vote=vote, now=now
    )


def mark_search_posted(session: Session, *, search_log_id: int, channel_id: str) -> None:
    """The answer to this search is now visible to the members of ``channel_id`` (posted in a thread, or shared)."""
    search_log = slack_repo.get_search_log(session, search_log_id=search_log_id)
    if search_log is not None:
        search_log.posted_channel_id = channel_id


def claim_search_share(session: Session, *, search_log_id: int, channel_id: str) -> bool:
    """The asker shares this (private) answer in ``channel_id``: True for the one request that may post it; False
    when it is shared already (a double click, a second copy of the click)."""
    return slack_repo.update_search_log_posted(session, search_log_id=search_log_id, channel_id=channel_id)


def release_search_share(session: Session, *, search_log_id: int, channel_id: str) -> None:
    """Sharing failed (the bot may not post there): the answer is private again and may be shared later."""
    slack_repo.update_search_log_posted(session, search_log_id=search_log_id, channel_id=None, only_from=channel_id)
