"""A channel that turned private, or is now shared with another organisation: what was asked there while it was
public is private from now on. Its questions' answers leave the search index (the index follows the changed
questions after the commit, like any other change), its knowledge gaps are no longer quoted, and digests leave
it all out (they ask Slack again too). Nothing here commits."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from storage import question_repo

log = logging.getLogger(__name__)


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
