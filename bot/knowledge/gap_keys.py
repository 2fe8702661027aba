"""A knowledge gap's stored grouping key (``KnowledgeGap.normalized``): its query's analysed terms, sorted.

The analysis changes over time — a new release's stemming or stop words, and the register itself (typos are repaired
against its vocabulary, places it knows are taken out) — so a key stored months ago may differ from the one the same
question gets today, and old and new gaps of one question would be grouped and counted apart
(``storage.models.gap_key``) until the old ones aged out. ``rebuild_gap_keys`` recomputes the keys of the gaps that
are still counted (``GAP_KEY_WINDOW``) from their stored query and writes the ones that changed; the job runner
calls it once a day, in one of the processes sharing the database (the day is claimed there,
``bot.day_claims.claim_day``, together with ``analysis_version``: after a deploy that changed the analysis code or
its word lists the new code rebuilds the same day, even when an old process claimed it); it writes only what
differs, so a second run changes nothing. In a rolling deploy an old process may still claim its own analysis's day
after the new release rebuilt the keys: every batch first records which release writes (``analysis_release``, a
number that only grows: the schema revision, ``ANALYSIS_GENERATION``, then the package version), under a lock, and a
release older than the one recorded writes nothing (logged). A release that changes the analysis needs neither a
migration nor a new package version: it raises ``ANALYSIS_GENERATION`` (a test pins ``analysis_version`` to it).

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import QueryError
from storage import question_repo
from storage.db import Database, head_revision
from storage.session import Session

if TYPE_CHECKING:
    from bot.knowledge.index import KnowledgeBase

log = logging.getLogger("bot.knowledge")

GAP_KEY_WINDOW = timedelta(days=400)  # the longest period any figure counts gaps over (a year), and some margin
KEY_CHARS = 500  # the column's size
_BATCH = 500
# Raised whenever ``analysis_version`` changes (tests/digests/test_gap_key.py pins the fingerprint to it): part of
# ``analysis_release``, so an analysis-only release is newer than the one before it.
ANALYSIS_GENERATION = 21


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


@functools.cache
def analysis_release() -> tuple[int, ...]:
    """This code's release as numbers that only grow from one release to the next: the schema revision's number,
    ``ANALYSIS_GENERATION``, then the package version's (``0021_…``, 1 and 0.1.0: (21, 1, 0, 1, 0))."""
    head = head_revision() or ""
    prefix = head.split("_", 1)[0]
    return (int(prefix) if prefix.isdigit() else 0, ANALYSIS_GENERATION, *_numbers(package_version("wieweet")))


def _numbers(text: str, most: int = 4) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:most])


def _release_of(recorded: str) -> tuple[int, ...]:
    """The release recorded with the keys (``"21.1.0.1.0 <analysis>"``; () when none). A release before the
    generation recorded ``"20.0.1.0 …"``: a lower second number, so older than any with a generation."""
    return _numbers(recorded.split(" ", 1)[0], most=8)


def newer_writer(session: Session, *, now: datetime, release: tuple[int, ...] | None = None) -> str | None:
    """Decide, under the lock of the record of who wrote the gaps' keys, whether this release may write them: None
    (recorded as the writer now, until the transaction ends no other decides) or the newer release recorded."""
    release = analysis_release() if release is None else release
    writer = question_repo.claim_gap_keys_writer(session, now=now)
    if _release_of(writer.kind) > release:
        return writer.kind
    writer.kind = f"{'.'.join(map(str, release))} {analysis_version()}"[:40]
    writer.received_at = now
    return None


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
    db: Database,
    knowledge: KnowledgeBase,
    *,
    now: datetime,
    window: timedelta = GAP_KEY_WINDOW,
    release: tuple[int, ...] | None = None,
) -> int:
    """Recompute the keys of the gaps recorded since ``now - window``; write those that differ (one transaction
    per batch). How many were written. Each batch first checks that no newer release wrote the keys
    (``newer_writer``): an older one stops there and logs it."""
    written, after = 0, 0
    while True:
        with db.session() as session:
            newer = newer_writer(session, now=now, release=release)
            if newer is not None:
                log.warning("knowledge gap keys not rebuilt: a newer release (%s) wrote them; this is older", newer)
                break
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
