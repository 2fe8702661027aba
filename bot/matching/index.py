"""An incremental BM25F inverted index for one kind of document.

Each posting stores the *saturated* field-weighted term frequency of a term in a document::

    ptf = sum_f  w_f * tf_f / (1 - b_f + b_f * len_f / avg_f)        sat = ptf / (k1 + ptf)

so a query only multiplies ``sat`` by the term's IDF and weight. :meth:`strong_postings` gives, per term, the
postings with ``sat >= strong_sat`` (the term in a heavy field such as expertise, title, tags or question): for very
common terms the matcher looks for candidates there only. They are filtered from the postings the first time a query
asks (only common terms are asked for) and kept up to date from then on, so the index holds no second copy of the
heavy postings of the many rare terms (about 20 MB at full size). IDF is computed at query time from the live document
frequency (``len(postings[term])``) and document count, so it is always exact. Field lengths are summed
incrementally; the averages used in ``ptf`` are a snapshot taken at (re)build time, and the owner re-normalises the
collection (:meth:`needs_refresh`) once an average has drifted more than ``refresh_drift`` from its snapshot — after
a full build that takes thousands of updates, so a single update stays O(terms of the document).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FieldTerms = tuple[Mapping[str, float], int]  # term frequencies and token count of one field

# Saturated weights are rounded to 1/1000 and shared, so millions of postings refer to at most 1,001 float objects
# (about 24 bytes saved per posting; the rounding moves a score by less than 0.1 %).
_SHARED = [i / 1000 for i in range(1001)]

# Postings as arrays (document ids, saturated weights; in the postings' order), for the matcher's bulk path: built when
# a large query asks, dropped when that posting list changes, all forgotten once this many postings were made into
# arrays since the last time (bounded memory; the ones dropped by changes still count, which only clears sooner).
ARRAY_POSTINGS_MAX = 1_500_000
PostingArrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


class Collection:
    def __init__(
        self,
        fields: Mapping[str, float],
        b: Mapping[str, float],
        *,
        k1: float,
        refresh_drift: float,
        strong_sat: float = 0.5,
    ) -> None:
        self.fields = tuple(fields)
        self.weights = tuple(fields[f] for f in self.fields)
        self.b = tuple(b[f] for f in self.fields)
        self.k1 = k1
        self.refresh_drift = refresh_drift
        self.postings: dict[str, dict[int, float]] = {}
        # per term asked for, its postings with sat >= strong_sat (the term in a heavy field), in the postings' order
        self._strong: dict[str, dict[int, float]] = {}
        self.strong_sat = strong_sat
        self.doc_terms: dict[int, tuple[str, ...]] = {}
        self.doc_lens: dict[int, tuple[int, ...]] = {}
        self.len_sums = [0] * len(self.fields)
        self._snapshot: tuple[float, ...] | None = None
        self.version = 0  # bumped by every change: what was computed from the postings is stale once it moves
        self._idf: dict[str, float] = {}  # term -> IDF at _idf_version
        self._idf_version = -1
        # id(postings dict) -> (that dict, its arrays); an entry is dropped whenever its dict changes
        self._arrays: dict[int, tuple[dict[int, float], tuple[npt.NDArray[Any], npt.NDArray[Any]]]] = {}
        self._array_postings = 0
        self.id_bound = 0  # above every document id ever inserted (since the last reset)
        self.negative_ids = False  # a negative id was inserted (the bulk path indexes arrays by id)

    def __len__(self) -> int:
        return len(self.doc_terms)

    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self.doc_terms

    def averages(self) -> tuple[float, ...]:
        n = len(self.doc_terms)
        return tuple((s / n if n else 0.0) for s in self.len_sums)

    def reset(
        self,
        all_field_terms: Iterable[tuple[int, Sequence[FieldTerms]]],
        *,
        totals: tuple[int, Sequence[int]] | None = None,
    ) -> None:
        """Replace the whole content (full build or re-normalisation).

        ``totals`` — the number of documents and their field lengths summed, when the caller knows them beforehand
        — lets the documents be indexed as they come: the analysis of the whole collection is never held at once
        (it was the peak of memory of a build). They must be what the documents add up to: if not, ValueError
        (the content is then incomplete; the caller resets again without them)."""
        self.version += 1
        self.postings = {}
        self._strong = {}
        self._arrays = {}
        self._array_postings = 0
        self.id_bound = 0
        self.negative_ids = False
        self.doc_terms = {}
        self.doc_lens = {}
        self.len_sums = [0] * len(self.fields)
        items = all_field_terms
        if totals is None:
            held = list(all_field_terms)
            for _, fts in held:
                for i, (_, n) in enumerate(fts):
                    self.len_sums[i] += n
            items, n_docs = held, len(held)
        else:
            n_docs, sums = totals
            self.len_sums = list(sums)
        self._snapshot = tuple((s / n_docs if n_docs else 0.0) for s in self.len_sums)
        seen = [0] * len(self.fields)
        for doc_id, fts in items:
            for i, (_, n) in enumerate(fts):
                seen[i] += n
            self._insert(doc_id, fts)
        if totals is not None and (seen != self.len_sums or len(self.doc_terms) != n_docs):
            raise ValueError("the documents do not add up to the totals given")

    def add(self, doc_id: int, field_terms: Sequence[FieldTerms]) -> None:
        if doc_id in self.doc_terms:
            self.remove(doc_id)
        for i, (_, n) in enumerate(field_terms):
            self.len_sums[i] += n
        if self._snapshot is None or not any(self._snapshot):
            self._snapshot = self.averages() if self.doc_terms else tuple(float(n) for _, n in field_terms)
        self._insert(doc_id, field_terms)

    def _insert(self, doc_id: int, field_terms: Sequence[FieldTerms]) -> None:
        self.version += 1
        self.id_bound = max(self.id_bound, doc_id + 1)
        self.negative_ids = self.negative_ids or doc_id < 0
        drop = self._arrays.pop  # a changed list's arrays are stale
        snap = self._snapshot or (0.0,) * len(self.fields)
        k1 = self.k1
        ptf: dict[str, float] = {}
        lens: list[int] = []
        for i, (tf, n) in enumerate(field_terms):
            lens.append(n)
            if not tf:
                continue
            avg = snap[i] or 1.0
            b = self.b[i]
            norm = self.weights[i] / (1.0 - b + b * (n / avg))
            add = {term: f * norm for term, f in tf.items()}
            if not ptf:  # 0.0 + x == x: the first field's weights as they are
                ptf = add
                continue
            # ptf[t] + x for the terms already seen (in place, so the order of ptf is that of a term-by-term loop)
            for term in ptf.keys() & add.keys():
                add[term] = ptf[term] + add[term]
            ptf.update(add)
        postings = self.postings
        strong = self._strong
        cut = self.strong_sat
        shared = _SHARED
        get = postings.get
        for term, x in ptf.items():
            sat = shared[int(1000.0 * x / (k1 + x) + 0.5)]
            p = get(term)
            if p is None:
                postings[term] = {doc_id: sat}
            else:
                p[doc_id] = sat
                drop(id(p), None)
            if strong and sat >= cut:  # appended last in both: the strong postings keep the postings' order
                sp = strong.get(term)
                if sp is not None:
                    sp[doc_id] = sat
                    drop(id(sp), None)
        self.doc_terms[doc_id] = tuple(ptf)
        self.doc_lens[doc_id] = tuple(lens)

    def remove(self, doc_id: int) -> bool:
        terms = self.doc_terms.pop(doc_id, None)
        if terms is None:
            return False
        self.version += 1
        postings = self.postings
        strong = self._strong
        drop = self._arrays.pop
        for term in terms:
            p = postings.get(term)
            if p is not None:
                p.pop(doc_id, None)
                drop(id(p), None)
                if not p:
                    del postings[term]
            if strong:
                sp = strong.get(term)
                if sp is not None:
                    sp.pop(doc_id, None)
                    drop(id(sp), None)
                    if not sp and term not in postings:
                        del strong[term]
        for i, n in enumerate(self.doc_lens.pop(doc_id)):
            self.len_sums[i] -= n
        return True

    def needs_refresh(self) -> bool:
        snap = self._snapshot
        if snap is None or not self.doc_terms:
            return False
        for old, new in zip(snap, self.averages(), strict=True):
            if old == 0.0:
                if new > 0.0:
                    return True
            elif abs(new - old) / old > self.refresh_drift:
                return True
        return False

    def strong_postings(self, term: str) -> dict[int, float]:
        """The postings of ``term`` with ``sat >= strong_sat``, in the postings' order (empty if none). Filtered once,
        then kept up to date by every insert and removal; a full reset forgets them."""
        got = self._strong.get(term)
        if got is None:
            p = self.postings.get(term)
            cut = self.strong_sat
            got = self._strong[term] = {d: s for d, s in p.items() if s >= cut} if p else {}
        return got

    def arrays(self, p: dict[int, float]) -> PostingArrays:
        """A posting list of this collection (``postings[t]``, ``strong_postings(t)``, or one derived from them and
        never changed afterwards) as arrays: its document ids and saturated weights, in its order. Remembered until
        that list changes, compactly where it can be (6 bytes a posting instead of 16: ids as int32, and weights
        that are shared thousandths as their code, ``code / 1000.0`` being exactly ``_SHARED[code]``)."""
        ids, sat = self.stored_arrays(p)
        if sat.dtype == np.uint16:
            return ids.astype(np.int64), sat / 1000.0
        return ids.astype(np.int64), sat

    def stored_arrays(self, p: dict[int, float]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """``arrays`` as kept: ids int32 or int64, weights float64 or their thousandth codes (uint16)."""
        got = self._arrays.get(id(p))
        if got is not None and got[0] is p:
            return got[1]
        ids, sat = self._compact(p)
        if self._array_postings + len(p) > ARRAY_POSTINGS_MAX:
            self._arrays.clear()
            self._array_postings = 0
        self._arrays[id(p)] = (p, (ids, sat))
        self._array_postings += len(p)
        return ids, sat

    def forget_derived(self) -> None:
        """Drop what was computed for the terms asked for (IDFs, strong postings, arrays): they are made again on
        demand, the same (after an erasure: a query's terms are a question's words)."""
        self._idf.clear()
        self._idf_version = -1
        self._strong.clear()
        self._arrays.clear()
        self._array_postings = 0

    def forget_arrays(self, p: dict[int, float]) -> None:
        """Drop the arrays of a derived list that its owner replaced (a multi-word list rebuilt after a change): the
        cache would otherwise keep the old list alive until its cap clears it."""
        got = self._arrays.get(id(p))
        if got is not None and got[0] is p:
            del self._arrays[id(p)]
            self._array_postings = max(0, self._array_postings - len(p))

    def has_arrays(self, p: dict[int, float]) -> bool:
        got = self._arrays.get(id(p))
        return got is not None and got[0] is p

    @staticmethod
    def _compact(p: dict[int, float]) -> tuple[npt.NDArray[np.int64 | np.int32], npt.NDArray[np.float64 | np.uint16]]:
        n = len(p)
        ids = np.fromiter(p.keys(), np.int64, n)
        sat = np.fromiter(p.values(), np.float64, n)
        if not n or ids.min() < -(2**31) or ids.max() >= 2**31:
            return ids, sat
        code = np.rint(sat * 1000.0)
        if not ((code >= 0.0) & (code <= 1000.0) & (code / 1000.0 == sat)).all():
            return ids.astype(np.int32), sat
        return ids.astype(np.int32), code.astype(np.uint16)

    def df(self, term: str) -> int:
        p = self.postings.get(term)
        return len(p) if p else 0

    def idf(self, term: str) -> float:
        """BM25's IDF from the live document frequency, remembered until the collection changes (a query asks for
        the same few terms' IDF hundreds of times: bounds, ideals, specificity, reasons)."""
        cache = self._idf
        if self._idf_version != self.version:
            cache.clear()
            self._idf_version = self.version
        got = cache.get(term)
        if got is None:
            n = len(self.doc_terms)
            df = self.df(term)
            got = cache[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return got

    def max_idf(self) -> float:
        n = len(self.doc_terms)
        return math.log(1.0 + (n + 0.5) / 0.5)
