"""A channel that turned private, or is now shared with another organisation: what was asked there while it was
public is private from now on. Its questions' answers leave the search index (the index follows the changed
questions after the commit, like any other change), its knowledge gaps are no longer quoted, and digests leave
it all out (they ask Slack again too). Nothing here commits, except ``reconcile_channel_privacy``: the daily job
that asks the chat platform about every channel still holding public questions (events missed while the bot was
down), one transaction per channel marked."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy.orm import Session

from storage import proposal_refresh_repo, question_repo, slack_repo
from storage.db import Database

log = logging.getLogger(__name__)


class LookupRefused(Exception):
    """The chat platform refused the look-up for good (a bad token, a missing scope): asking again the same day will
    not help, unlike a network failure or a refusal that is passing."""


@dataclass(frozen=True, slots=True)
class MarkedItems:
    """What ``mark_channel_private`` changed: the questions and gaps (ids) that were public until now."""

    question_ids: list[int] = field(default_factory=list)
    gap_ids: list[int] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.question_ids) + len(self.gap_ids)


def mark_channel_private(session: Session, *, channel_id: str) -> MarkedItems:
    """Mark everything asked in ``channel_id`` private; returns the questions and gaps that changed (for whoever
    updates what quotes them, e.g. proposed work sessions)."""
    questions = question_repo.list_public_questions_in_channel(session, channel_id=channel_id)
    gaps = question_repo.list_public_knowledge_gaps_in_channel(session, channel_id=channel_id)
    for question in questions:
        question.channel_is_private = True
    for gap in gaps:
        gap.channel_is_private = True
    if questions or gaps:
        log.info("channel %s is private now: %d questions, %d gaps marked", channel_id, len(questions), len(gaps))
    return MarkedItems([q.id for q in questions], [g.id for g in gaps])


# The chat platform does not show the channel (deleted, private without the bot, or another workspace's): it counts
# as private only once that was so on ``NOT_FOUND_DAYS`` different UTC days within ``NOT_FOUND_WINDOW``.
NOT_FOUND: Final = "not_found"
NOT_FOUND_DAYS = 3
NOT_FOUND_WINDOW = timedelta(days=14)
_NOT_FOUND_KEY = "channel_not_found"

# When the posts of proposals quoting what was made private are rendered again by the job runner (any process) if
# the update made at once did not get through (``proposal_refresh_repo``): recorded with the change, so a restart
# loses nothing. Later again after each failure (doubling), at most ``REFRESH_ATTEMPTS`` times.
REFRESH_DELAY = timedelta(minutes=2)
REFRESH_ATTEMPTS = 10


def mark_for_refresh(session: Session, *, items: MarkedItems, now: datetime) -> list[int]:
    """Record, in the change's transaction, the live proposals quoting ``items`` as waiting to be rendered again."""
    return proposal_refresh_repo.upsert_need_proposal_refreshes(
        session, question_ids=items.question_ids, gap_ids=items.gap_ids, due_at=now + REFRESH_DELAY
    )


# Whether a channel is private now: True private (or shared with another organisation), False still public,
# ``NOT_FOUND`` not shown, None when the chat platform could not say (asked again the next day, never public).
ChannelLookup = Callable[[str], "bool | Literal['not_found'] | None"]
# Told, once committed, which questions and gaps (ids) a channel found private had: to update what quotes them.
MarkedHook = Callable[[list[int], list[int]], None]


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int = 0  # channels asked about
    private_channels: int = 0  # of them private now
    marked: int = 0  # questions and gaps made private
    unknown: int = 0  # channels the platform could not say anything about today (not found counted here too)
    # what ``after_marked`` failed on (question ids, gap ids): tried again from the database (``mark_for_refresh``)
    unrefreshed: list[MarkedItems] = field(default_factory=list)


