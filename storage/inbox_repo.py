"""Repository functions for the inbox (``InboxRequest``): record, claim, progress, finish. Never commit.

Sessions come from ``Database.inbox_session()`` (the inbox may live in its own SQLite file).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.models import InboxRequest


def _dialect_insert(session: Session) -> Callable[..., Any]:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def create_inbox_request(
    session: Session,
    *,
    request_key: str,
    kind: str,
    payload: dict[str, Any],
    user_slack_id: str | None,
    now: datetime,
) -> bool:
    """Record a request under its dedupe claim. True when it is new; False for a redelivery, replay or double
    click of one already recorded (nothing is written then). On PostgreSQL one user's requests of one kind are
    recorded one at a time (a transaction-level advisory lock, held until this insert commits): their ids then
    follow their commit order, so an in-order claim never sees a later one while an earlier one is still being
    recorded (a sequence hands out ids at insert, not at commit)."""
    if user_slack_id and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"inbox:{kind[:40]}:{user_slack_id}"}
        )
    statement = (
        _dialect_insert(session)(InboxRequest)
        .values(
            request_key=request_key[:200],
            kind=kind[:40],
            user_slack_id=user_slack_id,
            payload=payload,
            result={},
            received_at=now,
            next_attempt_at=now,
            attempts=0,
            last_error="",
        )
        .on_conflict_do_nothing(index_elements=["request_key"])
        .returning(InboxRequest.id)  # a row only when inserted (the row count is not reliable on every driver)
    )
    return session.execute(statement).first() is not None


def get_inbox_request(session: Session, *, request_key: str) -> InboxRequest | None:
    return session.scalars(select(InboxRequest).where(InboxRequest.request_key == request_key)).first()


def claim_inbox_requests(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    limit: int,
    stale_before: datetime,
    in_order: Collection[str] = (),
    exclude: Collection[int] = (),
) -> list[InboxRequest]:
    """Claim up to ``limit`` pending requests (unclaimed, or claimed before ``stale_before``), oldest first; never
    those in ``exclude`` (the claimer's own requests still running). A request of a kind in ``in_order`` waits
    while an older unfinished one of the same user and kind exists (running, or waiting for its retry), so one
    user's requests of that kind are applied in the order they came."""
    pending = [
        InboxRequest.done_at.is_(None),
        InboxRequest.failed_at.is_(None),
        InboxRequest.next_attempt_at <= now,
    ]
    claimable = [*pending, or_(InboxRequest.claimed_by.is_(None), InboxRequest.claimed_at < stale_before)]
    if in_order:
        older = aliased(InboxRequest)
        waits = exists().where(
            older.user_slack_id == InboxRequest.user_slack_id,
            older.kind == InboxRequest.kind,
            older.id < InboxRequest.id,
            older.done_at.is_(None),
            older.failed_at.is_(None),
        )
        claimable.append(or_(InboxRequest.kind.not_in(list(in_order)), InboxRequest.user_slack_id.is_(None), ~waits))
    if exclude:
        claimable.append(InboxRequest.id.not_in(list(exclude)))
    candidates = select(InboxRequest.id).where(*claimable).order_by(InboxRequest.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(
            update(InboxRequest).where(InboxRequest.id.in_(ids)).values(claimed_by=worker_id, claimed_at=now),
            execution_options={"synchronize_session": False},
        )
        return list(session.scalars(select(InboxRequest).where(InboxRequest.id.in_(ids)).order_by(InboxRequest.id)))
    session.execute(  # SQLite serialises writers: one atomic UPDATE, then read back our claims
        update(InboxRequest)
        .where(InboxRequest.id.in_(candidates.scalar_subquery()))
        .values(claimed_by=worker_id, claimed_at=now),
        execution_options={"synchronize_session": False},
    )
    mine = select(InboxRequest).where(
        and_(InboxRequest.claimed_by == worker_id, InboxRequest.claimed_at == now), *pending
    )
    return list(session.scalars(mine.order_by(InboxRequest.id)))


def _mine(
    session: Session, *, request_id: int, worker_id: str, alive_at: datetime | None = None
) -> InboxRequest | None:
    """The request, when this worker still holds its claim and it is not finished. ``alive_at``: the worker is
    making progress, so its claim is refreshed (a long job's claim does not go stale and get taken over)."""
    row = session.get(InboxRequest, request_id, populate_existing=True)
    if row is None or row.claimed_by != worker_id or row.done_at is not None or row.failed_at is not None:
        return None
    if alive_at is not None:
        row.claimed_at = alive_at
    return row


def update_inbox_result(
    session: Session, *, request_id: int, worker_id: str, values: Mapping[str, Any], alive_at: datetime
) -> bool:
    """Merge ``values`` into the request's ``result`` (a step done) and refresh the claim; False when it was lost."""
    row = _mine(session, request_id=request_id, worker_id=worker_id, alive_at=alive_at)
    if row is None:
        return False
    row.result = {**row.result, **values}
    return True


def update_inbox_post_started(
    session: Session, *, request_id: int, worker_id: str, now: datetime, alive_at: datetime
) -> bool:
    """A post is about to go out: after a crash, look for it in Slack before posting again. Refreshes the claim."""
    row = _mine(session, request_id=request_id, worker_id=worker_id, alive_at=alive_at)
    if row is None:
        return False
    row.post_started_at = now
    return True


def update_inbox_claim_kept(session: Session, *, request_id: int, worker_id: str, alive_at: datetime) -> bool:
    """Before sending what cannot be looked up afterwards: is the claim still ours? Refreshes it when it is."""
    return _mine(session, request_id=request_id, worker_id=worker_id, alive_at=alive_at) is not None


# What a finished request's ``result`` keeps: the markers of what was sent or posted (ids, timestamps, flags), never
# the texts, blocks or step data of its confirmations, which may name people (e.g. a profile review card).
_MARKERS = ("posted:", "sent:", "responded:")


def _markers(result: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        key: value
        for key, value in (result or {}).items()
        if key.startswith(_MARKERS)
        and (isinstance(value, bool) or (isinstance(value, list) and all(isinstance(v, str) for v in value)))
    }


def update_inbox_done(
    session: Session,
    *,
    request_id: int,
    worker_id: str,
    channel_id: str | None,
    ts: str | None,
    now: datetime,
    forget_user: bool = False,
) -> bool:
    """The outcome is out: record where, empty the payload and keep only the markers of the result (both may hold
    personal text), release the claim. ``forget_user``: the request erased its user, who is no longer named."""
    row = _mine(session, request_id=request_id, worker_id=worker_id)
    if row is None:
        return False
    row.done_at = now
    row.posted_channel_id = channel_id
    row.posted_ts = ts
    row.payload = {}
    row.result = _markers(row.result)
    row.claimed_by = None
    row.claimed_at = None
    if forget_user:
        row.user_slack_id = None
    return True


def update_inbox_failed(
    session: Session,
    *,
    request_id: int,
    worker_id: str,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    forget_user: bool = False,
) -> bool:
    """Record a failed attempt: released for a retry at ``retry_at``, or given up (``retry_at`` None).
    ``forget_user`` (given up only): the request erased its user, who is no longer named."""
    row = _mine(session, request_id=request_id, worker_id=worker_id)
    if row is None:
        return False
    row.attempts += 1
    row.last_error = error[:4000]
    row.claimed_by = None
    row.claimed_at = None
    if retry_at is None:
        row.failed_at = now
        row.payload = {}
        row.result = _markers(row.result)
        if forget_user:
            row.user_slack_id = None
    else:
        row.next_attempt_at = retry_at
    return True


def update_inbox_release_claims(session: Session, *, worker_ids: Collection[str]) -> int:
    """Release the claims of workers known to be gone (e.g. killed processes on this host)."""
    if not worker_ids:
        return 0
    result = session.execute(
        update(InboxRequest)
        .where(InboxRequest.claimed_by.in_(list(worker_ids)), InboxRequest.done_at.is_(None))
        .values(claimed_by=None, claimed_at=None),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_inbox_claimers(session: Session) -> list[str]:
    """The workers that hold claims on unfinished requests."""
    query = select(InboxRequest.claimed_by).where(InboxRequest.claimed_by.is_not(None), InboxRequest.done_at.is_(None))
    return sorted({str(w) for w in session.scalars(query.distinct())})


def list_pending_inbox_keys(session: Session) -> list[str]:
    """The keys of the requests not finished yet (neither done nor given up), however old."""
    query = select(InboxRequest.request_key).where(InboxRequest.done_at.is_(None), InboxRequest.failed_at.is_(None))
    return sorted(str(k) for k in session.scalars(query))


def list_inbox_requests(session: Session, *, kind: str | None = None) -> list[InboxRequest]:
    query = select(InboxRequest)
    if kind is not None:
        query = query.where(InboxRequest.kind == kind)
    return list(session.scalars(query.order_by(InboxRequest.id)))


def list_inbox_user_ids(session: Session) -> list[str]:
    """The users the inbox holds requests of (done or not): after a restore, erased people among them must go."""
    query = select(InboxRequest.user_slack_id).where(InboxRequest.user_slack_id.is_not(None)).distinct()
    return sorted(str(u) for u in session.scalars(query))


def get_inbox_shared(session: Session) -> bool:
    """Whether ``session``'s database holds the inbox too (PostgreSQL), so one transaction can change both; a SQLite
    database keeps its inbox in a file of its own (``storage.db``)."""
    return session.get_bind().dialect.name == "postgresql"


def list_waiting_inbox_requests_naming(
    session: Session, *, needles: Sequence[str], skip: Collection[str] = (), lock: bool = False
) -> list[InboxRequest]:
    """Requests nobody holds yet (not claimed, done or given up) whose payload may contain one of ``needles``
    (case-insensitively; a superset), but those of the kinds in ``skip``. ``lock`` (PostgreSQL): each locked until
    the transaction ends, so no worker claims it meanwhile; a request being claimed at this moment is passed over
    (its claim commits first: it is being handled)."""
    if not needles:
        return []
    as_text = cast(InboxRequest.payload, Text)
    naming = [func.lower(as_text).contains(n.lower(), autoescape=True) for n in needles]
    query = select(InboxRequest).where(
        InboxRequest.claimed_by.is_(None),
        InboxRequest.done_at.is_(None),
        InboxRequest.failed_at.is_(None),
        or_(*naming),
    )
    if skip:
        query = query.where(InboxRequest.kind.not_in(list(skip)))
    if lock and get_inbox_shared(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query.order_by(InboxRequest.id)))


def delete_inbox_requests_of(session: Session, *, slack_user_id: str, keep_key: str | None = None) -> int:
    """Erasure: every request of this user, done or not (but ``keep_key``: the erasing request's own, still
    running; it forgets its user when it is done, ``update_inbox_done``)."""
    query = delete(InboxRequest).where(InboxRequest.user_slack_id == slack_user_id)
    if keep_key is not None:
        query = query.where(InboxRequest.request_key != keep_key)
    result = session.execute(query)
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_finished_inbox_before(session: Session, *, before: datetime) -> int:
    """Retention: finished requests (done or given up) received before ``before``."""
    finished = or_(InboxRequest.done_at.is_not(None), InboxRequest.failed_at.is_not(None))
    result = session.execute(delete(InboxRequest).where(finished, InboxRequest.received_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
