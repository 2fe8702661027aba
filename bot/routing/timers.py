"""The timer sweeper: claim due rows of ``timers`` so each is handled once, even with several processes.

``run_due_timers`` claims a batch (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: one atomic ``UPDATE``), then
handles each timer in its own transaction: it first re-checks its claim with a compare-and-set that also sets
``done_at`` (so a timer taken over after a stale claim is never handled twice), then runs the handler. On failure
the transaction rolls back and, in a new one, ``attempts`` and ``last_error`` are recorded and the claim released
with a backoff (``due_at`` moved on); after ``policy.max_attempts`` it gives up and keeps the error. Claims older
than ``policy.stale_claim_after`` (a crashed process) become claimable again.

Schedule it with APScheduler (or a loop) every minute; ``RoutingService.handle_timer`` is the routing handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.routing.policy import RoutingPolicy
from storage import routing_repo as repo
from storage.db import Database
from storage.models import Timer, TimerKind

log = logging.getLogger(__name__)

TimerHandler = Callable[[Session, Timer, datetime], object]


@dataclass(slots=True)
class TimerRun:
    claimed: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)  # claim taken over by another worker meanwhile
    outcomes: dict[int, str] = field(default_factory=dict)


class _LostClaimError(Exception):
    pass


def run_due_timers(
    db: Database,
    *,
    now: datetime,
    worker_id: str,
    handler: TimerHandler,
    limit: int = 100,
    policy: RoutingPolicy | None = None,
    kinds: Collection[TimerKind] | None = None,
) -> TimerRun:
    """Claim and handle the timers due at ``now`` (only of ``kinds``, when given). Returns what happened to each."""
    policy = policy or RoutingPolicy()
    run = TimerRun()
    with db.session() as session:
        run.claimed = repo.claim_due_timers(
            session,
            now=now,
            worker_id=worker_id,
            limit=limit,
            stale_before=now - policy.stale_claim_after,
            kinds=kinds,
        )
    for timer_id in run.claimed:
        try:
            with db.session() as session:
                if not repo.update_claimed_timer_done(session, timer_id=timer_id, worker_id=worker_id, now=now):
                    raise _LostClaimError
                timer = repo.get_timer(session, timer_id=timer_id)
                assert timer is not None
                outcome = handler(session, timer, now)
            run.done.append(timer_id)
            run.outcomes[timer_id] = str(outcome) if outcome is not None else "done"
        except _LostClaimError:
            run.lost.append(timer_id)
        except Exception as exc:  # a failing timer must not stop the others; it is retried with a backoff
            log.exception("timer %s failed", timer_id)
            run.failed.append(timer_id)
            run.outcomes[timer_id] = f"failed: {exc!r}"
            _record_failure(db, timer_id=timer_id, worker_id=worker_id, error=repr(exc), now=now, policy=policy)
    return run


def _record_failure(
    db: Database, *, timer_id: int, worker_id: str, error: str, now: datetime, policy: RoutingPolicy
) -> None:
    with db.session() as session:
        timer = repo.get_timer(session, timer_id=timer_id)
        if timer is None:
            return
        attempts = timer.attempts + 1
        retry_at = None if attempts >= policy.max_attempts else now + policy.backoff(attempts)
        if retry_at is None:
            log.error("timer %s gave up after %s attempts: %s", timer_id, attempts, error)
        repo.update_timer_failed(
            session, timer_id=timer_id, worker_id=worker_id, error=error, retry_at=retry_at, now=now
        )
