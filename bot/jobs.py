"""Background jobs of ``wieweet run``: routing timers and the outbox, on an APScheduler ``BackgroundScheduler``.

One interval job (every ``Settings.job_interval_seconds``) queues due consent/re-confirmation requests, runs the due
routing timers, routes the questions held back while their asker had enough with experts, then sends the outbox.
Weekly digests have an interval job of their own: a pass over hundreds of channels never holds that one up.
Requests that queued messages ring the ``Doorbell`` (handed to both sides at construction); the runner answers with
an extra outbox pass at once, so DMs go out in seconds rather than at the next interval. Every pass uses its own
database sessions (``run_due_timers`` and ``claim_outbox`` open them); a failing pass is logged with a correlation
id and the next one runs as usual. Several processes may share one database: timers and outbox rows are claimed
in the database, so each is handled by exactly one of them.

When the process groups knowledge needs (``needs``: a ``bot.needs.jobs.NeedsPass``), another interval job (every
``NEEDS_INTERVAL_SECONDS``) places new questions and gaps in topics and queues proposed work sessions for the
triage channel (``run_needs_pass``); proposals it queued go out in the same pass.

Once a day (UTC date of the injected clock) a pass also purges what is past its retention (``bot.privacy``); the
day is claimed in the database (a ``processed_events`` key), so with several processes only one of them purges; a
purge that deleted something is audited (actor ``system``, the counts), as the one run by hand is.
Once a day, claimed the same way, one process rebuilds knowledge gaps' grouping keys (``bot.knowledge.gap_keys``),
and a job of its own asks the chat platform about every channel that still holds public questions and marks the
ones private now (``bot.privacy.reconcile_channel_privacy``): events missed while the bot was down. That day's
claim is renewed while the run goes and marked done at its end (``bot.day_claims.claim_day_run``): a run that
stopped halfway is taken over by a later pass once its claim is stale. Each interval pass also updates the posts of
proposed work sessions recorded as quoting what was withdrawn or made private (``refresh_proposals``), in any
process, and asks once about each account recently marked away as deactivated (``recheck_marks``: a reactivation
another process missed).

Each interval pass first checks that the database is still at the schema revision this code runs: after another
replica or ``wieweet db upgrade`` moved it, the jobs stop for good and say so in the log (``_schema_current``). The
jobs that run on their own (embeddings, knowledge needs, channel privacy, digests, the outbox pass a kick starts)
check it themselves before each run (``on_its_own``): they do not wait for the main pass to notice.

The runner knows no chat platform: how the outbox is sent, how digests are posted and how a channel's privacy is
looked up are handed in (``OutboxPass``, ``DigestPass``, ``ChannelLookup``) by the composition root
(``bot.cli.run_cmds``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from bot.actors import Actor
from bot.config import Settings
from bot.day_claims import DAY_RUN_ATTEMPTS, DONE, DayRun, claim_day, claim_day_run
from bot.knowledge import KnowledgeBase, analysis_version, rebuild_gap_keys
from bot.needs.jobs import NEEDS_INTERVAL_SECONDS, NeedsPass, NeedsPassResult
from bot.outbox import enqueue
from bot.privacy import (
    ChannelLookup,
    LookupRefused,
    MarkedHook,
    ReconcileResult,
    RetentionPolicy,
    list_pending_requests,
    purge_expired,
    purge_inbox,
    reconcile_channel_privacy,
    record_purge,
)
from bot.register import consent
from bot.routing import RoutingService, run_due_timers
from bot.staff_notices import ChannelCheckFailed
from bot.text import shown_text
from digests.errors import ServiceUnreachableError
from storage.db import Database, SchemaVerdict

log = logging.getLogger("wieweet.jobs")

JOB_ID = "wieweet-routing"
EMBED_JOB_ID = "wieweet-embeddings"
NEEDS_JOB_ID = "wieweet-needs"
CHANNEL_PRIVACY_JOB_ID = "wieweet-channel-privacy"
DIGEST_JOB_ID = "wieweet-digests"
EMBED_INTERVAL_SECONDS = 15.0  # how often missing document vectors are looked for (and computed for a while)
EMBED_BUDGET_SECONDS = 10.0  # the most one embedding pass computes before it yields
PURGE_KIND = "retention_purge"
GAP_KEYS_KIND = "gap_keys_rebuild"
CHANNEL_PRIVACY_KIND = "channel_privacy"


@dataclass(frozen=True, slots=True)
class PassResult:
    timers_done: int = 0
    timers_failed: int = 0
    sent: int = 0
    failed: int = 0
    ended: int = 0  # outbox messages decided while they waited: ended unsent, not failed
    lost: int = 0  # outbox messages another worker took over: theirs, not failed


@dataclass(frozen=True, slots=True)
class BatchResult:
    """One batch of outbox messages: how many were claimed, sent, failed (retried later or given up), ended unsent
    (what a staff post asked was decided while it waited) and lost (another worker took them over)."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    ended: int = 0
    lost: int = 0