def tell_marked(after_marked: MarkedHook, items: MarkedItems) -> bool:
    """``after_marked`` told about ``items``; False (logged with a reference) when it raised: what was marked stays
    marked, and the caller tries again later."""
    try:
        after_marked(items.question_ids, items.gap_ids)
    except Exception:  # a network or database error updating posts: never stops the privacy change itself
        log.exception("updating what quotes %d private items failed ref=%s", items.count, uuid.uuid4().hex[:12])
        return False
    return True


def _not_found_on_enough_days(db: Database, *, channel_id: str, now: datetime) -> bool:
    """Note that ``channel_id`` was not found today; True once that happened on ``NOT_FOUND_DAYS`` days."""
    prefix = f"{_NOT_FOUND_KEY}:{channel_id}:"
    with db.session() as session:
        slack_repo.create_processed_event(
            session, event_key=f"{prefix}{now.date().isoformat()}", kind=_NOT_FOUND_KEY, now=now
        )
        days = slack_repo.count_processed_events(session, key_prefix=prefix, since=now - NOT_FOUND_WINDOW)
    log.info("channel %s not found (%d of %d days)", channel_id, days, NOT_FOUND_DAYS)
    return days >= NOT_FOUND_DAYS


def get_stored_channel_privacy(session: Session, *, channel_id: str, now: datetime) -> bool | None:
    """What the database knows about ``channel_id`` when the chat platform cannot be asked now (a rate limit, an
    outage): True when anything asked there is marked private (the channel turned private or is shared outside;
    private stays private), False when it holds public questions or gaps, kept up to date by the daily reconcile
    (``reconcile_channel_privacy``), None when it knows nothing: no rows, or the reconcile recently found the channel
    gone (``NOT_FOUND``, not yet on enough days). None is never public."""
    if question_repo.count_channel_content(session, channel_id=channel_id, private=True):
        return True
    recently_gone = slack_repo.count_processed_events(
        session, key_prefix=f"{_NOT_FOUND_KEY}:{channel_id}:", since=now - NOT_FOUND_WINDOW
    )
    if recently_gone:
        return None
    if question_repo.count_channel_content(session, channel_id=channel_id, private=False):
        return False
    return None


def reconcile_channel_privacy(
    db: Database,
    *,
    lookup: ChannelLookup,
    now: datetime,
    after_marked: MarkedHook | None = None,
    keep_claim: Callable[[], bool] | None = None,
) -> ReconcileResult:
    """Make up for privacy events missed while the bot was down: every channel that still holds public questions
    or gaps is looked up (``lookup`` paces itself and honours rate limits), and one that is private now is marked
    with ``mark_channel_private``, each in its own transaction. A channel the lookup cannot say anything about is
    left as it is, and so is one not found until that repeats (``NOT_FOUND_DAYS``); a lookup that raises stops the
    run (what was marked stays marked). ``after_marked`` is told each marked channel's questions and gaps once
    committed; ``keep_claim`` (the day's claim renewed) is asked before each channel, and the run stops when it
    says no. One that fails is logged and returned in ``unrefreshed``, and the run goes on: the proposals quoting
    them were recorded with the change (``mark_for_refresh``), and the job runner's later passes update them."""
    with db.session() as session:
        channels = question_repo.list_channels_with_public_content(session)
    private_channels = marked = unknown = 0
    unrefreshed: list[MarkedItems] = []
    for channel_id in channels:
        if keep_claim is not None and not keep_claim():  # another process took the day's run over: it goes on
            log.warning("channel privacy: the run was taken over by another process; stopped here")
            break
        private = lookup(channel_id)
        if private == NOT_FOUND:
            private = True if _not_found_on_enough_days(db, channel_id=channel_id, now=now) else None
        if private is None:
            unknown += 1
        elif private:
            private_channels += 1
            with db.session() as session:
                items = mark_channel_private(session, channel_id=channel_id)
                mark_for_refresh(session, items=items, now=now)  # tried again from the database if need be
            marked += items.count
            if after_marked is not None and items.count and not tell_marked(after_marked, items):
                unrefreshed.append(items)
    return ReconcileResult(len(channels), private_channels, marked, unknown, unrefreshed)
