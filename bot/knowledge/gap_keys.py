"""A knowledge gap's stored grouping key (``KnowledgeGap.normalized``): its query's analysed terms, sorted.

The analysis changes over time — a new release's stemming or stop words, and the register itself (typos are
repaired against its vocabulary, places it knows are taken out) — so a key stored months ago may differ from the
one the same question gets today, and old and new gaps of one question would be grouped and counted apart
(``storage.models.gap_key``) until the old ones aged out. ``rebuild_gap_keys`` recomputes the keys of the gaps
that are still counted (``GAP_KEY_WINDOW``) from their stored query and writes the ones that changed; the job
runner calls it once a day, in one of the processes sharing the database (the day is claimed there,
``bot.jobs.claim_day``, together with ``analysis_version``: after a deploy that changed the analysis code or its
word lists the new code rebuilds the same day, even when an old process claimed it); it writes only what differs,
so a second run changes nothing.

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
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


@functools.cache
def analysis_version() -> str:
    """A short fingerprint of the code and word lists a gap's key is computed with (the matching package, its data,
    the query's searchable start and this module): differs after a deploy that may key a question differently."""
    root = Path(__file__).resolve().parent
    files = sorted((root.parent / "matching").rglob("*.py")) + sorted((root.parent / "matching" / "data").glob("*"))
    digest = hashlib.sha256()
    for path in [*files, root / "index.py", root / "gap_keys.py"]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


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