class OutboxPass(Protocol):
    """Sends claimed outbox messages (the Slack layer's ``handlers.outbox.OutboxSender``)."""

    @property
    def batch_size(self) -> int: ...

    def send_pending(self, *, worker_id: str) -> BatchResult: ...


# Posts the digests due at ``now`` as ``worker_id``; one result per channel (``handlers.digest_post.DueDigests``).
DigestPass = Callable[[datetime, str], Sequence[object]]


class JobDeps(Protocol):
    """What the runner needs from the process (``handlers.services.Services`` has it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def knowledge(self) -> KnowledgeBase: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def outbox(self) -> Doorbell: ...


class Doorbell:
    """Rung by whoever queued outbox messages (a request, once committed); the job runner answers with an outbox
    pass at once. Made first and handed to both sides, so neither is attached to the other later."""

    def __init__(self) -> None:
        self._rung = threading.Event()
        self._closed = False

    def ring(self) -> None:
        self._rung.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until rung (True) or closed (False); with a ``timeout``, at most that long (then True unless
        closed: a periodic pass is due anyway)."""
        self._rung.wait(timeout)
        self._rung.clear()
        return not self._closed

    def close(self) -> None:
        self._closed = True
        self._rung.set()


R = TypeVar("R")
S = TypeVar("S")


def on_its_own(skipped: S) -> Callable[[Callable[[JobRunner], R]], Callable[[JobRunner], R | S]]:
    """For a job that runs on its own (a scheduler job of its own, not part of the main pass): like the main pass,
    it runs only while the database is at this code's schema (``JobRunner._schema_current``: a newer one stops the
    jobs for good, an older one or none skips this run), and returns ``skipped`` when it did not run."""

    def decorate(work: Callable[[JobRunner], R]) -> Callable[[JobRunner], R | S]:
        @wraps(work)
        def checked(runner: JobRunner) -> R | S:
            if not runner._schema_current():
                return skipped
            return work(runner)

        return checked

    return decorate


