"""A channel that turned private, or is now shared with another organisation: what was asked there while it was
public is private from now on. Its questions' answers leave the search index (the index follows the changed
questions after the commit, like any other change), its knowledge gaps are no longer quoted, and digests leave
it all out (they ask Slack again too). Nothing here commits, except ``reconcile_channel_privacy``: the daily job
that asks the chat platform about every channel still holding public questions (events missed while the bot was
down), one transaction per channel marked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage import question_repo
from storage.db import Database

log = logging.getLogger(__name__)


def public_items_in_channel(session: Session, *, channel_id: str) -> tuple[list[int], list[int]]:
    """(question ids, gap ids) asked in ``channel_id`` while it was public: what ``mark_channel_private`` changes
    (read first by whoever updates what quotes them, e.g. proposed work sessions)."""
    questions = question_repo.list_public_questions_in_channel(session, channel_id=channel_id)
    gaps = question_repo.list_public_knowledge_gaps_in_channel(session, channel_id=channel_id)
    return [q.id for q in questions], [g.id for g in gaps]


def mark_channel_private(session: Session, *, channel_id: str) -> int:
    """Mark everything asked in ``channel_id`` private; returns how many questions and gaps changed."""
    questions = question_repo.list_public_questions_in_channel(session, channel_id=channel_id)
    gaps = question_repo.list_public_knowledge_gaps_in_channel(session, channel_id=channel_id)
    for question in questions:
        question.channel_is_private = True
    for gap in gaps:
        gap.channel_is_private = True
    if questions or gaps:
        log.info("channel %s is private now: %d questions, %d gaps marked", channel_id, len(questions), len(gaps))
    return len(questions) + len(gaps)


# Whether a channel is private now: True private (or shared with another organisation, or gone), False still
# public, None when the chat platform could not say (asked again the next day, never counted as public).
ChannelLookup = Callable[[str], "bool | None"]
# Told, once committed, which questions and gaps (ids) a channel found private had: to update what quotes them.
MarkedHook = Callable[[list[int], list[int]], None]


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    checked: int = 0  # channels asked about
    private_channels: int = 0  # of them private now
    marked: int = 0  # questions and gaps made private
    unknown: int = 0  # channels the platform could not say anything about today


def reconcile_channel_privacy(
    db: Database, *, lookup: ChannelLookup, after_marked: MarkedHook | None = None
) -> ReconcileResult:
    """Make up for privacy events missed while the bot was down: every channel that still holds public questions
    or gaps is looked up (``lookup`` paces itself and honours rate limits), and one that is private now is marked
    with ``mark_channel_private``, each in its own transaction. A channel the lookup cannot say anything about is
    left as it is; a lookup that raises stops the run (what was marked stays marked). ``after_marked`` is told
    each marked channel's questions and gaps once committed."""
    with db.session() as session:
        channels = question_repo.list_channels_with_public_content(session)
    private_channels = marked = unknown = 0
    for channel_id in channels:
        private = lookup(channel_id)
        if private is None:
            unknown += 1
        elif private:
            private_channels += 1
            with db.session() as session:
                question_ids, gap_ids = public_items_in_channel(session, channel_id=channel_id)
                marked += mark_channel_private(session, channel_id=channel_id)
            if after_marked is not None and (question_ids or gap_ids):
                after_marked(question_ids, gap_ids)
    return ReconcileResult(len(channels), private_channels, marked, unknown)
