"""Repository functions for Slack plumbing: delivery deduplication, the user cache, feedback. Never commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Feedback, ProcessedEvent, SearchLog, SlackUser


def _dialect_insert(session: Session) -> Callable[..., Any]:
    """The INSERT construct with ON CONFLICT support for the session's database."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def create_processed_event(session: Session, *, event_key: str, kind: str, now: datetime) -> bool:
    """Claim a delivery. True if this is the first time ``event_key`` is seen (in any process), else False."""
    statement = (
        _dialect_insert(session)(ProcessedEvent)
        .values(event_key=event_key[:200], kind=kind[:40], received_at=now)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(ProcessedEvent.id)  # a row only when inserted (the row count is not reliable on every driver)
    )
    return session.execute(statement).first() is not None


def count_processed_events(session: Session, *, key_prefix: str, since: datetime) -> int:
    """How many keys starting with ``key_prefix`` were recorded since ``since`` (e.g. one a day: on how many days)."""
    escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    statement = select(func.count(ProcessedEvent.id)).where(
        ProcessedEvent.event_key.like(f"{escaped}%", escape="\\"), ProcessedEvent.received_at >= since
    )
    return int(session.scalar(statement) or 0)


def list_processed_events_received(session: Session, *, key_prefix: str) -> dict[str, datetime]:
    """When each key starting with ``key_prefix`` was first recorded, by key (a mark written once, e.g. a week's
    first refusal of each channel's digest)."""
    escaped = key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    statement = select(ProcessedEvent.event_key, ProcessedEvent.received_at).where(
        ProcessedEvent.event_key.like(f"{escaped}%", escape="\\")
    )
    return {str(key): received for key, received in session.execute(statement).all()}


def update_processed_event_kind(session: Session, *, event_key: str, kind: str) -> None:
    """Note what a claimed delivery produced (e.g. ``log:12``), in the transaction that produced it."""
    event = session.scalars(select(ProcessedEvent).where(ProcessedEvent.event_key == event_key[:200])).first()
    if event is not None:
        event.kind = kind[:40]


def get_slack_user(session: Session, *, slack_user_id: str) -> SlackUser | None:
    return session.get(SlackUser, slack_user_id)


def upsert_slack_user(session: Session, *, slack_user_id: str, locale: str, name: str, now: datetime) -> None:
    """Insert or refresh the cached profile; safe when two requests for the same user race."""
    values = {"slack_user_id": slack_user_id, "locale": locale[:16], "name": name[:200], "fetched_at": now}
    statement = _dialect_insert(session)(SlackUser).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["slack_user_id"], set_={"locale": values["locale"], "name": values["name"], "fetched_at": now}
    )
    session.execute(statement)


def create_search_log(
    session: Session,
    *,
    query: str,
    user_slack_id: str | None,
    channel_id: str | None,
    gap: bool,
    results: dict[str, Any],
    now: datetime,
) -> SearchLog:
    """Log one search's result set (for feedback and "more results"); flushed, so it has its id."""
    search_log = SearchLog(
        query=query, user_slack_id=user_slack_id, channel_id=channel_id, gap=gap, results=results, created_at=now
    )
    session.add(search_log)
    session.flush()
    return search_log


def update_search_log_posted(
    session: Session, *, search_log_id: int, channel_id: str | None, only_from: str | None = None
) -> bool:
    """Set where a search's answer is visible, only when it is ``only_from`` now (None: not posted anywhere yet):
    one conditional UPDATE, so of two concurrent attempts one wins. True when this one changed it."""
    current = SearchLog.posted_channel_id
    statement = (
        update(SearchLog)
        .where(SearchLog.id == search_log_id, current.is_(None) if only_from is None else current == only_from)
        .values(posted_channel_id=channel_id)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def get_search_log(session: Session, *, search_log_id: int) -> SearchLog | None:
    return session.get(SearchLog, search_log_id)


def upsert_feedback(session: Session, *, search_log_id: int, user_slack_id: str, vote: int, now: datetime) -> Feedback:
    """One vote per person per result set; voting again replaces the earlier vote."""
    feedback = session.scalars(
        select(Feedback).where(Feedback.search_log_id == search_log_id, Feedback.user_slack_id == user_slack_id)
    ).first()
    if feedback is None:
        feedback = Feedback(search_log_id=search_log_id, user_slack_id=user_slack_id, vote=vote, created_at=now)
        session.add(feedback)
    else:
        feedback.vote = vote
        feedback.created_at = now
    session.flush()
    return feedback


def update_processed_event_claim(
    session: Session,
    *,
    event_key: str,
    kind: str,
    now: datetime,
    held_by: str | None = None,
    stale_before: datetime | None = None,
) -> bool:
    """Re-claim ``event_key`` as ``kind`` at ``now`` (its ``received_at`` renewed): when ``held_by`` is given, only
    while it still holds it (a renewal, or marking it done); else only when its holder last renewed it before
    ``stale_before`` and did not mark it done (``done:`` kinds): a run that stopped halfway is taken over. True
    when this call holds it now (read back, not taken from the row count)."""
    if held_by is not None:
        condition = ProcessedEvent.kind == held_by
    else:
        assert stale_before is not None
        condition = (ProcessedEvent.received_at < stale_before) & ProcessedEvent.kind.not_like("done:%")
    session.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.event_key == event_key[:200], condition)
        .values(kind=kind[:40], received_at=now)
    )
    held = session.scalar(select(ProcessedEvent.kind).where(ProcessedEvent.event_key == event_key[:200]))
    return held == kind[:40]


def get_live_processed_event_claim(session: Session, *, event_key: str, renewed_since: datetime) -> str | None:
    """The holder of the claim ``event_key`` when it was renewed at ``renewed_since`` or later and not marked done
    (``done:`` kinds): a run still going. None otherwise."""
    return session.scalar(
        select(ProcessedEvent.kind).where(
            ProcessedEvent.event_key == event_key[:200],
            ProcessedEvent.received_at >= renewed_since,
            ProcessedEvent.kind.not_like("done:%"),
        )
    )
