"""Repository functions for weekly digests: subscriptions, the once-per-week claim, and the digest's content.

They never commit. The claim is enforced by the database: ``digest_runs`` has a unique (channel_id, period) and
``claim_digest_run`` inserts with ON CONFLICT DO NOTHING, so of any number of processes exactly one gets the run.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload

from storage.models import (
    DigestRun,
    DigestRunStatus,
    DigestSubscription,
    Expert,
    KnowledgeGap,
    Practice,
    Question,
    QuestionStatus,
    RecordStatus,
    Visibility,
    question_themes,
)

OPEN_STATUSES = (QuestionStatus.OPEN, QuestionStatus.ROUTED, QuestionStatus.ESCALATED)

# --- subscriptions -------------------------------------------------------------------------------------------


def get_subscription(session: Session, *, channel_id: str) -> DigestSubscription | None:
    return session.scalars(select(DigestSubscription).where(DigestSubscription.channel_id == channel_id)).first()


def list_subscriptions(session: Session, *, active_only: bool = False) -> list[DigestSubscription]:
    query = select(DigestSubscription).order_by(DigestSubscription.channel_id)
    if active_only:
        query = query.where(DigestSubscription.active.is_(True))
    return list(session.scalars(query))


def create_subscription(session: Session, *, subscription: DigestSubscription) -> DigestSubscription:
    session.add(subscription)
    session.flush()
    return subscription


# --- runs ----------------------------------------------------------------------------------------------------


def get_digest_run(session: Session, *, channel_id: str, period: str) -> DigestRun | None:
    return session.scalars(
        select(DigestRun).where(DigestRun.channel_id == channel_id, DigestRun.period == period)
    ).first()


def list_digest_runs(session: Session, *, period: str) -> dict[str, DigestRun]:
    return {r.channel_id: r for r in session.scalars(select(DigestRun).where(DigestRun.period == period))}


def get_latest_digest_runs(session: Session, *, channel_ids: Collection[str]) -> dict[str, DigestRun]:
    """The most recent run of each channel (by period, then id)."""
    if not channel_ids:
        return {}
    latest: dict[str, DigestRun] = {}
    query = (
        select(DigestRun)
        .where(DigestRun.channel_id.in_(list(channel_ids)))
        .order_by(DigestRun.channel_id, DigestRun.period, DigestRun.id)
    )
    for run in session.scalars(query):
        latest[run.channel_id] = run
    return latest


def claim_digest_run(
    session: Session, *, channel_id: str, period: str, worker_id: str, now: datetime
) -> DigestRun | None:
    """Insert the run for (channel, period) as claimed by ``worker_id``; None when it already exists.

    ``INSERT … ON CONFLICT (channel_id, period) DO NOTHING RETURNING id``: on PostgreSQL a concurrent claimer
    waits for the first one's transaction and then inserts nothing; SQLite serialises writers.
    """
    values: dict[str, Any] = {
        "channel_id": channel_id,
        "period": period,
        "status": DigestRunStatus.CLAIMED,
        "claimed_by": worker_id,
        "claimed_at": now,
        "parts_total": 0,
        "parts_sent": [],
        "error": "",
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = (
            postgresql.insert(DigestRun)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["channel_id", "period"])
        )
        run_id = session.execute(pg_stmt.returning(DigestRun.id)).scalar_one_or_none()
    elif dialect == "sqlite":
        lite_stmt = (
            sqlite.insert(DigestRun).values(**values).on_conflict_do_nothing(index_elements=["channel_id", "period"])
        )
        run_id = session.execute(lite_stmt.returning(DigestRun.id)).scalar_one_or_none()
    else:  # pragma: no cover - wieweet supports SQLite and PostgreSQL only
        raise NotImplementedError(f"claim_digest_run does not support {dialect}")
    if run_id is None:
        return None
    return session.get(DigestRun, run_id)


def claim_stale_digest_run(
    session: Session, *, run_id: int, previous_worker: str, worker_id: str, now: datetime, stale_before: datetime
) -> bool:
    """Compare-and-set: take a run still ``claimed`` by ``previous_worker`` since before ``stale_before``."""
    result = session.execute(
        update(DigestRun)
        .where(
            DigestRun.id == run_id,
            DigestRun.status == DigestRunStatus.CLAIMED,
            DigestRun.claimed_by == previous_worker,
            DigestRun.claimed_at < stale_before,
        )
        .values(claimed_by=worker_id, claimed_at=now),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _update_claimed(session: Session, *, run_id: int, worker_id: str, **values: Any) -> bool:
    result = session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id, DigestRun.claimed_by == worker_id, DigestRun.status == DigestRunStatus.CLAIMED)
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def update_digest_run_parts_total(session: Session, *, run_id: int, worker_id: str, parts_total: int) -> bool:
    return _update_claimed(session, run_id=run_id, worker_id=worker_id, parts_total=parts_total)


def update_digest_run_parts_sent(
    session: Session, *, run_id: int, worker_id: str, parts_sent: Sequence[str], claimed_at: datetime | None = None
) -> bool:
    """Store the ts of every part posted so far, if ``worker_id`` still holds the claim (renewed to ``claimed_at``
    when given)."""
    values: dict[str, Any] = {"parts_sent": list(parts_sent), "error": ""}
    if claimed_at is not None:
        values["claimed_at"] = claimed_at
    return _update_claimed(session, run_id=run_id, worker_id=worker_id, **values)


def update_digest_run_claim_renewed(session: Session, *, run_id: int, worker_id: str, now: datetime) -> bool:
    """Renew ``worker_id``'s claim (``claimed_at`` = ``now``) while it is still its own: a sender that is still at
    work is not taken for a crashed one. False when the claim was taken over (or the run finished)."""
    return _update_claimed(session, run_id=run_id, worker_id=worker_id, claimed_at=now)


def update_digest_run_error(
    session: Session,
    *,
    run_id: int,
    worker_id: str,
    error: str,
    claimed_at: datetime | None = None,
    refused_at: datetime | None = None,
) -> bool:
    """Note a transient failure; the run stays claimed and is resumed once the claim is stale. ``claimed_at``: the
    claim's time moved (possibly into the future), so that it turns stale when the caller wants it resumed;
    ``refused_at``: the chat service refused the post when asked, perhaps for the channel's own reasons (kept until
    the next such refusal)."""
    values: dict[str, Any] = {"error": error[:2000]}
    if claimed_at is not None:
        values["claimed_at"] = claimed_at
    if refused_at is not None:
        values["refused_at"] = refused_at
    return _update_claimed(session, run_id=run_id, worker_id=worker_id, **values)


def update_digest_run_finished(
    session: Session, *, run_id: int, worker_id: str, status: DigestRunStatus, now: datetime, error: str = ""
) -> bool:
    values: dict[str, Any] = {"status": status, "error": error[:2000]}
    if status in {DigestRunStatus.SENT, DigestRunStatus.EMPTY}:
        values["sent_at"] = now
    return _update_claimed(session, run_id=run_id, worker_id=worker_id, **values)


def update_digest_run_marked_sent(
    session: Session, *, channel_id: str, period: str, worker_id: str, now: datetime, live_since: datetime
) -> bool:
    """Record the digest of (channel, period) as sent without posting it (it went out before a restore): the run is
    made if missing, a failed one is finished, and so is one claimed before ``live_since`` (a crashed sender's).
    False when it was sent (or found empty) already, or another worker claimed it since ``live_since`` (a running
    sender is posting it: finished under it, it would stop halfway)."""
    claim_digest_run(session, channel_id=channel_id, period=period, worker_id=worker_id, now=now)
    not_held = or_(
        DigestRun.status != DigestRunStatus.CLAIMED,
        DigestRun.claimed_by == worker_id,
        DigestRun.claimed_at < live_since,
    )
    result = session.execute(
        update(DigestRun)
        .where(
            DigestRun.channel_id == channel_id,
            DigestRun.period == period,
            DigestRun.status.not_in([DigestRunStatus.SENT, DigestRunStatus.EMPTY]),
            not_held,
        )
        .values(status=DigestRunStatus.SENT, sent_at=now, claimed_by=worker_id, claimed_at=now, error="marked posted"),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


# --- content -------------------------------------------------------------------------------------------------


def list_practices_changed(session: Session, *, start: datetime, end: datetime) -> list[Practice]:
    """Published practices created or updated in ``[start, end)``."""
    created = and_(Practice.created_at >= start, Practice.created_at < end)
    updated = and_(Practice.updated_at >= start, Practice.updated_at < end)
    query = (
        select(Practice)
        .where(Practice.status == RecordStatus.PUBLISHED, or_(created, updated))
        .options(lazyload(Practice.contact_expert))
        .order_by(Practice.updated_at.desc(), Practice.id)
    )
    return list(session.scalars(query))


def _public_question() -> list[Any]:
    return [Question.visibility == Visibility.PUBLIC, Question.channel_is_private.is_(False)]


def _answered_question() -> list[Any]:
    """What a digest quotes as answered: a public question from a channel known public, with an answer."""
    return [*_public_question(), Question.answered_at.is_not(None)]


def _open_question() -> list[Any]:
    """What a digest quotes as still looking for expertise: a public question from a channel known public, open,
    routed or escalated (never one its asker withdrew, nor one answered or closed meanwhile)."""
    return [*_public_question(), Question.status.in_(OPEN_STATUSES)]


def list_questions_answered(session: Session, *, start: datetime, end: datetime) -> list[Question]:
    """Public questions from public channels answered in ``[start, end)``, with their answers."""
    query = (
        select(Question)
        .where(*_answered_question(), Question.answered_at >= start, Question.answered_at < end)
        .options(lazyload(Question.routings))
        .order_by(Question.answered_at.desc(), Question.id)
    )
    return list(session.scalars(query))


def list_questions_still_answered(session: Session, *, question_ids: Collection[int]) -> dict[int, Question]:
    """The questions of ``question_ids`` a digest may still quote as answered, with their answers (a digest read
    again before posting): still stored, public and from a channel known public, as ``list_questions_answered``
    takes them."""
    if not question_ids:
        return {}
    query = (
        select(Question)
        .where(Question.id.in_(sorted(question_ids)), *_answered_question())
        .options(lazyload(Question.routings))
    )
    return {q.id: q for q in session.scalars(query)}


def list_question_ids_still_open(session: Session, *, question_ids: Collection[int]) -> set[int]:
    """The questions of ``question_ids`` a digest may still quote as looking for expertise (a digest read again
    before posting): still stored, public, from a channel known public and open, as ``list_questions_open`` takes
    them (not withdrawn meanwhile)."""
    if not question_ids:
        return set()
    query = select(Question.id).where(Question.id.in_(sorted(question_ids)), *_open_question())
    return set(session.scalars(query))


def list_questions_open(session: Session, *, asked_since: datetime, asked_before: datetime) -> list[Question]:
    """Public questions still looking for expertise (open, routed or escalated), asked in the given range."""
    query = (
        select(Question)
        .where(
            *_open_question(),
            Question.created_at >= asked_since,
            Question.created_at < asked_before,
        )
        .options(lazyload(Question.routings), lazyload(Question.answers))
        .order_by(Question.created_at, Question.id)
    )
    return list(session.scalars(query))


class QuestionFact(NamedTuple):
    question_id: int
    created_at: datetime
    answered_at: datetime | None
    channel_id: str | None
    theme_key: str | None  # one row per theme; None for a question without themes


def list_question_facts(
    session: Session, *, since: datetime, until: datetime, public_only: bool = True
) -> list[QuestionFact]:
    """Public questions (all, with ``public_only=False``) asked or answered in ``[since, until)``: the raw material of
    the weekly figures."""
    asked = and_(Question.created_at >= since, Question.created_at < until)
    answered = and_(Question.answered_at >= since, Question.answered_at < until)
    query = (
        select(Question.id, Question.created_at, Question.answered_at, Question.channel_id, question_themes.c.theme_key)
        .select_from(Question)
        .outerjoin(question_themes, question_themes.c.question_id == Question.id)
        .where(*(_public_question() if public_only else ()), or_(asked, answered))
    )
    return [QuestionFact(*row) for row in session.execute(query)]


def list_experts_created(session: Session, *, start: datetime, end: datetime) -> list[Expert]:
    """Published experts added in ``[start, end)`` (the caller drops opted-out and withdrawn ones)."""
    query = (
        select(Expert)
        .where(Expert.status == RecordStatus.PUBLISHED, Expert.created_at >= start, Expert.created_at < end)
        .order_by(Expert.created_at, Expert.id)
    )
    return list(session.scalars(query))


def get_experts_by_slack_ids(session: Session, *, slack_user_ids: Collection[str]) -> dict[str, Expert]:
    if not slack_user_ids:
        return {}
    query = select(Expert).where(Expert.slack_user_id.in_(sorted(slack_user_ids)))
    return {e.slack_user_id: e for e in session.scalars(query) if e.slack_user_id}


def list_public_knowledge_gaps(session: Session, *, start: datetime, end: datetime) -> list[KnowledgeGap]:
    """Knowledge gaps recorded in ``[start, end)`` outside private channels, newest first."""
    query = (
        select(KnowledgeGap)
        .where(
            KnowledgeGap.channel_is_private.is_(False),
            KnowledgeGap.created_at >= start,
            KnowledgeGap.created_at < end,
        )
        .order_by(KnowledgeGap.created_at.desc(), KnowledgeGap.id.desc())
    )
    return list(session.scalars(query))
