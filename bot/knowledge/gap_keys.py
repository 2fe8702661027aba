"""A knowledge gap's stored grouping key (``KnowledgeGap.normalized``): its query's analysed terms, sorted.

The analysis changes over time — a new release's stemming or stop words, and the register itself (typos are
repaired against its vocabulary, places it knows are taken out) — so a key stored months ago may differ from the
one the same question gets today, and old and new gaps of one question would be grouped and counted apart
(``storage.models.gap_key``) until the old ones aged out. ``rebuild_gap_keys`` recomputes the keys of the gaps
that are still counted (``GAP_KEY_WINDOW``) from their stored query and writes the ones that changed; the job
runner calls it once a day, in one of the processes sharing the database (the day is claimed there,
``bot.jobs.claim_day``); it writes only what differs, so a second run changes nothing.

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import QueryError
from storage import question_repo
from storage.db import Database

if TYPE_CHECKING:
    from bot.knowledge.index import KnowledgeBase

log = logging.getLogger("bot.knowledge")

GAP_KEY_WINDOW = timedelta(days=400)  # the longest period any figure counts gaps over (a year), and some margin
KEY_CHARS = 500  # the column's size
_BATCH = 500


def key_of_terms(terms: Iterable[str], query: str) -> str:
    """The stored key of a gap whose query ``query`` was analysed into ``terms``: the terms, sorted (the folded
    query when it has none)."""
    key = " ".join(sorted(set(terms))) or query.casefold()
    return unicodedata.normalize("NFC", key)[:KEY_CHARS]


def current_gap_key(knowledge: KnowledgeBase, query: str) -> str:
    """The key a gap of ``query`` gets from today's analysis (as a search of it would store it)."""
    from bot.knowledge.index import searchable_start  # noqa: PLC0415 (index imports this module)

    text = searchable_start(query)
    try:
        terms: Iterable[str] = knowledge.analyse(text).terms
    except QueryError:
        terms = ()
    return key_of_terms(terms, text)


def rebuild_gap_keys(
    db: Database, knowledge: KnowledgeBase, *, now: datetime, window: timedelta = GAP_KEY_WINDOW
) -> int:
    """Recompute the keys of the gaps recorded since ``now - window``; write those that differ (one transaction
    per batch). How many were written."""
    written, after = 0, 0
    while True:
        with db.session() as session:
            rows = question_repo.list_knowledge_gap_keys(session, since=now - window, after_id=after, limit=_BATCH)
            if not rows:
                break
            stale = {gid: key for gid, query, stored in rows if (key := current_gap_key(knowledge, query)) != stored}
            if stale:
                question_repo.update_knowledge_gap_keys(session, keys=stale)
            written += len(stale)
            after = rows[-1][0]
    if written:
        log.info("knowledge gap keys rebuilt: %s", written)
    return written
