"""The meaning-based signal: multilingual-e5-small vectors of experts and practices held in memory
(:class:`SemanticIndex`), and what one question's similarities to them give the ranking.

The vectors are embedded in the background and stored in the database (:mod:`bot.matching.embedding`: the texts, the
embedder, :func:`~bot.matching.embedding.fill`); a document without one is simply ranked lexically.

What the engine takes from it (see ``Matcher.search``):

* ranking: the cosine similarities of one question are turned into z-scores over the collection, and the
  documents more than ``z_floor`` standard deviations above the mean (the ``depth`` closest of them at most) get
  ``weight * (z - z_floor)`` added to their normalised lexical score — paraphrases and other languages find the
  profile that says the same thing;
* the short parts of a document are embedded on their own too (:data:`PART_KIND`: an expert's expertise items, a
  practice's title and tags; one vector per distinct text, shared by every document listing it): a document's
  similarity is ``(1 - part_weight) * cos(whole text) + part_weight * max cos(part)``, so a question that
  paraphrases one of a profile's several topics is not drowned by the rest of the profile;
* honesty: the best expert similarity and its z-score are features of the calibrated gap model
  (:mod:`bot.matching.gapmodel`);
* a per-register scale for that honesty: cosines of e5 lie in a narrow band whose level depends on the register's
  wording (long bios, short items, one language or three), so a raw cosine learnt on one register does not carry to
  another. :func:`fill` also embeds a fixed set of out-of-domain questions (:data:`PROBES_FILE`, stored like the
  documents' vectors) and :meth:`SemanticIndex.calibrate` measures, from the register alone, how close its closest
  document comes to them (mean and spread of the top cosine, whole and part). A question's best cosine is then also
  given relative to that level (``Similarity.top_rel``, ``part_rel``): standard deviations above "nobody here".
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.matching.calibration import Calibration, measure
from bot.matching.embedding import (
    E5_MODEL_ID,
    KINDS,
    PART_KIND,
    PROBE_KIND,
    PROBES_FILE,
    E5Embedder,
    Embedder,
    FillReport,
    VectorStore,
    available,
    content_key,
    content_keys,
    document_parts,
    document_text,
    fill,
    probe_keys,
    probe_texts,
)

# the texts, keys, embedder and fill are named here too, where their callers have always found them
__all__ = [
    "E5_MODEL_ID",
    "KINDS",
    "MIN_PROBES",
    "NO_SIMILARITY",
    "PART_KIND",
    "PROBES_FILE",
    "PROBE_KIND",
    "E5Embedder",
    "Embedder",
    "FillReport",
    "SemanticIndex",
    "Similarity",
    "VectorStore",
    "available",
    "content_key",
    "content_keys",
    "document_parts",
    "document_text",
    "fill",
    "probe_keys",
    "probe_texts",
]

MIN_PROBES = 8  # fewer probe vectors than this: no calibration (the gap model falls back to words alone)


@dataclass(frozen=True, slots=True)
class Similarity:
    """The meaning-based view of one question on one document kind."""

    boosts: dict[int, float]  # document id -> additive boost (documents clearly above this question's mean)
    top: float  # best cosine similarity (0.0 when no document has a vector)
    top_z: float  # its z-score over the collection
    top_id: int | None = None  # the document it belongs to
    top_part: float = 0.0  # the best cosine of any document's part alone (an expertise item, a title or tag)
    # ``top`` and ``top_part`` relative to this register's out-of-domain level (see ``SemanticIndex.calibrate``):
    # (cosine - the probes' mean top cosine) / their spread; ``calibrated`` False while the probes are missing
    top_rel: float = 0.0
    part_rel: float = 0.0
    calibrated: bool = False
    # ``top`` and ``top_part`` placed between this register's "nobody here" level (0: the probes' mean top cosine) and
    # its "someone here" level (1: how close a document's nearest other document of the kind comes, on average)
    top_pos: float = 0.0
    part_pos: float = 0.0
    # the same from the whole texts' cosines alone (no parts mixed in): the best, its z-score, document and position
    whole: float = 0.0
    whole_z: float = 0.0
    whole_id: int | None = None
    whole_pos: float = 0.0


NO_SIMILARITY = Similarity({}, 0.0, 0.0)


class SemanticIndex:
    """Vectors of experts and practices in memory, and the per-question similarities computed from them."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        weight: float = 0.1,
        z_floor: float = 1.0,
        depth: int = 100,
        part_weight: float = 0.3,
    ) -> None:
        self._np = importlib.import_module("numpy")
        self.embedder = embedder
        self.weight = weight
        self.z_floor = z_floor
        self.depth = depth  # only the this many closest documents of a kind get a boost
        # a document's similarity: (1 - part_weight) * its whole text's cosine + part_weight * its best part's
        self.part_weight = part_weight
        # kind -> doc id -> (content key, vector)
        self._vectors: dict[str, dict[int, tuple[str, Any]]] = {k: {} for k in KINDS}
        # The caches searches build are checked, not trusted: the background fill changes the index without the
        # knowledge base's lock (searches go on meanwhile), so a search may finish building a cache from what was
        # there before a change and store it after the change. Each change takes a fresh stamp (``_stamps``: unique,
        # so two changes racing to stamp still leave a stamp no cache was built under); a cache carries the stamp
        # read *before* it was built and is used only while that stamp is current. The part cache carries the very
        # ``ids`` list its rows were built for, and is used only with that list (else its rows are another order).
        self._stamps = itertools.count(1)
        self._stamp: dict[str, int] = dict.fromkeys(KINDS, 0)  # kind -> stamp of its last vector change
        self._part_stamp: dict[str, int] = dict.fromkeys(KINDS, 0)  # kind -> of its last parts or owners change
        # kind -> (stamp, ids, matrix): the vectors as one matrix, rows as ``ids``
        self._matrix: dict[str, tuple[int, list[int], Any] | None] = dict.fromkeys(KINDS)
        # parts: content key -> vector (shared by the documents listing it); kind -> doc id -> its parts' keys
        self._parts: dict[str, Any] = {}
        self._owners: dict[str, dict[int, tuple[str, ...]]] = {k: {} for k in KINDS}
        # per kind, for its matrix's rows: the part matrix, the rows of each document's parts in it (a column per
        # document with parts), those documents' rows and the parts beyond; under the ids and part stamp built for
        self._part_matrix: dict[str, tuple[list[int], int, tuple[Any, Any, Any, Any]] | None] = dict.fromkeys(KINDS)
        # the out-of-domain probes' vectors (content key -> vector) and, per kind, the register's calibration
        # against them (computed by ``calibrate`` in the background fill, never in a search)
        self._probes: dict[str, Any] = {}
        self._calibration: dict[str, Calibration] = {}
        self._calibrated_at: tuple[int, ...] | None = None  # the stamps the calibration was computed under

    def _vectors_changed(self, kind: str) -> None:
        """After a change of ``kind``'s vectors (made before: a search reading the new stamp sees the change)."""
        self._stamp[kind] = next(self._stamps)
        self._matrix[kind] = None
        self._part_matrix[kind] = None

    def _parts_changed(self, kinds: Iterable[str] = KINDS) -> None:
        """After a change of parts (of every kind: parts are shared) or of a kind's owners."""
        for kind in kinds:
            self._part_stamp[kind] = next(self._stamps)
            self._part_matrix[kind] = None

    # --- vectors -------------------------------------------------------------------------------------------
    def encode(self, vec: Any) -> bytes:
        return bytes(self._np.asarray(vec, dtype=self._np.float16).tobytes())

    def decode(self, raw: bytes) -> Any:
        return self._np.frombuffer(raw, dtype=self._np.float16).astype(self._np.float32)

    def put(self, kind: str, doc_id: int, key: str, vec: Any) -> None:
        # kept at the stored precision (vectors are stored as float16): half the memory, the same values (the
        # matrices a search multiplies are float32 copies, built once per change)
        vec16 = self._np.asarray(vec, dtype=self._np.float16)
        if kind == PROBE_KIND:
            self._probes[key] = vec16
            return
        if kind == PART_KIND:
            self._parts[key] = vec16
            self._parts_changed()
            return
        self._vectors[kind][doc_id] = (key, vec16)
        self._vectors_changed(kind)

    def remove(self, kind: str, doc_id: int) -> None:
        if kind not in self._vectors:
            return
        if self._owners[kind].pop(doc_id, None) is not None:
            self._parts_changed((kind,))
        if self._vectors[kind].pop(doc_id, None) is not None:
            self._vectors_changed(kind)

    def has(self, kind: str, doc_id: int, key: str) -> bool:
        if kind == PROBE_KIND:
            return key in self._probes
        if kind == PART_KIND:
            return key in self._parts
        got = self._vectors.get(kind, {}).get(doc_id)
        return got is not None and got[0] == key

    def count(self, kind: str) -> int:
        if kind == PART_KIND:
            return len(self._parts)
        return len(self._vectors.get(kind, {}))

    def wanted(self, documents: Mapping[str, Mapping[int, object]]) -> list[tuple[str, int, str, str]]:
        """(kind, doc id, content key, text) of every document whose current text has no vector here, and of every
        part without one (kind ``PART_KIND``, under the first document listing it); vectors of documents and parts
        no longer present are dropped."""
        out: list[tuple[str, int, str, str]] = []
        for kind in KINDS:
            docs = documents.get(kind, {})
            have = self._vectors[kind]
            for gone in [d for d in have if d not in docs]:
                self.remove(kind, gone)
            for doc_id, doc in docs.items():
                text = document_text(doc)
                if not text:
                    continue
                key = content_key(text)
                got = have.get(doc_id)
                if got is None or got[0] != key:
                    out.append((kind, doc_id, key, text))
        return out + self._wanted_parts(documents)

    def wanted_probes(self) -> list[tuple[str, int, str, str]]:
        """The out-of-domain probes without a vector (text without the "query: " prefix, which the key includes)."""
        return [
            (PROBE_KIND, 0, key, text)
            for key, text in zip(probe_keys(), probe_texts(), strict=True)
            if key not in self._probes
        ]

    def calibrate(self) -> None:
        """Measure each kind of this register against the out-of-domain probes: the mean and spread of the best
        cosine a probe reaches (as a search computes it, parts mixed in) and of the best part cosine. Runs in the
        background fill, after the vectors changed; searches read the last calibration."""
        np = self._np
        stamps = self._calibration_stamps()
        probes = [v for k in probe_keys() if (v := self._probes.get(k)) is not None]
        out: dict[str, Calibration] = {}
        if len(probes) >= MIN_PROBES:
            for kind in KINDS:
                if (snapshot := self._kind_matrix(kind)) is None:
                    continue
                ids, matrix = snapshot

                def mix(cos: Any, q: Any, kind: str = kind, ids: list[int] = ids) -> tuple[Any, float]:
                    return self._with_parts(kind, ids, cos, q) if self.part_weight > 0.0 and self._parts else (cos, 0.0)

                out[kind] = measure(np, probes, matrix, mix)
        self._calibration = out
        self._calibrated_at = stamps

    def calibration(self, kind: str) -> Calibration | None:
        return self._calibration.get(kind)

    def calibration_stale(self) -> bool:
        """True when vectors or probes changed since the last calibration."""
        return self._calibrated_at != self._calibration_stamps()

    def _calibration_stamps(self) -> tuple[int, ...]:
        return (*self._stamp.values(), *self._part_stamp.values(), len(self._probes))

    def _wanted_parts(self, documents: Mapping[str, Mapping[int, object]]) -> list[tuple[str, int, str, str]]:
        """Record each document's parts; the parts without a vector (once each); forget parts no document lists."""
        out: list[tuple[str, int, str, str]] = []
        asked: set[str] = set()
        for kind in KINDS:
            owners: dict[int, tuple[str, ...]] = {}
            for doc_id, doc in documents.get(kind, {}).items():
                texts = document_parts(doc)
                keys = tuple(content_key(t) for t in texts)
                owners[doc_id] = keys
                for key, text in zip(keys, texts, strict=True):
                    if key not in self._parts and key not in asked:
                        asked.add(key)
                        out.append((PART_KIND, doc_id, key, text))
            if owners != self._owners[kind]:
                self._owners[kind] = owners
                self._parts_changed((kind,))
        used = {k for owners in self._owners.values() for keys in owners.values() for k in keys}
        gone = [k for k in self._parts if k not in used]
        for key in gone:
            del self._parts[key]
        if gone:
            self._parts_changed()
        return out

    # --- questions -----------------------------------------------------------------------------------------
    def similarities(self, query: str, kinds: Sequence[str] = KINDS) -> list[Similarity]:
        """:meth:`similarity` for each of ``kinds``, the question embedded once (only if some kind has vectors)."""
        vector = None
        out = []
        for kind in kinds:
            if vector is None and self._kind_matrix(kind) is not None:
                vector = self._np.asarray(self.embedder.query(query), dtype=self._np.float32)
            out.append(self.similarity(kind, query, vector) if vector is not None else NO_SIMILARITY)
        return out

    def similarity(self, kind: str, query: str, vector: Any = None) -> Similarity:
        """Cosines of the question against every vector of ``kind``, as boosts and the best match (``vector``: the
        question's as a float32 array, else embedded here)."""
        snapshot = self._kind_matrix(kind)
        if snapshot is None:
            return NO_SIMILARITY
        ids, matrix = snapshot
        np = self._np
        q = np.asarray(self.embedder.query(query), dtype=np.float32) if vector is None else vector
        cos = matrix @ q
        w_best = int(np.argmax(cos))
        whole = float(cos[w_best])
        whole_z = (whole - float(cos.mean())) / (float(cos.std()) or 1.0)
        top_part = 0.0
        if self.part_weight > 0.0 and self._parts:
            cos, top_part = self._with_parts(kind, ids, cos, q)
        mean = float(cos.mean())
        std = float(cos.std()) or 1.0
        z = (cos - mean) / std
        near = np.flatnonzero(z > self.z_floor)
        if len(near) > self.depth:  # the closest ``depth`` (a boost beyond them is small and costs ranking time)
            near = near[np.argpartition(-z[near], self.depth - 1)[: self.depth]]
        w, floor = self.weight, self.z_floor
        boosts = {ids[i]: w * (x - floor) for i, x in zip(near.tolist(), z[near].tolist(), strict=True)}
        best = int(np.argmax(cos))
        top = float(cos[best])
        w_id = ids[w_best]
        sim = Similarity(boosts, top, float(z[best]), ids[best], top_part, whole=whole, whole_z=whole_z, whole_id=w_id)
        calib = self._calibration.get(kind)
        if calib is None:
            return sim
        return replace(
            sim,
            top_rel=calib.top(top),
            part_rel=calib.part(top_part),
            calibrated=True,
            top_pos=calib.top_pos(top),
            part_pos=calib.part_pos(top_part),
            whole_pos=calib.whole_pos(whole),
        )

    def _kind_matrix(self, kind: str) -> tuple[list[int], Any] | None:
        """The vectors of ``kind`` as one float32 matrix and its rows' ids (cached until they change); None for
        fewer than 3."""
        vectors = self._vectors.get(kind)
        if not vectors or len(vectors) < 3:
            return None
        np = self._np
        cached = self._matrix[kind]
        if cached is None or cached[0] != self._stamp[kind]:
            stamp = self._stamp[kind]  # read before the vectors: a change meanwhile makes this cache stale
            items = list(vectors.items())  # one snapshot (the fill may add or remove a document meanwhile)
            if len(items) < 3:
                return None
            # straight into float32 (no float16 stack in between: the peak of memory is what counts)
            cached = (stamp, [i for i, _ in items], np.stack([v for _, (_, v) in items], dtype=np.float32))
            self._matrix[kind] = cached
        _, ids, matrix = cached
        return ids, matrix

    def _with_parts(self, kind: str, ids: list[int], cos: Any, q: Any) -> tuple[Any, float]:
        """``cos`` (the whole texts' cosines, rows as ``ids``) mixed with each document's best part cosine (a
        document whose parts have no vector yet keeps its whole text's cosine), and the best part cosine."""
        tagged = self._part_matrix[kind]
        if tagged is not None and tagged[0] is ids and tagged[1] == self._part_stamp[kind]:
            cached = tagged[2]
        else:
            cached = self._build_part_matrix(kind, ids, len(q))
        matrix, cols, owner_rows, more = cached
        if not len(owner_rows):
            return cos, 0.0
        # each owner's best part: the largest of its column, then of its parts beyond (a maximum: any order)
        part_cos = (cosines := matrix @ q).take(cols).max(axis=0)
        if len(more):
            self._np.maximum.at(part_cos, more[:, 1], cosines[more[:, 0]])
        if len(owner_rows) == len(ids):  # every document has parts (the usual case): no copy, no scatter
            best = part_cos
        else:
            best = cos.copy()
            best[owner_rows] = part_cos
        w = self.part_weight
        return (1.0 - w) * cos + w * best, float(part_cos.max())

    def _build_part_matrix(self, kind: str, ids: list[int], dim: int) -> tuple[Any, Any, Any, Any]:
        """For ``kind``'s rows (``ids``): the matrix of their parts (each once), each owner's parts' rows in it (a
        column per owner, a shorter one repeating its first part, at most twice as deep as the average: one long list
        widens no other column), the owners' rows, and the (part row, column) of the parts beyond that depth."""
        np = self._np
        stamp = self._part_stamp[kind]  # read before the parts: a change meanwhile makes this cache stale
        owners, parts = self._owners[kind], self._parts
        keys: dict[str, int] = {}
        rows: list[Any] = []
        lists: list[list[int]] = []
        owner_rows: list[int] = []
        for row, doc_id in enumerate(ids):
            # each vector looked up once (the background fill may drop an unused part meanwhile)
            present = [(k, v) for k in owners.get(doc_id, ()) if (v := parts.get(k)) is not None]
            if not present:
                continue
            owner_rows.append(row)
            lists.append([])
            for k, v in present:
                if (at := keys.get(k)) is None:
                    at = keys[k] = len(rows)
                    rows.append(v)
                lists[-1].append(at)
        matrix = np.stack(rows, dtype=np.float32) if rows else np.zeros((0, dim), dtype=np.float32)
        depth = min(max(map(len, lists), default=0), 2 * sum(map(len, lists)) // max(len(lists), 1))
        cols = np.asarray([[xs[j] if j < len(xs) else xs[0] for xs in lists] for j in range(depth)], dtype=np.intp)
        more = np.asarray([(x, c) for c, xs in enumerate(lists) for x in xs[depth:]], dtype=np.intp).reshape(-1, 2)
        cached = (matrix, cols, np.asarray(owner_rows, dtype=np.intp), more)
        self._part_matrix[kind] = (ids, stamp, cached)
        return cached
