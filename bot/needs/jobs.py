"""The knowledge-needs pass: the background work of grouping questions into topics and proposing work sessions.

``run_needs_pass`` is one pass; the job runner calls it every ``NEEDS_INTERVAL_SECONDS`` or so (each pass is cheap
when nothing is new). A pass

1. computes the meaning vectors of questions and gaps that are not in a topic yet (``bot.needs.meaning``; for at
   most ``budget_seconds``, outside any transaction: vectors are stored in their own short transactions, and a
   vector another process stored meanwhile is kept);
2. places the new questions and gaps (``NeedsService.update_topics``) in a unit of work of its own, committed,
   when no other process is grouping (the grouping lock ``needs_repo.claim_needs_lock``: an advisory lock on
   PostgreSQL, the database's write lock on SQLite; taken without waiting: when another process holds it, this
   pass skips steps 2 to 4, ``ran=False``);
3. claims a proposal for every topic that reached the threshold and queues it for the triage channel
   (``propose_due``: at most one live proposal per topic whatever the number of processes), ``PROPOSALS_PER_UNIT``
   topics per unit of work (in topic order), each committed (``propose_in_units``); when another process holds the
   lock at the start of a unit, the pass stops proposing there (logged): what it claimed is kept and sent, the
   topics left wait for the next pass;
4. every few hours, once nothing waits for a vector, deletes the vectors of question texts no question or gap has
   any more, in a last one (skipped until a later pass when the lock is held then).

Each unit takes the grouping lock again at its start, without waiting (never in the job thread: on SQLite a wait
ends in "database is locked" after the busy timeout, on PostgreSQL it lasts as long as the holder), before its first
read, and reads what it needs afresh: so on SQLite, where that lock is the whole database's write lock, other
writers (a Slack click, an erasure, a question recorded) commit between the units instead of waiting for the whole
pass, and whatever they committed counts for the next unit — a question erased or closed, or a proposal dismissed,
after the grouping is neither counted nor quoted by the proposals; a vector is purged only when no text read under
that unit's lock needs it. Releasing the lock between the units is safe: the grouping's work is committed and
complete (the placements and the run's ``need_fits`` state; ``bot.needs.state``), the next grouping (of any process)
starts from what is stored, and a proposal is claimed once per topic by the database itself (a unique index on the
live proposal's topic), so another process's pass taking the lock between two units at worst groups or proposes what
this one would have.

With several replicas, passes may overlap: a pass whose grouping finds the lock held skips steps 2 to 4
(``ran=False``); since the lock is given back between the units, two passes may also each group and propose in
turn, their units interleaved (each unit reads afresh, and a topic is claimed once: the other's claim is skipped);
step 1 may embed a text twice at worst (the first stored vector is kept). Nothing here sleeps: time is injected
(``now``), so tests run passes back to back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from bot.needs.meaning import EmbedReport
from bot.needs.model import ProposalView
from bot.needs.proposals import Proposed
from bot.needs.service import NeedsService
from storage import embedding_repo
from storage import needs_repo as repo
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, bound_lock_wait, is_lock_error, is_lock_timeout

log = logging.getLogger("wieweet.needs")

NEEDS_INTERVAL_SECONDS = 300.0  # how often the job runner should run a pass
EMBED_BUDGET_SECONDS = 10.0  # the most one pass spends computing vectors before it groups
PROPOSALS_PER_UNIT = 20  # proposals claimed (and their posts rendered) per unit of work of the pass
# how long ``wieweet needs proposals --propose`` waits for the grouping lock on PostgreSQL (``lock_timeout``), as a
# SQLite statement waits for the write lock (its busy timeout); then it says the database stayed busy
PROPOSE_LOCK_WAIT_MS = SQLITE_BUSY_TIMEOUT_MS
PURGE_EVERY = timedelta(hours=6)
PURGE_GRACE = timedelta(days=1)  # a vector stored less than this long ago is kept (its question may be on its way)


@dataclass(frozen=True, slots=True)
class NeedsPassResult:
    ran: bool  # False: another process held the grouping lock; this pass only computed vectors
    embedded: int = 0  # question vectors computed now
    waiting: int = 0  # questions and gaps still waiting for their vector (the next pass goes on)
    placed: int = 0  # questions and gaps placed in topics
    new_topics: int = 0
    proposals: tuple[int, ...] = ()  # ids of the proposals claimed and queued by this pass
    purged: int = 0  # question vectors deleted (texts gone)


class NeedsPass:
    """Runs passes for one process (remembers when it last purged)."""

    def __init__(
        self,
        db: Database,
        service: NeedsService,
        *,
        worker_id: str,
        budget_seconds: float = EMBED_BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.service = service
        self.worker_id = worker_id
        self.budget_seconds = budget_seconds
        self.clock = clock
        self._purged_at: datetime | None = None

    def __call__(self, now: datetime) -> NeedsPassResult:
        return self.run(now)

    def run(self, now: datetime) -> NeedsPassResult:
        with self.service.erasures_followed():  # an erasure followed meanwhile: what it refilled goes at the end
            return self._run(now)

    def _run(self, now: datetime) -> NeedsPassResult:
        embedded, waiting = self._embed()
        with self.db.session() as session:  # the grouping: committed before the proposals are counted
            update = self.service.update_topics(session, now=now, wait=False)
        if update.busy:
            return NeedsPassResult(ran=False, embedded=embedded, waiting=waiting)
        proposals = propose_in_units(self.db, self.service, now=now, worker_id=self.worker_id).views
        purged = self._purge(now) if update.waiting == 0 else 0
        result = NeedsPassResult(
            ran=True,
            embedded=embedded,
            waiting=update.waiting,
            placed=update.placed,
            new_topics=update.new_topics,
            proposals=tuple(p.id for p in proposals),
            purged=purged,
        )
        if result.embedded or result.placed or result.proposals or result.purged:
            log.info(
                "needs pass: embedded=%s waiting=%s placed=%s new_topics=%s proposals=%s purged=%s",
                result.embedded,
                result.waiting,
                result.placed,
                result.new_topics,
                len(result.proposals),
                result.purged,
            )
        return result

    def _embed(self) -> tuple[int, int]:
        report = embed_pending(self.db, self.service, budget_seconds=self.budget_seconds, clock=self.clock)
        return report.embedded, report.missing

    def _purge(self, now: datetime) -> int:
        """Delete the unused question vectors (every ``PURGE_EVERY``) in a unit of work of its own, under the
        grouping lock taken without waiting (held elsewhere: a later pass purges)."""
        meaning = self.service.meaning
        if meaning is None or (self._purged_at is not None and now - self._purged_at < PURGE_EVERY):
            return 0
        with self.db.session() as session:
            if not repo.claim_needs_lock(session, wait=False):
                return 0
            keep = {meaning.key(source.text) for source in repo.list_need_sources(session)}
            gone = embedding_repo.delete_unused_embeddings(
                session, model=meaning.model_id, keep=keep, before=now - PURGE_GRACE
            )
        self._purged_at = now
        return gone


@dataclass(frozen=True, slots=True)
class ProposedInUnits:
    """What ``propose_in_units`` claimed and queued, and whether it stopped before the last topic due."""

    views: list[ProposalView]
    stopped: bool = False  # a unit found the grouping lock held elsewhere: the topics left wait for a later run


def propose_in_units(
    db: Database, service: NeedsService, *, now: datetime, worker_id: str, wait: bool = False
) -> ProposedInUnits:
    """Claim and queue the proposals of every topic at the threshold (``NeedsService.propose_due``), at most
    ``PROPOSALS_PER_UNIT`` per unit of work, each committed: each takes the grouping lock again and reads afresh
    which topics are due (the topics before the last one done are not looked at again).

    ``wait=False`` (the needs pass): a unit takes the lock without waiting, as the grouping and the purge do. When
    another process holds it (its grouping, an import, on SQLite any writer), the units stop there: what the units
    before claimed is committed and kept (and queued), the topics left wait for the next pass (``stopped``, logged).
    ``wait=True`` (``wieweet needs proposals --propose``): a unit waits for the lock, as the command's grouping
    does, for a bounded time: a wait past SQLite's busy timeout ("database is locked") or PostgreSQL's
    ``PROPOSE_LOCK_WAIT_MS`` (``lock_timeout``, SQLSTATE 55P03) stops the units the same way."""
    proposals: list[ProposalView] = []
    next_topic: int | None = 0
    while next_topic is not None:
        try:
            with db.session() as session:
                if wait:
                    bound_lock_wait(session, PROPOSE_LOCK_WAIT_MS)
                proposed = service.propose_due(
                    session,
                    now=now,
                    worker_id=worker_id,
                    from_topic=next_topic,
                    limit=PROPOSALS_PER_UNIT,
                    wait=wait,
                )
        except OperationalError as error:
            if not (is_lock_error(error) or (wait and is_lock_timeout(error))):
                raise
            proposed = Proposed([], next_topic, busy=True)
        if proposed.busy:
            log.info(
                "needs proposals: the grouping lock is held by another process; %s proposed, the topics left "
                "wait for a later run",
                len(proposals),
            )
            return ProposedInUnits(proposals, stopped=True)
        proposals.extend(proposed.views)
        next_topic = proposed.next_topic
    return ProposedInUnits(proposals)


def group_and_propose(db: Database, service: NeedsService, *, now: datetime, worker_id: str) -> ProposedInUnits:
    """``wieweet needs proposals --propose``: place the new questions in a unit of work of its own, committed, then
    ``propose_in_units`` waiting for the lock. Each waits for the grouping lock a bounded time (SQLite's busy timeout,
    PostgreSQL's ``PROPOSE_LOCK_WAIT_MS``), never for as long as another process's grouping holds it: a grouping
    that waited past it proposes nothing (``stopped``, logged), as a proposal unit that did."""
    try:
        with db.session() as grouping:
            bound_lock_wait(grouping, PROPOSE_LOCK_WAIT_MS)
            service.update_topics(grouping, now=now)
    except OperationalError as error:
        if not (is_lock_error(error) or is_lock_timeout(error)):
            raise
        log.info("needs proposals: the grouping lock is held by another process; nothing grouped or proposed")
        return ProposedInUnits([], stopped=True)
    return propose_in_units(db, service, now=now, worker_id=worker_id, wait=True)


def embed_pending(
    db: Database,
    service: NeedsService,
    *,
    budget_seconds: float = EMBED_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> EmbedReport:
    """Compute the meaning vectors of the questions and gaps not in a topic yet (oldest first, for at most
    ``budget_seconds``; nothing when the service groups by words). When the embedder fails, the service groups by
    words from then on (logged) rather than let questions wait for ever."""
    meaning = service.meaning
    if meaning is None:
        return EmbedReport(0, 0)
    with db.session() as session:
        texts = repo.list_unplaced_need_texts(session)
    if not texts:
        return EmbedReport(0, 0)
    try:
        return meaning.embed_missing(texts, budget_seconds=budget_seconds, clock=clock)
    except Exception as exc:  # the model cannot run here
        log.exception("knowledge needs: computing question vectors failed")
        service.words_only(f"{type(exc).__name__}: {exc}")
        return EmbedReport(0, 0)


def run_needs_pass(
    db: Database,
    *,
    service: NeedsService,
    now: datetime,
    worker_id: str,
    budget_seconds: float = EMBED_BUDGET_SECONDS,
) -> NeedsPassResult:
    """One needs pass (see the module docstring) with a fresh ``NeedsPass``: it purges unused question vectors
    whenever nothing waits. A job runner that runs passes often keeps one ``NeedsPass`` instead (purges every
    ``PURGE_EVERY``)."""
    return NeedsPass(db, service, worker_id=worker_id, budget_seconds=budget_seconds).run(now)
