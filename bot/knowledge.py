"""The "who knows" service: one in-memory index per process, kept in step with the database.

``KnowledgeBase`` builds the matcher from the database once, then follows every committed change to experts,
practices, themes and answered questions made through this process's sessions (SQLAlchemy session events), so
the index is never rebuilt per query. ``ask`` is what the CLI, the console and Slack all call.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from bot.matching import loader
from bot.matching.config import MatchConfig
from bot.matching.engine import Matcher
from bot.matching.query import ParsedQuery
from bot.matching.results import SearchResult
from storage.db import Database
from storage.models import Answer, Expert, KnowledgeGap, Practice, Question, SearchLog, Theme

log = logging.getLogger(__name__)

_PENDING_KEY = "wieweet_index_changes"
SYNC_OVERLAP = timedelta(minutes=2)
# what ``sync`` follows: refresh kind, table, index kind
_SYNCED: tuple[tuple[str, type[Expert] | type[Practice] | type[Question], str], ...] = (
    ("expert", Expert, "expert"),
    ("practice", Practice, "practice"),
    ("question", Question, "answer"),
)


def _latest_change(session: Session) -> datetime | None:
    stamps = [session.scalar(select(func.max(m.updated_at))) for m in (Expert, Practice, Question, Theme)]
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


@dataclass(frozen=True, slots=True)
class AskOutcome:
    result: SearchResult
    search_log_id: int
    gap_id: int | None


class KnowledgeBase:
    """The process's matcher plus the glue that keeps it current."""

    def __init__(self, database: Database, *, timezone: str = "Europe/Brussels", reconfirm_days: int = 182) -> None:
        self.database = database
        self.timezone = ZoneInfo(timezone)
        self.reconfirm_days = reconfirm_days  # Settings.reconfirm_days: older profiles rank lower (stale)
        self._lock = threading.RLock()
        self.matcher: Matcher | None = None
        self._listening = False
        self._watermark: datetime | None = None  # the newest updated_at the index has followed (``sync``)

    # --- building and following changes -------------------------------------------------------------------

    def load(self) -> Matcher:
        with self.database.session() as session:
            watermark = _latest_change(session)  # before reading: what changes during the build is re-read later
            matcher = Matcher(
                themes=loader.load_themes(session),
                places=loader.load_places(session),
                config=MatchConfig(reconfirm_days=self.reconfirm_days),
            )
            matcher.build(
                experts=loader.iter_experts(session),
                practices=loader.iter_practices(session),
                answers=loader.iter_answers(session),
            )
        with self._lock:
            self.matcher = matcher
            self._watermark = watermark
        if not self._listening:
            event.listen(self.database.sessions, "after_flush", self._collect_changes)
            event.listen(self.database.sessions, "after_commit", self._apply_changes)
            event.listen(self.database.sessions, "after_rollback", self._forget_changes)
            self._listening = True
        return matcher

    def close(self) -> None:
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

    def _forget_changes(self, session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)

    def _apply_changes(self, session: Session) -> None:
        pending: set[tuple[str, int]] | None = session.info.pop(_PENDING_KEY, None)
        if pending:
            self.refresh(pending)

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
            since = self._watermark - SYNC_OVERLAP if self._watermark is not None else None
            latest = self._watermark
            for kind, model, indexed in _SYNCED:
                query = select(model.id, model.updated_at)
                if since is not None:
                    query = query.where(model.updated_at >= since)
                for ident, updated in session.execute(query):
                    changes.add((kind, int(ident)))
                    latest = updated if latest is None or updated > latest else latest
                present = set(session.scalars(select(model.id)))
                changes.update((kind, ident) for ident in set(matcher.documents(indexed)) - present)
            theme_query = select(func.max(Theme.updated_at))
            themes_changed = session.scalar(theme_query)
            if themes_changed is not None and (since is None or themes_changed >= since):
                changes.add(("themes", 0))
                latest = themes_changed if latest is None or themes_changed > latest else latest
        self._watermark = latest
        if changes:
            self.refresh(changes)
        return len(changes)

    def refresh(self, changes: Iterable[tuple[str, int]]) -> None:
        """Re-read the given records in a fresh session and update the index incrementally."""
        matcher = self.matcher
        if matcher is None:
            return
        changes = sorted(set(changes))
        with self.database.session() as fresh, self._lock:
            for kind, ident in changes:
                if kind == "themes":
                    matcher.set_themes(loader.load_themes(fresh))
                elif kind == "expert":
                    expert = fresh.get(Expert, ident)
                    if expert is not None and loader.is_expert_searchable(expert):
                        matcher.upsert_expert(loader.expert_doc(expert))
                    else:
                        matcher.remove_expert(ident)
                elif kind == "practice":
                    practice = fresh.get(Practice, ident)
                    if practice is not None and loader.is_practice_searchable(practice):
                        matcher.upsert_practice(loader.practice_doc(practice))
                    else:
                        matcher.remove_practice(ident)
                elif kind == "question":
                    question = fresh.get(Question, ident)
                    doc = loader.answer_doc(question) if question is not None else None
                    if doc is not None:
                        matcher.upsert_answer(doc)
                    else:
                        matcher.remove_answer(ident)
        log.debug("index refreshed: %s", changes)

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
    ) -> AskOutcome:
        """Search, log the result set (for feedback and "more results"), and record a knowledge gap if any.

        Raises ``QueryError`` for input that cannot be searched; nothing is written then.
        """
        result = self.search(query, now=now, limit=limit)
        gap_id: int | None = None
        if result.gap and record_gap:
            gap = KnowledgeGap(
                query=query.strip()[:2000],
                normalized=normalise_gap_query(result),
                themes=list(result.themes),
                asker_slack_id=user_id,
                channel_id=channel_id,
                channel_is_private=channel_is_private,
                source=source,
                created_at=now,
            )
            session.add(gap)
            session.flush()
            gap_id = gap.id
        search_log = SearchLog(
            query=query.strip()[:2000],
            user_slack_id=user_id,
            channel_id=channel_id,
            gap=result.gap,
            results=result_summary(result),
            created_at=now,
        )
        session.add(search_log)
        session.flush()
        return AskOutcome(result=result, search_log_id=search_log.id, gap_id=gap_id)


def normalise_gap_query(result: SearchResult) -> str:
    """A stable grouping key for knowledge gaps: the analysed terms, sorted."""
    key = " ".join(sorted(set(result.terms))) or result.query.casefold()
    return unicodedata.normalize("NFC", key)[:500]


def result_summary(result: SearchResult) -> dict[str, Any]:
    return {
        "experts": [h.doc.id for h in result.experts],
        "practices": [h.doc.id for h in result.practices],
        "answers": [h.doc.id for h in result.answers],
        "themes": list(result.themes),
    }
