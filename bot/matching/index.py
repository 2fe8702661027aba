"""An incremental BM25F inverted index for one kind of document, held in NumPy arrays.

Each posting stores the *saturated* field-weighted term frequency of a term in a document::

    ptf = sum_f  w_f * tf_f / (1 - b_f + b_f * len_f / avg_f)        sat = ptf / (k1 + ptf)

so a query only multiplies ``sat`` by the term's IDF and weight. ``sat`` is rounded to 1/1000 (it moves a score by
less than 0.1 %). IDF is computed at query time from the live document frequency (``len(postings[term])``) and
document count, so it is always exact. Field lengths are summed incrementally; the averages used in ``ptf`` are a
snapshot taken at (re)build time, and the owner re-normalises the collection (:meth:`needs_refresh`) once an average
has drifted more than ``refresh_drift`` from its snapshot — after a full build that takes thousands of updates, so a
single update stays O(terms of the document).

Layout. Every document gets a *slot* (0, 1, 2, … in the order documents were added; a replaced document gets a new
slot at the end, a removed one leaves a hole), so ascending slots are the order in which documents entered the
index. Per term, :class:`Postings` holds the slots of the documents containing it (ascending) and their ``sat`` as
two arrays; :meth:`Postings.strong` the subset with ``sat >= strong_sat`` (the term in a heavy field such as
expertise, title, tags or question), where the matcher looks for candidates of very common terms. A forward index
(per slot: the term ids of the document and their ``sat``, one contiguous array each) lets the matcher complete the
scores of a few hundred candidates in one gather instead of one look-up per term. A full build fills all of it with
a handful of array operations; an update copies the postings of the document's terms.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

FieldTerms = tuple[Mapping[str, float], int]  # term frequencies and token count of one field
Ints = npt.NDArray[np.int64]
Int32s = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]

_EMPTY_SLOTS: Int32s = np.zeros(0, dtype=np.int32)
_EMPTY_SATS: Floats = np.zeros(0, dtype=np.float64)


def saturate(ptf: float, k1: float) -> float:
    """``ptf / (k1 + ptf)`` rounded to 1/1000 (the arithmetic of :meth:`Collection.reset`, element by element)."""
    return int(1000.0 * ptf / (k1 + ptf) + 0.5) / 1000


class Postings:
    """The documents containing one term: slots (ascending) and saturated weights. Never changed in place: an
    update replaces the object, so anything derived from one (its strong part, a query's candidates) stays valid."""

    __slots__ = ("_strong", "sats", "slots")

    def __init__(self, slots: Int32s, sats: Floats) -> None:
        self.slots = slots
        self.sats = sats
        self._strong: Postings | None = None

    def __len__(self) -> int:
        return len(self.slots)

    def strong(self, cut: float) -> Postings:
        """The postings with ``sat >= cut`` — always another object, even when that is all of them."""
        got = self._strong
        if got is None:
            keep = self.sats >= cut
            got = self._strong = Postings(self.slots[keep], self.sats[keep])
        return got


def _grown(arr: Any, need: int, fill: float | int = 0) -> Any:
    """``arr`` with room for at least ``need`` elements (capacity doubles; new room holds ``fill``)."""
    if len(arr) >= need:
        return arr
    out = np.full(max(need, 2 * len(arr), 64), fill, dtype=arr.dtype)
    out[: len(arr)] = arr
    return out


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
        self.strong_sat = strong_sat  # the postings with sat >= strong_sat (a heavy field): candidates of common terms
        self.postings: dict[str, Postings] = {}  # only terms some document contains
        self.vocab: dict[str, int] = {}  # term -> term id (ids are never reused)
        self.terms: list[str] = []  # term id -> term
        self.slot_of: dict[int, int] = {}  # document id -> slot
        self.n_slots = 0  # slots handed out (holes included)
        self.ids: Ints = np.zeros(0, dtype=np.int64)  # slot -> document id (-1: a hole)
        # forward index: the terms of the document in a slot are _ftid[_fstart[s] : _fstart[s] + _flen[s]]
        self._fstart: Ints = np.zeros(0, dtype=np.int64)
        self._flen: Ints = np.zeros(0, dtype=np.int64)
        self._ftid: Int32s = np.zeros(0, dtype=np.int32)
        self._fsat: Floats = np.zeros(0, dtype=np.float64)
        self._fused = 0  # forward entries handed out (those of removed documents included)
        self.doc_lens: dict[int, tuple[int, ...]] = {}
        self.len_sums = [0] * len(self.fields)
        self._snapshot: tuple[float, ...] | None = None
        self.version = 0  # bumped by every change: what was computed from the postings is stale once it moves
        self._idf: dict[str, float] = {}  # term -> IDF at _idf_version
        self._idf_version = -1

    def __len__(self) -> int:
        return len(self.slot_of)

    def __contains__(self, doc_id: int) -> bool:
        return doc_id in self.slot_of

    def averages(self) -> tuple[float, ...]:
        n = len(self.slot_of)
        return tuple((s / n if n else 0.0) for s in self.len_sums)

    # ------------------------------------------------------------------------------------------ building
    def reset(self, all_field_terms: Iterable[tuple[int, Sequence[FieldTerms]]]) -> None:
        """Replace the whole content (full build or re-normalisation), in bulk. The documents' term frequencies are
        read one document at a time into flat arrays (never all of them at once as dictionaries: that peak stayed
        in the process as fragmented memory), normalised once the average field lengths are known."""
        self.version += 1
        n_fields = len(self.fields)
        len_sums = [0] * n_fields
        self.postings = {}
        self.slot_of = {}
        self.doc_lens = {}
        vocab, terms = self.vocab, self.terms
        keys: list[str] = []  # the terms of every (document, field), concatenated (shared strings)
        tfs = array("d")
        seg_len = array("q")  # per (document, field) with terms: the field's length, its number of terms, ...
        seg_size = array("q")
        seg_slot = array("q")
        seg_field = array("q")
        doc_ids = array("q")
        slot_of, doc_lens = self.slot_of, self.doc_lens
        for slot, (doc_id, fts) in enumerate(all_field_terms):
            slot_of[doc_id] = slot
            doc_ids.append(doc_id)
            lens: list[int] = []
            for i, (tf, n) in enumerate(fts):
                lens.append(n)
                len_sums[i] += n
                if not tf:
                    continue
                seg_len.append(n)
                seg_size.append(len(tf))
                seg_slot.append(slot)
                seg_field.append(i)
                keys.extend(tf)
                tfs.extend(tf.values())
            doc_lens[doc_id] = tuple(lens)
        n_docs = len(doc_ids)
        self.len_sums = len_sums
        snap = self._snapshot = tuple((s / n_docs if n_docs else 0.0) for s in len_sums)
        for t in dict.fromkeys(keys):
            if t not in vocab:
                vocab[t] = len(terms)
                terms.append(t)
        # per (document, field): w / (1 - b + b * len / avg), the arithmetic of add() element by element
        seg_f = np.frombuffer(seg_field, dtype=np.int64) if len(seg_field) else np.zeros(0, dtype=np.int64)
        avg = np.array([a or 1.0 for a in snap], dtype=np.float64)
        b_f = np.array(self.b, dtype=np.float64)[seg_f]
        n_f = np.frombuffer(seg_len, dtype=np.int64).astype(np.float64) if len(seg_len) else np.zeros(0)
        seg_norm = np.array(self.weights, dtype=np.float64)[seg_f] / (1.0 - b_f + b_f * (n_f / avg[seg_f]))
        seg_slot_arr = np.frombuffer(seg_slot, dtype=np.int64) if len(seg_slot) else np.zeros(0, dtype=np.int64)
        size = np.frombuffer(seg_size, dtype=np.int64) if len(seg_size) else np.zeros(0, dtype=np.int64)
        self.ids = np.array(doc_ids, dtype=np.int64)
        self.n_slots = n_docs
        tid = np.fromiter(map(vocab.__getitem__, keys), dtype=np.int64, count=len(keys))
        del keys
        seg_slots = np.repeat(seg_slot_arr, size)
        field = np.repeat(seg_f, size)
        x = (np.frombuffer(tfs, dtype=np.float64) if len(tfs) else np.zeros(0)) * np.repeat(seg_norm, size)
        # ptf per (document, term): the fields' weights summed in field order, as add() does
        order = np.argsort((seg_slots * len(terms) + tid) * n_fields + field)
        key = (seg_slots * len(terms) + tid)[order]
        x = x[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        ptf = x[starts]
        run = np.diff(np.append(starts, len(key)))
        for r in range(1, int(run.max(initial=1))):
            more = np.flatnonzero(run > r)
            ptf[more] = ptf[more] + x[starts[more] + r]
        sats = np.floor(1000.0 * ptf / (self.k1 + ptf) + 0.5) / 1000.0  # saturate(), element by element
        slots = key[starts] // len(terms) if len(terms) else key[starts]
        tids = key[starts] - slots * len(terms)
        # forward index (slot-major: that is the order of ``key``)
        self._ftid = tids.astype(np.int32)
        self._fsat = sats
        self._fused = len(tids)
        self._fstart = np.searchsorted(slots, np.arange(n_docs, dtype=np.int64)).astype(np.int64)
        self._flen = np.diff(np.append(self._fstart, len(tids)))
        # postings (term-major, slots ascending within a term)
        by_term = np.argsort(tids * max(n_docs, 1) + slots)
        t_sorted = tids[by_term]
        p_slots = slots[by_term].astype(np.int32)
        p_sats = sats[by_term]
        bounds = np.flatnonzero(np.diff(t_sorted)) + 1
        lo = np.concatenate(([0], bounds)).tolist()
        hi = np.concatenate((bounds, [len(t_sorted)])).tolist()
        postings = self.postings
        if len(t_sorted):
            for t, a, z in zip(t_sorted[lo].tolist(), lo, hi, strict=True):
                postings[terms[t]] = Postings(p_slots[a:z], p_sats[a:z])

    def add(self, doc_id: int, field_terms: Sequence[FieldTerms]) -> None:
        if doc_id in self.slot_of:
            self.remove(doc_id)
        for i, (_, n) in enumerate(field_terms):
            self.len_sums[i] += n
        if self._snapshot is None or not any(self._snapshot):
            self._snapshot = self.averages() if self.slot_of else tuple(float(n) for _, n in field_terms)
        self.version += 1
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
            if not ptf:  # the first field's weights as they are
                ptf = add
                continue
            for term in ptf.keys() & add.keys():  # summed in field order, as reset() does
                add[term] = ptf[term] + add[term]
            ptf.update(add)
        slot = self.n_slots
        self.n_slots += 1
        self.slot_of[doc_id] = slot
        self.doc_lens[doc_id] = tuple(lens)
        self.ids = _grown(self.ids, slot + 1, -1)
        self.ids[slot] = doc_id
        self._fstart = _grown(self._fstart, slot + 1)
        self._flen = _grown(self._flen, slot + 1)
        vocab, terms, postings = self.vocab, self.terms, self.postings
        tids: list[int] = []
        sats: list[float] = []
        one_slot = np.array([slot], dtype=np.int32)
        for term, x in ptf.items():
            sat = saturate(x, k1)
            t = vocab.get(term)
            if t is None:
                t = vocab[term] = len(terms)
                terms.append(term)
            tids.append(t)
            sats.append(sat)
            p = postings.get(term)
            if p is None:
                postings[term] = Postings(one_slot, np.array([sat]))
            else:
                postings[term] = Postings(np.append(p.slots, one_slot), np.append(p.sats, sat))
        start = self._fused
        self._ftid = _grown(self._ftid, start + len(tids))
        self._fsat = _grown(self._fsat, start + len(tids))
        self._ftid[start : start + len(tids)] = tids
        self._fsat[start : start + len(tids)] = sats
        self._fstart[slot] = start
        self._flen[slot] = len(tids)
        self._fused = start + len(tids)

    def remove(self, doc_id: int) -> bool:
        slot = self.slot_of.pop(doc_id, None)
        if slot is None:
            return False
        self.version += 1
        postings, terms = self.postings, self.terms
        start = int(self._fstart[slot])
        for t in self._ftid[start : start + int(self._flen[slot])].tolist():
            term = terms[t]
            p = postings[term]
            if len(p) == 1:
                del postings[term]
                continue
            i = int(np.searchsorted(p.slots, slot))
            postings[term] = Postings(np.delete(p.slots, i), np.delete(p.sats, i))
        self.ids[slot] = -1
        self._flen[slot] = 0
        for i, n in enumerate(self.doc_lens.pop(doc_id)):
            self.len_sums[i] -= n
        if self.n_slots > 1024 and self.n_slots > 2 * len(self.slot_of):
            self._compact()
        return True

    def _compact(self) -> None:
        """Renumber the slots without their holes (order kept) and drop the forward entries of removed documents."""
        live = np.flatnonzero(self.ids[: self.n_slots] >= 0)
        renumber = np.full(self.n_slots, -1, dtype=np.int64)
        renumber[live] = np.arange(len(live))
        for term, p in list(self.postings.items()):
            self.postings[term] = Postings(renumber[p.slots].astype(np.int32), p.sats)
        starts, lens = self._fstart[live], self._flen[live]
        take = _ranges(starts, lens)
        self._ftid = self._ftid[take]
        self._fsat = self._fsat[take]
        self._fused = len(take)
        self._flen = lens.copy()
        self._fstart = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64) if len(lens) else lens.copy()
        self.ids = self.ids[live]
        self.n_slots = len(live)
        self.slot_of = {int(d): i for i, d in enumerate(self.ids.tolist())}
        self.version += 1

    def needs_refresh(self) -> bool:
        snap = self._snapshot
        if snap is None or not self.slot_of:
            return False
        for old, new in zip(snap, self.averages(), strict=True):
            if old == 0.0:
                if new > 0.0:
                    return True
            elif abs(new - old) / old > self.refresh_drift:
                return True
        return False

    # ------------------------------------------------------------------------------------------ reading
    def df(self, term: str) -> int:
        p = self.postings.get(term)
        return len(p) if p is not None else 0

    def idf(self, term: str) -> float:
        """BM25's IDF from the live document frequency, remembered until the collection changes (a query asks for
        the same few terms' IDF hundreds of times: bounds, ideals, specificity, reasons)."""
        cache = self._idf
        if self._idf_version != self.version:
            cache.clear()
            self._idf_version = self.version
        got = cache.get(term)
        if got is None:
            n = len(self.slot_of)
            df = self.df(term)
            got = cache[term] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        return got

    def max_idf(self) -> float:
        n = len(self.slot_of)
        return math.log(1.0 + (n + 0.5) / 0.5)

    def doc_terms(self, doc_id: int) -> tuple[str, ...]:
        """The terms of one document."""
        return tuple(self.term_sats(doc_id))

    def term_sats(self, doc_id: int) -> dict[str, float]:
        """Term -> saturated weight for one document (empty when it is not indexed)."""
        slot = self.slot_of.get(doc_id)
        if slot is None:
            return {}
        start = int(self._fstart[slot])
        end = start + int(self._flen[slot])
        terms = self.terms
        tids, sats = self._ftid[start:end].tolist(), self._fsat[start:end].tolist()
        return {terms[t]: s for t, s in zip(tids, sats, strict=True)}

    def forward(self, slots: Ints) -> tuple[Ints, Int32s, Floats]:
        """The forward entries of the documents in ``slots``: for each entry the position in ``slots`` it belongs
        to, its term id and its saturated weight."""
        lens = self._flen[slots]
        take = _ranges(self._fstart[slots], lens)
        owner = np.repeat(np.arange(len(slots), dtype=np.int64), lens)
        return owner, self._ftid[take], self._fsat[take]


def _ranges(starts: Ints, lens: Ints) -> Ints:
    """The concatenation of ``range(s, s + n)`` for each start and length (vectorised)."""
    total = int(lens.sum()) if len(lens) else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lens)
    shift: Ints = np.repeat(starts - (ends - lens), lens)
    out: Ints = np.arange(total, dtype=np.int64) + shift
    return out