def default_worker_id() -> str:
    """This process on this host, with a boot nonce: a restarted container may get the same pid, and an earlier
    boot's claims (outbox, timers, digests) must not count as this one's."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class StoppableScheduler(BackgroundScheduler):  # type: ignore[misc]  # APScheduler ships no types
    """APScheduler 3.11's ``BackgroundScheduler`` without its race at shutdown: ``shutdown`` marks the scheduler stopped
    before it takes the job stores' lock, so a one-off job (an outbox kick) that ran just then is looked for among the
    pending jobs only when the loop removes it, and the loop's thread died with ``JobLookupError`` and a traceback in
    the log. Stopping is what was asked: the loop ends quietly."""

    def _process_jobs(self) -> float | None:
        try:
            return super()._process_jobs()  # type: ignore[no-any-return]
        except JobLookupError:
            if self.state == STATE_STOPPED:
                return None
            raise


class JobRunner:
    """Runs routing timers and sends the outbox, periodically and on demand (``kick``)."""

    def __init__(
        self,
        services: JobDeps,
        *,
        routing: RoutingService,
        sender: OutboxPass,
        digests: DigestPass | None = None,
        worker_id: str | None = None,
        interval_seconds: float | None = None,
        retention: RetentionPolicy | None = None,
        needs: NeedsPass | None = None,
        needs_interval_seconds: float = NEEDS_INTERVAL_SECONDS,
        channel_privacy: ChannelLookup | None = None,
        after_channel_private: MarkedHook | None = None,
        refresh_proposals: Callable[[], object] | None = None,
        recheck_marks: Callable[[], object] | None = None,
    ) -> None:
        self.services = services
        self.routing = routing
        self.sender = sender
        self.digests = digests
        self.worker_id = worker_id or default_worker_id()
        self.interval = interval_seconds or services.settings.job_interval_seconds
        self.scheduler = StoppableScheduler(timezone="UTC")
        self._outbox_lock = threading.Lock()  # one outbox pass at a time in this process
        self._state_lock = threading.Lock()
        self._kick_pending = False
        self.retention = retention or RetentionPolicy()
        self._purged_on: str | None = None  # the UTC day this process last saw the purge done
        self._rekeyed_on: str | None = None  # the UTC day this process last rebuilt the gaps' grouping keys
        self._doorbell = threading.Thread(target=self._answer_doorbell, name="wieweet-outbox-doorbell", daemon=True)
        self.needs = needs
        self.needs_interval = needs_interval_seconds
        self.stopped: str | None = None  # why the jobs stopped for good (``_schema_current``)
        self.channel_privacy = channel_privacy
        self.after_channel_private = after_channel_private  # e.g. proposals quoting what turned private, updated
        self._reconciled_on: str | None = None  # the UTC day this process last saw the channel reconcile claimed
        # the posts of proposals recorded as quoting what was withdrawn or made private, rendered again (any process)
        self.refresh_proposals = refresh_proposals
        self.recheck_marks = recheck_marks  # accounts recently marked away as deactivated, asked about once

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> JobRunner:
        self.scheduler.add_job(
            self.run_pass,
            "interval",
            seconds=self.interval,
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        if self.services.knowledge.embedder is not None:  # the meaning-based signal: vectors in the background
            self.scheduler.add_job(
                self.embed_documents,
                "interval",
                seconds=EMBED_INTERVAL_SECONDS,
                id=EMBED_JOB_ID,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=datetime.now(UTC),
            )
        if self.needs is not None:  # knowledge needs: topics and proposed work sessions
            self.scheduler.add_job(
                lambda: self._guarded("needs", self.run_needs_pass),
                "interval",
                seconds=self.needs_interval,
                id=NEEDS_JOB_ID,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        # their own jobs: a long paced run never holds up timers and the outbox
        for job_id, what, work, wanted in (
            (CHANNEL_PRIVACY_JOB_ID, "channel privacy", self.reconcile_channel_privacy, self.channel_privacy),
            (DIGEST_JOB_ID, "digests", self.send_digests, self.digests),
        ):
            if wanted is not None:
                self.scheduler.add_job(
                    lambda what=what, work=work: self._guarded(what, work),
                    "interval",
                    seconds=self.interval,
                    id=job_id,
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=None,
                )
        self.scheduler.start()
        self._doorbell.start()
        self.kick()  # whatever was left unsent by an earlier run goes out now
        log.info("jobs started: every %.1fs, worker %s", self.interval, self.worker_id)
        return self

    def shutdown(self) -> None:
        self.services.outbox.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def _answer_doorbell(self) -> None:
        while self.services.outbox.wait():
            self.kick()

    def kick(self) -> None:
        """Send the outbox soon, in the scheduler's threads (never in the request's)."""
        with self._state_lock:
            if self._kick_pending:
                return  # a kicked pass that has not started yet will pick these messages up too
            self._kick_pending = True
        try:
            self.scheduler.add_job(self._kicked, misfire_grace_time=None)
        except Exception:  # the scheduler is shutting down: the next start sends them
            with self._state_lock:
                self._kick_pending = False
            log.warning("could not schedule an outbox pass", exc_info=True)

    # --- the work -------------------------------------------------------------------------------------------

    def _kicked(self) -> None:
        with self._state_lock:
            self._kick_pending = False  # first: a pass skipped below must not keep later kicks from being scheduled
        self._send_kicked()

    @on_its_own(None)
    def _send_kicked(self) -> None:
        """The outbox pass a kick asked for: a job of its own, so it checks the schema itself (``on_its_own``)."""
        self._guarded("outbox", self.send_outbox)

    def _schema_current(self) -> bool:
        """Whether the database is still at the schema revision this code runs. Another replica (or ``wieweet db
        upgrade``) may move it while this process runs: then the jobs stop for good (an error in the log, no more
        passes; ``/healthz`` fails too) until the process is replaced by one running the new code. No revision or an
        older one (halfway through a restore) skips this pass only. A check that fails (the database is down) stops
        nothing: the passes fail and are logged as usual."""
        if self.stopped is not None:
            return False
        check = self.services.db.schema_verdict()
        check.report(
            log, waits="jobs wait, worker %s: %s", stops="jobs stopped, worker %s: %s", worker_id=self.worker_id
        )
        if check.verdict is SchemaVerdict.NEWER:
            self.stopped = check.moved
            if self.scheduler.running:
                self.scheduler.pause()
        return check.verdict.works

    def run_pass(self) -> None:
        if not self._schema_current():
            return
        self._guarded("index", self.services.knowledge.sync)  # register changes made by other replicas
        self._guarded("consent", self.request_confirmations)
        self._guarded("timers", self.run_timers)
        self._guarded("held", self.route_held)
        self._guarded("outbox", self.send_outbox)
        if self.refresh_proposals is not None:
            self._guarded("proposal posts", self.refresh_proposals)
        if self.recheck_marks is not None:
            self._guarded("marked away", self.recheck_marks)
        self._guarded("retention", self.purge_expired_data)
        self._guarded("gap keys", self.rebuild_gap_keys)

    @on_its_own(None)
    def embed_documents(self) -> None:
        """Give experts and practices their vectors (stored ones first, else computed for a bounded time), in the
        scheduler's own thread: never in a request, an import or ``make demo``."""
        knowledge = self.services.knowledge
        self._guarded(
            "embeddings",
            lambda: knowledge.embed_pending(budget_seconds=EMBED_BUDGET_SECONDS, now=self.services.clock()),
        )

    @on_its_own(None)
    def run_needs_pass(self) -> NeedsPassResult | None:
        """One knowledge-needs pass at the injected time (``bot.needs.jobs``): new questions and gaps placed in
        topics, proposals claimed and queued; the proposals go out at once. None when needs are not grouped here,
        or while the database is not at this code's schema (``on_its_own``)."""
        if self.needs is None:
            return None
        result = self.needs.run(self.services.clock())
        if result.proposals:
            self.send_outbox()
        return result

    def purge_expired_data(self) -> dict[str, int] | None:
        """The daily retention purge: once per UTC day over all processes (claimed in the database)."""
        now = self.services.clock()
        day = now.date().isoformat()
        if self._purged_on == day:
            return None
        pending = list_pending_requests(self.services.db)  # read first: their marks stay
        with self.services.db.session() as session:
            claimed = claim_day(session, kind=PURGE_KIND, now=now)
            counts = (
                purge_expired(session=session, now=now, pending=pending, policy=self.retention) if claimed else None
            )
            if counts is not None and any(counts.values()):  # audited as the manual purge is, when something went
                record_purge(session, actor=Actor.system(), counts=counts, now=now)
        # Reached only when committed: a failed purge rolls its claim back and the next pass tries again.
        self._purged_on = day
        if counts is None:
            return None
        # the inbox (which may be a file of its own) only once the day's purge is committed, with an audit entry of
        # its own: a deletion there is never left unaudited by a rollback of the rest (a failure here: tomorrow's run)
        inbox_requests = purge_inbox(self.services.db, now=now, policy=self.retention)
        if inbox_requests:
            with self.services.db.session() as session:
                record_purge(session, actor=Actor.system(), counts={"inbox_requests": inbox_requests}, now=now)
        counts["inbox_requests"] = inbox_requests
        log.info("retention purge %s: %s", day, " ".join(f"{k}={v}" for k, v in counts.items()))
        return counts

    @on_its_own(None)
    def reconcile_channel_privacy(self) -> ReconcileResult | None:
        """Once per UTC day over all processes: channels still holding public questions or gaps are looked up and
        the ones private now marked (``bot.privacy.reconcile_channel_privacy``). The day is claimed (committed)
        before the paced run, renewed while it goes and marked done at its end: a run that stops halfway (a crash,
        a failure) leaves what it marked, and a later pass of any process takes the day over once the claim is
        ``DAY_RUN_STALE``, asking again about every channel still public; after ``DAY_RUN_ATTEMPTS`` attempts
        refused for good (``LookupRefused``: a bad token, a missing scope) the day is marked done, logged once at
        ERROR, and staff are told once that day (``ChannelCheckFailed``); a network failure or an outage is not
        counted. What quotes the marked items (``after_channel_private``) and failed to be updated was recorded with
        the change: the interval pass of any process updates it (``refresh_proposals``). None when not configured,
        done today, run by another process, or while the database is not at this code's schema (``on_its_own``)."""
        if self.channel_privacy is None:
            return None
        now = self.services.clock()
        day = now.date().isoformat()
        if self._reconciled_on == day:
            return None
        run = claim_day_run(self.services.db, kind=CHANNEL_PRIVACY_KIND, clock=self.services.clock)
        if not isinstance(run, DayRun):
            if run == DONE:
                self._reconciled_on = day
            return None  # held: another process runs it; taken over by a later pass if it stops halfway
        try:
            result = reconcile_channel_privacy(
                self.services.db,
                lookup=self.channel_privacy,
                now=now,
                after_marked=self.after_channel_private,
                keep_claim=run.keep,
            )
        except LookupRefused as exc:
            failures = run.failed()
            if failures < DAY_RUN_ATTEMPTS:  # taken over by a later pass once the claim is stale
                log.warning("channel privacy %s: attempt %d refused", day, failures, exc_info=True)
                return None
            # staff told once a day (the triage channel, else DMs), queued before the day is given up: a notice that
            # could not be queued leaves the day to a later pass (the day's dedupe key keeps it one notice)
            with self.services.db.session() as session:
                notice = ChannelCheckFailed(day=day, attempts=failures, error=str(exc)[:200])
                enqueue(session, notice, dedupe_key=f"channel_check_failed:{day}", now=now)
            run.done()
            self._reconciled_on = day
            log.error("channel privacy %s: %d attempts failed, tried again tomorrow", day, failures, exc_info=True)
            return None
        except Exception:  # a network failure, an outage: not counted, a later pass takes the day over once stale
            log.warning("channel privacy %s: the run failed, taken over later", day, exc_info=True)
            return None
        run.done()
        self._reconciled_on = day
        log.info(
            "channel privacy %s: checked=%s private=%s marked=%s unknown=%s unrefreshed=%s",
            day,
            result.checked,
            result.private_channels,
            result.marked,
            result.unknown,
            len(result.unrefreshed),
        )
        return result

    def rebuild_gap_keys(self) -> int | None:
        """Once per UTC day over all processes (claimed in the database, as the purge): knowledge gaps' grouping
        keys recomputed with today's analysis (``bot.knowledge.gap_keys``; only changed keys are written). None
        when done today already, here or by another process."""
        now = self.services.clock()
        day = now.date().isoformat()
        if self._rekeyed_on == day:
            return None
        with self.services.db.session() as session:  # committed first: a rebuild that fails is tried again
            # tomorrow, not every pass; a deploy with a changed analysis claims a day of its own
            claimed = claim_day(session, kind=f"{GAP_KEYS_KIND}:{analysis_version()}", now=now)
        self._rekeyed_on = day
        return rebuild_gap_keys(self.services.db, self.services.knowledge, now=now) if claimed else None

    def request_confirmations(self) -> int:
        """Queue confirm-your-listing DMs: imported experts not confirmed yet, and those due for re-confirmation."""
        with self.services.db.session() as session:
            queued = consent.request_confirmations(
                session,
                now=self.services.clock(),
                reconfirm_days=self.services.settings.reconfirm_days,
                tz=ZoneInfo(self.services.settings.timezone),
            )
        if queued:
            log.info("consent requests queued=%s", queued)
        return queued

    @on_its_own(0)
    def send_digests(self) -> int:
        """Weekly digests that are due (also catching up on this week's missed slot after a restart). Like the main
        pass, none while the database is not at this code's schema (``on_its_own``)."""
        assert self.digests is not None
        try:
            results = self.digests(self.services.clock(), self.worker_id)
        except ServiceUnreachableError as exc:  # the pass stopped: one line, the due digests go out next pass
            log.warning("digests: %s; the digests due are tried again next pass", shown_text(str(exc), 500))
            results = exc.results
        for result in results:
            log.info("digest %s", result)
        return len(results)

    def _guarded(self, what: str, work: Callable[[], object]) -> None:
        if self.stopped is not None:  # old code on a newer schema: nothing more (``_schema_current``)
            return
        ref = uuid.uuid4().hex[:12]
        try:
            work()
        except Exception:  # logged with a reference, never swallowed silently; the next pass runs as usual
            log.exception("job %s failed ref=%s worker=%s", what, ref, self.worker_id)

    def run_timers(self) -> PassResult:
        run = run_due_timers(
            self.services.db,
            now=self.services.clock(),
            worker_id=self.worker_id,
            handler=self.routing.handle_timer,
            kinds=self.routing.timer_kinds,
            policy=self.routing.policy,
        )
        if run.claimed:
            log.info(
                "timers claimed=%s done=%s failed=%s lost=%s",
                len(run.claimed),
                len(run.done),
                len(run.failed),
                len(run.lost),
            )
        return PassResult(timers_done=len(run.done), timers_failed=len(run.failed))

    def route_held(self) -> int:
        """Route the questions held back while their asker had enough with experts, now that they have room (each
        in its own transaction: the asker's lock is held for that question only; one failing is logged and stays
        held, the others go on)."""
        routed = self.routing.route_held_each(self.services.db.session, now=self.services.clock())
        if routed:
            log.info("held questions routed: %s", len(routed))
        return len(routed)

    def send_outbox(self) -> PassResult:
        with self._outbox_lock:
            claimed = sent = failed = ended = lost = 0
            while True:  # until nothing is left (a batch at a time)
                batch = self.sender.send_pending(worker_id=self.worker_id)
                claimed, sent, failed = claimed + batch.claimed, sent + batch.sent, failed + batch.failed
                ended, lost = ended + batch.ended, lost + batch.lost
                if batch.claimed == 0 or batch.claimed < self.sender.batch_size:
                    break
            if claimed:
                log.info("outbox claimed=%s sent=%s failed=%s ended=%s lost=%s", claimed, sent, failed, ended, lost)
            return PassResult(sent=sent, failed=failed, ended=ended, lost=lost)
