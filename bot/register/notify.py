"""Telling a person what staff decided about something they submitted (a profile, a practice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox import SubmissionOutcome, SubmissionOutcomeKind


def tell_submission_outcome(
    session: Session,
    *,
    recipient_slack_id: str | None,
    subject: str,
    subject_id: int,
    outcome: SubmissionOutcomeKind,
    title: str,
    note: str,
    now: datetime,
) -> None:
    """Queue the ``submission_outcome`` DM (``outcome`` names the text, e.g. ``practice_rejected``); nothing
    when the person has no Slack id."""
    if not recipient_slack_id:
        return
    outbox.enqueue(
        session,
        SubmissionOutcome(outcome=outcome, title=title, note=note),
        dedupe_key=f"submission_outcome:{subject}:{subject_id}:{outcome.value}:{now.isoformat()}",
        now=now,
        recipient_slack_id=recipient_slack_id,
    )
