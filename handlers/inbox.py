"""Producing the outcome of every acknowledged request from its inbox row (``storage.models.InboxRequest``): the
worker, and the registry of inbox kinds. What a kind's handler gets, one request, is ``handlers.inbox_job``.

A listener records the request (``record``: one short transaction on the inbox, whose unique ``request_key`` is
the delivery's dedupe claim) and acks; nothing slow happens before the ack. The ``InboxWorker`` (its own threads,
separate from the threads that ack) claims pending rows and runs the handler of each row's ``kind``:

* a handler does its database work in transactions of its own, with no Slack call inside one that has written;
  what a step produced is saved on the row (``job.save``), so a retry does not do it twice;
* it posts through ``job.post_once``, which marks the row "post started" first and, on a retry after a crash,
  looks in Slack for a message carrying the row's marker (message metadata) before posting again;
* an error the user can fix (``WieweetError``) is told to them once and ends the request; any other failure is
  retried with a backoff and, only when the last attempt failed, the user is told once (never a false error for
  work that succeeds later).

After a kill -9 at any point, the next process (or another replica, once the claim is stale) picks the row up
again: one outcome, never none, never two. Every step saved, every post started refreshes the claim, and an
ephemeral answer is only sent while the claim is still ours, so a long job is not taken over and run twice. While a
step runs (a slow Slack call, a long search), the worker's heartbeat refreshes the claims of the requests in its
hands every ``HEARTBEAT_SECONDS``, so a single step longer than ``STALE_AFTER`` is not taken over either; a dead
process beats no more, and its requests are taken over ``STALE_AFTER`` after its last beat (at once by the next
start on the same host). A worker never claims a request it is still running. A request held past ``MAX_HOLD`` (a
hung step) is given back as a failed attempt: a pass after its backoff (of any worker) runs it again in a fresh
thread under a new claim, and whatever the hung thread still tries to save, post or finish is refused by the claim
check. On PostgreSQL the worker's transactions wait for a lock for a bounded time (``storage.db.bounded_waits``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot import inbox as core
from bot.actors import NotAuthorized
from bot.errors import WieweetError, nul_text_error
from handlers import inbox_end as end
from handlers.claims import log_refusal
from handlers.errors import user_message
from handlers.inbox_job import MAX_ATTEMPTS, ClaimLostError, InboxJob, wall_clock
from handlers.services import Services
from storage.db import SchemaVerdict, bounded_waits
from storage.models import InboxRequest

log = logging.getLogger("wieweet.inbox")

STALE_AFTER = timedelta(minutes=2)  # a claim older than this is taken over (its worker is presumed dead)
HEARTBEAT_SECONDS = STALE_AFTER.total_seconds() / 4  # a live worker refreshes its claims this often
MAX_HOLD = timedelta(minutes=15)  # a request in one worker's hands longer than this is no longer kept alive (hung)
HUNG = "hung"  # the error of an attempt given back because it hung (``InboxWorker._give_back``)
POLL_SECONDS = 1.0


def backoff(attempt: int) -> timedelta:
    """Pause before retry ``attempt`` (1-based): 2, 4, 8, 16, 32 s."""
    return timedelta(seconds=min(60, 2**attempt))


def worker_threads() -> int:
    """Threads that produce outcomes: the work waits mostly on Slack and the database, so a few per core."""
    return max(4, min(16, 4 * (os.cpu_count() or 2)))


Handler = Callable[[InboxJob], None]
# Tells the user once that the request failed (the text is ready in their language).
FailureNotice = Callable[[InboxJob, str], None]


@dataclass(frozen=True)
class Kind:
    handle: Handler
    tell: FailureNotice
    in_order: bool = False  # one user's requests of this kind run one at a time, oldest first
    # Undoes what a request claimed for itself when it ends without its outcome (given up after its last attempt, or
    # refused with an error the user is told): e.g. a share claimed on the search, given back.
    ended_without: Handler | None = None
    # With ``ended_without``: what the user is told (through ``tell``, once) when the request is given up, once its
    # undo is done — instead of the generic "something went wrong", which is said before the undo. None: nothing
    # more to tell here (the undo queued the user's notice in the outbox itself, durably).
    given_up: Callable[[InboxJob], str | None] | None = None


KINDS: dict[str, Kind] = {}


def kind(
    name: str,
    *,
    tell: FailureNotice,
    in_order: bool = False,
    ended_without: Handler | None = None,
    given_up: Callable[[InboxJob], str | None] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the handler of an inbox kind (how to tell its user about a failure, and what to undo when the
    request ends without its outcome). ``in_order``: a user's request waits for their older unfinished ones (a
    later edit is never overwritten by an earlier one's retry)."""

    def decorate(handler: Handler) -> Handler:
        KINDS[name] = Kind(handle=handler, tell=tell, in_order=in_order, ended_without=ended_without, given_up=given_up)
        return handler

    return decorate


