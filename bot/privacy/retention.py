"""Retention: what wieweet keeps for operations only is deleted (or de-personalised) once past its period.

Part of ``bot.privacy`` (import from there).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage import inbox_repo, outbox_repo
from storage import privacy_repo as repo
from storage.db import Database


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long wieweet keeps what it keeps for operations only (see the README's table)."""

    request_events: timedelta = timedelta(days=30)  # Slack delivery deduplication keys (a pending request's: kept)
    searches: timedelta = timedelta(days=365)  # "who knows" result sets
    feedback: timedelta = timedelta(days=365)  # 👍/👎 on them
    gap_asker: timedelta = timedelta(days=365)  # who asked a question nobody could answer (the gap itself stays)
    sent_messages: timedelta = timedelta(days=90)  # sent (or given-up) outbox messages
    done_timers: timedelta = timedelta(days=90)  # routing timers that ran
    slack_users: timedelta = timedelta(days=90)  # cached Slack names and locales
    inbox_requests: timedelta = timedelta(days=30)  # handled requests' records (their content is gone already)


def purge_expired(
    *, session: Session, now: datetime, pending: Collection[str], policy: RetentionPolicy | None = None
) -> dict[str, int]:
    """Delete or de-personalise what is past its retention. Returns how many rows of each kind. The marks of the
    ``pending`` requests (``list_pending_requests``) stay, however old: a request that waited through a long stop
    still finds them (whether the change that queued it committed, what an earlier attempt made)."""
    policy = policy or RetentionPolicy()
    return {
        "request_events": repo.delete_processed_events(
            session, before=now - policy.request_events, keep_requests=pending
        ),
        "feedback": repo.delete_feedback_before(session, before=now - policy.feedback),
        "searches": repo.delete_search_logs_before(session, before=now - policy.searches),
        "gap_askers": repo.update_knowledge_gaps_anonymised(session, before=now - policy.gap_asker),
        "sent_messages": outbox_repo.delete_finished_outbox_messages(session, before=now - policy.sent_messages),
        "done_timers": repo.delete_done_timers_before(session, before=now - policy.done_timers),
        "slack_users": repo.delete_slack_users_before(session, before=now - policy.slack_users),
    }


def list_pending_requests(db: Database) -> frozenset[str]:
    """The keys of the inbox's requests not finished yet (read before ``purge_expired``, which keeps their marks)."""
    with db.inbox_session() as session:
        return frozenset(inbox_repo.list_pending_inbox_keys(session))


def purge_inbox(db: Database, *, now: datetime, policy: RetentionPolicy | None = None) -> int:
    """Retention of the inbox (which may be a file of its own): handled requests' records past their period."""
    policy = policy or RetentionPolicy()
    with db.inbox_session() as session:
        return inbox_repo.delete_finished_inbox_before(session, before=now - policy.inbox_requests)
