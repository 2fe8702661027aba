"""The inbox, core side: every Slack request wieweet acknowledges, recorded before its ack (``InboxRequest``).

Knows nothing about Slack: the Slack layer (``handlers.inbox``) records requests, claims them and produces their
outcomes through these functions. Each opens its own short transaction on the inbox (``Database.inbox_session``,
which on SQLite is a file of its own) and is retried on a held SQLite lock (``Database.retrying``).

``once`` is the other half of exactly-once: a step that writes to the main database (log a search, make a question)
claims ``<step>:<request key>`` in the same transaction as its rows and notes the id of what it made there, so a
retry after a crash finds it instead of making it again.

``record_with_change`` is the same the other way round, for a change made outside Slack (the command line) that
queues work for the running bot: the request is recorded while the change's transaction is open, with a mark in
that transaction, and runs only once that mark is committed (``change_committed``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from storage import inbox_repo, privacy_repo, slack_repo
from storage.db import Database
from storage.models import InboxRequest


def record_request(
    db: Database,
    *,
    request_key: str,
    kind: str,
    payload: Mapping[str, Any],
    user_id: str | None,
    now: datetime,
    attempts: int = 2,
) -> bool:
    """Record a request; True when new, False for a redelivery, replay or double click of a recorded one."""

    def insert() -> bool:
        with db.inbox_session() as session:
            return inbox_repo.create_inbox_request(
                session, request_key=request_key, kind=kind, payload=dict(payload), user_slack_id=user_id, now=now
            )

    return db.retrying(insert, attempts=attempts)


def claim_requests(
    db: Database,
    *,
    now: datetime,
    claim: str,
    limit: int,
    stale_before: datetime,
    in_order: Collection[str] = (),
    exclude: Collection[int] = (),
) -> list[InboxRequest]:
    """Claim up to ``limit`` pending requests under the token ``claim`` (detached rows: read, don't change). Kinds
    in ``in_order``: a user's request waits for their older unfinished ones of the same kind. Never those in
    ``exclude`` (the claimer's own, still running)."""

    def take() -> list[InboxRequest]:
        with db.inbox_session() as session:
            return inbox_repo.claim_inbox_requests(
                session,
                now=now,
                worker_id=claim,
                limit=limit,
                stale_before=stale_before,
                in_order=in_order,
                exclude=exclude,
            )

    return db.retrying(take)


def save_result(db: Database, *, request_id: int, claim: str, values: Mapping[str, Any], alive_at: datetime) -> bool:
    """Note a step done on the request (the claim is refreshed to ``alive_at``); False when the claim was lost to
    another worker."""
    with db.inbox_session() as session:
        return inbox_repo.update_inbox_result(
            session, request_id=request_id, worker_id=claim, values=values, alive_at=alive_at
        )


def read_result(db: Database, *, request_key: str) -> dict[str, Any]:
    """What the request's runs saved on it so far (``result``), read afresh."""
    with db.inbox_session() as session:
        row = inbox_repo.get_inbox_request(session, request_key=request_key)
        return dict(row.result or {}) if row is not None else {}


def mark_post_started(db: Database, *, request_id: int, claim: str, now: datetime, alive_at: datetime) -> bool:
    with db.inbox_session() as session:
        return inbox_repo.update_inbox_post_started(
            session, request_id=request_id, worker_id=claim, now=now, alive_at=alive_at
        )


def keep_claim(db: Database, *, request_id: int, claim: str, alive_at: datetime) -> bool:
    """True (and the claim refreshed) while ``claim`` still holds the unfinished request."""
    with db.inbox_session() as session:
        return inbox_repo.update_inbox_claim_kept(session, request_id=request_id, worker_id=claim, alive_at=alive_at)


def mark_done(
    db: Database,
    *,
    request_id: int,
    claim: str,
    channel_id: str | None,
    ts: str | None,
    now: datetime,
    forget_user: bool = False,
) -> bool:
    """The request's outcome is out (see ``inbox_repo.update_inbox_done``). ``forget_user``: it erased its user or
    names an erased person; its row names them no more, and once that committed the disk is compacted
    (``Database.compact_after_erasure``): earlier versions of the row, in SQLite's write-ahead log, named them."""
    done = partial(inbox_repo.update_inbox_done, request_id=request_id, worker_id=claim, channel_id=channel_id, ts=ts)
    return _mark(db, done, now=now, forget_user=forget_user)


def mark_failed(
    db: Database,
    *,
    request_id: int,
    claim: str,
    error: str,
    retry_at: datetime | None,
    now: datetime,
    forget_user: bool = False,
) -> bool:
    """A try that failed: tried again from ``retry_at``, or given up (None). ``forget_user``: as ``mark_done``."""
    failed = partial(
        inbox_repo.update_inbox_failed, request_id=request_id, worker_id=claim, error=error, retry_at=retry_at
    )
    return _mark(db, failed, now=now, forget_user=forget_user)


def _mark(db: Database, update: Callable[..., bool], *, now: datetime, forget_user: bool) -> bool:
    """``update`` the request's row in a transaction of its own on the inbox (retried on a held SQLite lock). When
    it marked the row and ``forget_user``, the disk is compacted once that committed (``mark_done``)."""

    def unit() -> bool:
        with db.inbox_session() as session:
            return update(session, now=now, forget_user=forget_user)

    marked = db.retrying(unit)
    if marked and forget_user:
        db.compact_after_erasure()
    return marked


def release_claims(db: Database, *, is_dead: Callable[[str], bool]) -> int:
    """Give the requests claimed by workers that ``is_dead`` says are gone back to the queue."""
    with db.inbox_session() as session:
        dead = [w for w in inbox_repo.list_inbox_claimers(session) if is_dead(w)]
        return inbox_repo.update_inbox_release_claims(session, worker_ids=dead)


def once(session: Session, *, step: str, request_key: str, now: datetime, make: Callable[[], int]) -> int | None:
    """Run ``make`` (which writes in ``session`` and returns the id of what it made) once per request and step, over
    retries and processes. Returns the id made now, or the one an earlier attempt noted (None if that attempt left
    no readable note)."""
    key = f"{step}:{request_key}"
    if slack_repo.create_processed_event(session, event_key=key, kind=f"{step}…", now=now):
        made = make()
        slack_repo.update_processed_event_kind(session, event_key=key, kind=f"{step}:{made}")
        return made
    noted = privacy_repo.get_processed_event_kind(session, event_key=key) or ""
    value = noted.removeprefix(f"{step}:")
    return int(value) if value.isdigit() else None


# --- deliveries handled in the request's own transaction (buttons, modals, commands) --------------------------------


def delivery_seen(session: Session, *, key: str) -> bool:
    """Whether a request with this delivery key (``handlers.listener.delivery_key``) already changed something."""
    return privacy_repo.get_processed_event_kind(session, event_key=key) is not None


def claim_delivery(session: Session, *, key: str, kind: str, now: datetime) -> bool:
    """Claim a delivery in the transaction of what it changed: True when it is the first; False for a redelivery
    (another process or thread committed the same key first: this transaction must roll back). On PostgreSQL a
    concurrent claim of the same key waits here for the other transaction's outcome."""
    return slack_repo.create_processed_event(session, event_key=key, kind=kind, now=now)


def delivery_claimed(db: Database, *, key: str) -> bool:
    """Whether the delivery key is claimed (committed), read in a fresh transaction. Asked before an ack, so on
    connections the workers never hold (``Database.ack_read_session``)."""
    with db.ack_read_session() as session:
        return delivery_seen(session, key=key)


# --- requests queued by a change made outside Slack (the command line) ----------------------------------------------

_WITH_CHANGE = "with_change"  # the change's own mark: its transaction committed
_NO_CHANGE = "no_change"  # the mark a worker puts first: the change never committed, and now never will


def record_with_change(
    session: Session, db: Database, *, request_key: str, kind: str, payload: Mapping[str, Any], now: datetime
) -> None:
    """Queue a request that stands only when ``session``'s transaction (a change, not yet committed) commits: the
    request is recorded on the inbox at once, and a mark keyed by it is written in ``session``, committed with the
    change or not at all. The worker asks ``change_committed`` before doing anything: a crash after the commit
    leaves the request to run; a crash or a rollback before it leaves one that does nothing. Call it last in the
    transaction, just before its commit. ``now`` is the real time (a worker runs the request at once, whatever
    moment the change is made at)."""
    if not claim_delivery(session, key=_change_key(request_key), kind=_WITH_CHANGE, now=now):
        raise ValueError(f"request {request_key!r} was queued before")
    record_request(db, request_key=request_key, kind=kind, payload=payload, user_id=None, now=now)


def change_committed(session: Session, *, request_key: str, now: datetime) -> bool:
    """For a request queued by ``record_with_change``: whether the change that queued it committed. Asked first in
    the worker's transaction (commit it after). Without the change's mark, this transaction writes the opposite
    one: the change cannot commit after it any more (its mark's key is taken; on PostgreSQL a change still open
    is waited for here), so the answer holds for good."""
    key = _change_key(request_key)
    if claim_delivery(session, key=key, kind=_NO_CHANGE, now=now):
        return False
    return privacy_repo.get_processed_event_kind(session, event_key=key) == _WITH_CHANGE


def _change_key(request_key: str) -> str:
    return f"change:{request_key}"