def record(
    services: Services,
    *,
    request_key: str,
    kind_name: str,
    payload: Mapping[str, Any],
    user_id: str | None,
) -> bool:
    """Record a request before it is acked (one short transaction on the inbox, retried on a held SQLite lock).
    True when new; False for a redelivery, replay or double click. Wakes the worker."""
    if kind_name not in KINDS:
        raise ValueError(f"no inbox handler for {kind_name!r}")

    new = core.record_request(
        services.db, request_key=request_key, kind=kind_name, payload=payload, user_id=user_id, now=wall_clock()
    )
    if new:
        services.inbox.ring()
    return new


def instance_id() -> str:
    """This process on this host, with a boot nonce (a restarted container may get the same pid)."""
    return f"{socket.gethostname()[:36]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _dead_on_this_host(claimer: str, me: str) -> bool:
    """A claimer (``host:pid:nonce/claim``) on this host whose process is gone (or that is an earlier boot of a
    process with our pid)."""
    parts = claimer.split("/", 1)[0].split(":")
    mine = me.split(":")
    if len(parts) != 3 or parts[0] != mine[0]:
        return False
    if parts[1] == mine[1]:
        return parts[2] != mine[2]
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError, OSError):
        return False
    return False


class InboxWorker:
    """Claims pending inbox requests and produces their outcomes on its own thread pool."""

    def __init__(
        self,
        services: Services,
        client: WebClient,
        *,
        threads: int | None = None,
        worker_id: str | None = None,
        poll_seconds: float = POLL_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.services = services
        self.client = client
        self.threads = threads or worker_threads()
        self.worker_id = worker_id or instance_id()
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._held: dict[int, tuple[str, datetime, int]] = {}  # request id -> (claim token, taken when, attempts)
        # A hung thread given back still holds a pool thread: up to ``threads`` of them are stood in for by spare ones
        self._hung: set[tuple[int, str]] = set()
        self.pool = ThreadPoolExecutor(max_workers=2 * self.threads, thread_name_prefix="inbox")
        self._stop = threading.Event()
        self._heart_stop = threading.Event()  # set only once the running requests have finished (``shutdown``)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._claims = 0
        self.stopped: str | None = None  # why it claims no more: the schema moved under this code (``schema_current``)
        self._thread = threading.Thread(target=self._loop, name="inbox-claims", daemon=True)
        self._heart = threading.Thread(target=self._beat_loop, name="inbox-heartbeat", daemon=True)

    def start(self) -> InboxWorker:
        self.release_dead_claims()
        self._thread.start()
        self._heart.start()
        log.info("inbox worker %s started with %s threads", self.worker_id, self.threads)
        return self

    def shutdown(self) -> None:
        self._stop.set()
        self.kick()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=True)  # the requests still running finish, their claims kept alive meanwhile
        self._heart_stop.set()
        if self._heart.is_alive():
            self._heart.join(timeout=10)

    def kick(self) -> None:
        self.services.inbox.ring()

    def release_dead_claims(self) -> int:
        """Requests claimed by killed processes on this host go back to the queue at once (other hosts' claims are
        taken over when stale)."""
        try:
            released = core.release_claims(
                self.services.db, is_dead=lambda claimer: _dead_on_this_host(claimer, self.worker_id)
            )
        except Exception:  # the periodic claims take them over once stale
            log.warning("could not release the claims of dead workers", exc_info=True)
            return 0
        if released:
            log.info("released %s inbox requests claimed by stopped processes", released)
        return released

    def _beat_loop(self) -> None:
        while not self._heart_stop.wait(self.heartbeat_seconds):
            self.beat()

    def beat(self) -> int:
        """The heartbeat: refresh the claim of every request in this worker's hands (a step may wait on Slack or
        the database longer than ``STALE_AFTER``); returns how many were kept. A request held longer than
        ``MAX_HOLD`` (its step hangs) is given back (``_give_back``); one whose claim is lost is left to its new
        worker."""
        now = wall_clock()
        with self._lock:
            held = list(self._held.items())
        kept = 0
        for request_id, (token, since, attempts) in held:
            if now - since > MAX_HOLD:
                log.warning("inbox request %s held since %s: given back, to run again", request_id, since.isoformat())
                self._give_back(request_id, token, attempts, now)
                continue
            try:
                kept += self._keep(request_id, token, now)
            except Exception:  # the next beat tries again, well before the claim goes stale
                log.warning("heartbeat of inbox request %s failed", request_id, exc_info=True)
        return kept

    def _give_back(self, request_id: int, token: str, attempts: int, now: datetime) -> None:
        """Give a hung request back, counted as a failed attempt (``HUNG``): it is claimed again after its backoff
        (by this worker too) and run in a fresh thread, and once its attempts are spent it is given up and its user
        told, once (``process``). The hung thread, still holding the old token, can no longer save, post or finish
        it, and no longer counts as running (``_hung``: a pool thread stands in for it). Kept in the running set
        when recording that fails (the next beat tries again)."""
        db, error = self.services.db, f"{HUNG}: held for over {MAX_HOLD}"
        try:
            core.mark_failed(
                db, request_id=request_id, claim=token, error=error, retry_at=now + backoff(attempts + 1), now=now
            )
        except Exception:
            log.warning("could not give back the claim of inbox request %s", request_id, exc_info=True)
            return
        with self._lock:
            if self._held.get(request_id, ("",))[0] == token:
                del self._held[request_id]
                self._hung.add((request_id, token))
                self._in_flight -= 1
        self.kick()

    def _keep(self, request_id: int, token: str, now: datetime) -> bool:
        db = self.services.db
        return db.retrying(lambda: core.keep_claim(db, request_id=request_id, claim=token, alive_at=now))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.services.inbox.wait(timeout=self.poll_seconds)  # rung by ``record`` (or a finished request)
            try:
                self.drain()
            except Exception:  # logged; the next wake-up tries again
                log.exception("inbox pass failed worker=%s", self.worker_id)
                time.sleep(self.poll_seconds)

    def schema_current(self) -> bool:
        """Whether the database is still at the schema revision this code runs. Once another replica (or ``wieweet db
        upgrade``) moved it to a newer one, this worker claims no more requests, for good: they stay in the inbox,
        pending, for a replica running the new code (the requests already running here finish), and ``/healthz``
        fails. No revision or an older one (halfway through a restore) claims nothing now and is read again at the
        next pass. A check that fails (the database is down) stops nothing: the claims fail and are logged as usual.
        The job runner stops the same way."""
        if self.stopped is not None:
            return False
        check = self.services.db.schema_verdict(lately=True)
        check.report(
            log, waits="inbox worker %s waits: %s", stops="inbox worker %s stopped: %s", worker_id=self.worker_id
        )
        if check.verdict is SchemaVerdict.NEWER:
            self.stopped = check.moved
        return check.verdict.works

    def drain(self) -> int:
        """Claim as many requests as there are free threads and start them; returns how many were started."""
        started = 0
        while not self._stop.is_set() and self.schema_current():
            with self._lock:
                free = self.threads - self._in_flight - max(0, len(self._hung) - self.threads)
            if free <= 0:
                return started
            now = wall_clock()
            # A token per claim (the worker and a counter): the rows claimed now are told apart from this worker's
            # earlier claims still in progress, even when the injected clock stands still.
            with self._lock:
                self._claims += 1
                token = f"{self.worker_id}/{self._claims}"

                running = list(self._held)  # never claimed again while they run here (a late beat, a pause)
            ordered = [name for name, entry in KINDS.items() if entry.in_order]
            rows = core.claim_requests(
                self.services.db,
                now=now,
                claim=token,
                limit=free,
                stale_before=now - STALE_AFTER,
                in_order=ordered,
                exclude=running,
            )
            if not rows:
                return started
            for row in rows:
                with self._lock:
                    self._in_flight += 1
                    self._held[row.id] = (token, now, row.attempts)  # kept alive by the heartbeat until finished
                self.pool.submit(self._run, row, token)
                started += 1
        return started

    def _run(self, row: InboxRequest, token: str) -> None:
        try:
            with bounded_waits():  # PostgreSQL: no lock or idle transaction holds this thread forever
                self.process(row, claim=token)
        finally:
            with self._lock:
                if (row.id, token) in self._hung:  # given back (no longer counted as running): it ended at last
                    self._hung.discard((row.id, token))
                else:
                    if self._held.get(row.id, ("",))[0] == token:
                        del self._held[row.id]
                    self._in_flight -= 1
            self.kick()

    def process(self, row: InboxRequest, *, claim: str | None = None) -> bool:
        """Produce one request's outcome (``claim``: the token it was claimed with); True when it is finished
        (done, or given up after telling the user)."""
        entry = KINDS.get(row.kind)
        job = InboxJob(
            services=self.services,
            client=self.client,
            request=row,
            worker_id=claim or self.worker_id,
            now=self.services.clock(),
        )
        started = time.perf_counter()
        try:
            if entry is None:
                raise RuntimeError(f"no handler for inbox kind {row.kind!r}")
            if entry.ended_without is not None and job.result.get(end.UNDO):  # ended: only its undo is left to do
                end.undo(job, entry, row.last_error or "ended", now=wall_clock(), finish=lambda: self._finish(job))
                return True
            if row.attempts >= MAX_ATTEMPTS and row.last_error.startswith(HUNG):  # spent hanging: given up now
                return self._failed(job, entry, row.last_error or "hung")
            entry.handle(job)
            self._finish(job)
            outcome = "ok"
        except ClaimLostError:
            log.warning("inbox request %s was taken over by another worker", row.request_key)
            return False
        except WieweetError as error:  # the user's to fix: told once, and the request is done
            outcome = f"domain {error.code}"
            return self._refused(job, entry, error)
        except Exception as error:
            refusal = nul_text_error(error)
            if refusal is not None:  # the same text fails on every attempt: the user is told once, no retries
                log.warning("inbox request %s (%s): text with a NUL ref=%s", row.request_key, row.kind, job.ref)
                outcome = "domain nul_text"
                return self._refused(job, entry, refusal)
            log.warning("inbox request %s (%s) failed ref=%s", row.request_key, row.kind, job.ref, exc_info=True)
            return self._failed(job, entry, f"{type(error).__name__}: {error}", asked=end.asked_wait(error))
        finally:
            log.info(
                "inbox kind=%s key=%s user=%s attempt=%s latency_ms=%.1f ref=%s",
                row.kind,
                row.request_key,
                row.user_slack_id,
                row.attempts + 1,
                (time.perf_counter() - started) * 1000,
                job.ref,
            )
        log.debug("inbox request %s: %s", row.request_key, outcome)
        return True

    def _refused(self, job: InboxJob, entry: Kind | None, error: WieweetError) -> bool:
        """Tell the user why (once), undo what the request claimed (durably: ``inbox_end``), and it is done."""
        if isinstance(error, NotAuthorized):
            log_refusal(ref=job.ref, user=job.user_id, action=error.action, target=error.target)
        try:
            if entry is not None:
                entry.tell(job, user_message(error, end.language(job), job.ref))
            if entry is not None and entry.ended_without is not None:
                job.save(**{end.UNDO: "done"})  # the undo runs (again) until it succeeded, then it is done
                end.undo(job, entry, repr(error), now=wall_clock(), finish=lambda: self._finish(job))
            else:
                self._finish(job)
        except ClaimLostError:
            return False
        except Exception:
            return self._failed(job, entry, repr(error))
        return True

    def _finish(self, job: InboxJob) -> None:
        posted = [v for k, v in job.result.items() if k.startswith("posted:") and isinstance(v, list)]
        channel, ts = (str(posted[-1][0]), str(posted[-1][1])) if posted else (None, None)
        if not core.mark_done(
            self.services.db,
            request_id=job.request.id,
            claim=job.worker_id,
            channel_id=channel,
            ts=ts,
            now=wall_clock(),
            forget_user=job.erased_user,
        ):
            raise ClaimLostError(job.key)
        job.finished = True

    def _failed(self, job: InboxJob, entry: Kind | None, error: str, asked: timedelta = timedelta(0)) -> bool:
        """A failed attempt: retried with a backoff (no sooner than Slack ``asked``: a long Retry-After), or given up
        (the user told once) — ``handlers.inbox_end``."""
        attempt, now = job.request.attempts + 1, wall_clock()
        retry_at = None if attempt >= job.max_attempts else now + max(backoff(attempt), asked)
        end.give_up(job, entry, error, attempt=attempt, retry_at=retry_at, now=now)
        return retry_at is None
