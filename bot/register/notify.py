"""Telling a person what staff decided about something they submitted (a profile, a practice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage import outbox_repo
from storage.models import OutboxKind


def tell_submission_outcome(
    session: Session,
    *,
    recipient_slack_id: str | None,
    subject: str,
    subject_id: int,
    outcome: str,
    title: str,
    note: str,
    now: datetime,
) -> None:
    """Queue the ``submission_outcome`` DM (``outcome`` names the text, e.g. ``practice_rejected``); nothing
    when the person has no Slack id."""
    if not recipient_slack_id:
        return
    outbox_repo.create_outbox_message(
        session,
        kind=OutboxKind.SUBMISSION_OUTCOME,
        dedupe_key=f"submission_outcome:{subject}:{subject_id}:{outcome}:{now.isoformat()}",
        now=now,
        payload={"outcome": outcome, "title": title, "note": note},
        recipient_slack_id=recipient_slack_id,
    )
