"""The matcher's candidate pass and completion (``Matcher._score``) in bulk, with NumPy, for the queries whose posting
lists are long.

It does what the Python walk of ``Matcher._score`` does, with the same floating-point operations in the same order
per document, so it returns the same documents with the same scores in the same dict order, and the same concept
masks:

- a variant's contribution to a document is ``c * s`` for a one-term variant, and for several terms the sum term by
  term (``(0.0 + c1 * s1) + c2 * s2 ...``, the first addition exact);
- a group keeps its best variant per document (DisMax): a document joins the group when the group has no document yet
  (every document of the variant, even at 0.0), otherwise when the variant gives it more than it had
  (``x > old``), and its score becomes ``(score + x) - old``;
- the MaxScore stop compares the same bounds with the same k-th best scores (the k-th largest value does not depend
  on how it is found; untouched documents hold 0.0, at most every touched score, all coefficients being positive);
- the order of first appearance (the Python dicts' insertion order) is kept per document, so the re-ranking cut and
  the k-th best document's coverage break ties as ``dict`` order does (stable sorts).

Documents are array slots by id, so the path is taken only when the ids are small non-negative integers (as
database ids are); the caller decides when a query's postings are long enough to pay NumPy's fixed cost per call.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.matching.index import Collection

Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(slots=True)
class Item:
    """One query variant prepared for scoring one document kind."""

    bound: float  # the most it can add to a document: weight * mean IDF (saturation <= 1)
    group: int
    full: list[tuple[dict[int, float], float]]  # (postings, coefficient) per term
    seek: list[tuple[dict[int, float], float]]  # where candidates are looked for (strong postings of common terms)
    complete: bool  # seek is full: traversing it accounts for every document


def usable(coll: Collection, found: Sequence[Item], forced: Sequence[int], concepts: int) -> bool:
    """Whether the bulk path can reproduce the walk: ids index arrays of a sensible size, coefficients are positive
    and the concept masks fit in 62 bits."""
    n = coll.id_bound
    if coll.negative_ids or n > 8 * len(coll) + 4096 or concepts > 62:
        return False
    if any(not 0 <= d < n for d in forced):
        return False
    return all(c > 0.0 for it in found for _, c in it.full)


# the documents a completion scores: as a mask over ids and as a set
_Only = tuple[npt.NDArray[np.bool_], set[int]]
# in completion, a list this many times longer than the documents kept, and not made into arrays yet, is intersected
_LONG = 8

_EMPTY: Floats = np.zeros(0)
_NONE: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)


class _State:
    """Scores, groups and first appearance of every document touched so far (arrays indexed by document id)."""

    def __init__(self, coll: Collection, groups: int) -> None:
        n = coll.id_bound
        self.coll = coll
        self.score = np.zeros(n)
        self.seen = np.full(n, -1, np.int64)  # order of first appearance, -1: not touched
        self.best: list[Floats] = []  # per group its best variant's contribution (made when the group fills)
        self.member: list[npt.NDArray[np.bool_]] = []  # per group: the document is in the group's dict
        self.filled = [False] * groups  # the group's dict is not empty
        self.chunks: list[Ids] = []  # the touched documents, in order of first appearance
        self.count = 0
        self._acc = np.zeros(n)
        self._in = np.zeros(n, np.bool_)

    def touched(self) -> Ids:
        if not self.chunks:
            return np.zeros(0, np.int64)
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0]

    def appear(self, docs: Ids) -> None:
        new = docs[self.seen[docs] < 0]
        if len(new):
            self.seen[new] = np.arange(self.count, self.count + len(new))
            self.chunks.append(new)
            self.count += len(new)

    def postings(self, p: dict[int, float], only: _Only | None) -> tuple[Ids, Floats]:
        """A posting list's documents and weights, in its order; with ``only``, those of its documents only, in any
        order: a long list not yet made into arrays is intersected with them in C (its arrays are not made: the
        completion looks up a few hundred documents in it), any other one through its arrays."""
        if only is None:
            return self.coll.arrays(p)
        mask, docs = only
        if len(p) > _LONG * len(docs) and not self.coll.has_arrays(p):
            common = p.keys() & docs
            n = len(common)
            return np.fromiter(common, np.int64, n), np.fromiter(map(p.__getitem__, common), np.float64, n)
        ids, sat = self.coll.arrays(p)
        keep = mask[ids]
        return ids[keep], sat[keep]

    def contrib(self, terms: list[tuple[dict[int, float], float]], only: _Only | None = None) -> tuple[Ids, Floats]:
        """Per document (in the order a dict built term by term would have), a variant's contribution; with
        ``only``, for those documents only (in any order)."""
        if len(terms) == 1:
            ids, sat = self.postings(terms[0][0], only)
            return ids, terms[0][1] * sat
        acc, seen = self._acc, self._in
        parts: list[Ids] = []
        for p, c in terms:
            ids, sat = self.postings(p, only)
            acc[ids] = acc[ids] + c * sat  # get(d, 0.0) + c * s
            new = ids[~seen[ids]]
            seen[new] = True
            parts.append(new)
        docs = np.concatenate(parts)
        x = acc[docs]
        acc[docs] = 0.0
        seen[docs] = False
        return docs, x

    def merge(self, docs: Ids, x: Floats, group: int) -> None:
        """``Matcher._merge``: the group's best per document, and the score moved by what it gained."""
        if not len(docs):
            return
        score = self.score
        if not self.filled[group]:
            self.filled[group] = True
            n = len(score)
            while len(self.best) <= group:
                self.best.append(_EMPTY)
                self.member.append(_NONE)
            best = self.best[group] = np.zeros(n)
            member = self.member[group] = np.zeros(n, np.bool_)
            best[docs] = x
            member[docs] = True
            score[docs] = score[docs] + x  # pget(d, 0.0) + x
            self.appear(docs)
            return
        best = self.best[group]
        old = best[docs]
        up = x > old
        if not up.all():  # (mostly all: documents new to the group)
            docs, x, old = docs[up], x[up], old[up]
            if not len(docs):
                return
        best[docs] = x
        self.member[group][docs] = True
        score[docs] = score[docs] + x - old
        self.appear(docs)

    def masks(self, docs: Ids, bits: Sequence[int]) -> npt.NDArray[np.int64]:
        out = np.zeros(len(docs), np.int64)
        for g, b in enumerate(bits):
            if b and self.filled[g]:
                out[self.member[g][docs]] |= b
        return out

    def largest(self, n: int, least: float | None = None) -> Ids:
        """``_largest`` over the touched documents: the n best scores, ties in order of first appearance."""
        docs = self.touched()
        vals = self.score[docs]
        if len(vals) > 2 * n:  # only the scores from the n-th best up are sorted (ties with it kept, in order)
            nth = float(np.partition(vals, len(vals) - n)[len(vals) - n])
            least = nth if least is None else max(least, nth)
        if least is not None:
            keep = vals >= least
            docs, vals = docs[keep], vals[keep]
        order = np.argsort(-vals, kind="stable")[:n]
        return docs[order]


def score(
    coll: Collection,
    found: Sequence[Item],
    rest: Sequence[float],
    bits: Sequence[int],
    *,
    k: int,
    depth: int,
    forced: Iterable[int],
    concepts: int,
    w: float,
    masks: dict[int, int] | None,
) -> tuple[dict[int, float], tuple[int, int, int, int, int]]:
    """``Matcher._score`` after its items and bounds are made (see there): the scores, and its statistics.
    ``bits``: per group its concept bits; ``w``: the coverage weight (0.0: no coverage in the stopping rule);
    ``depth``: the re-ranking depth (at least ``k``)."""
    st = _State(coll, len(bits))
    head = list(dict.fromkeys(forced))
    if head:
        st.appear(np.array(head, np.int64))
    stop = len(found)
    theta_at = float("inf")
    for i, item in enumerate(found):
        if st.count >= k and rest[i] < theta_at:
            if _stops(st, rest[i], bits, k=k, concepts=concepts, w=w):
                stop = i
                break
            theta_at = 0.85 * rest[i]
        docs, x = st.contrib(item.seek)
        st.merge(docs, x, item.group)
    todo = [it for it in found[:stop] if not it.complete] + list(found[stop:])
    n_seen = st.count
    keep = _complete(st, todo, head, depth) if todo else st.touched()
    ids = keep.tolist()
    out = dict(zip(ids, st.score[keep].tolist(), strict=True))
    if masks is not None:
        get = masks.get
        for d, m in zip(ids, st.masks(keep, bits).tolist(), strict=True):
            if m:
                masks[d] = get(d, 0) | m
    return out, (len(found), stop, len(todo), n_seen, len(out))


def _complete(st: _State, todo: Sequence[Item], forced: list[int], depth: int) -> Ids:
    """The re-ranking cut (the ``depth`` best scores, then the forced documents as ``set(partial)`` orders them) and
    the completion of those documents' scores over the ``todo`` items' full postings; the documents kept."""
    keep = st.touched()
    if st.count > depth:
        keep = st.largest(depth)
        top = set(keep.tolist())
        extra = [d for d in set(dict.fromkeys(forced, 0.0)) if d not in top]
        if extra:
            keep = np.concatenate([keep, np.array(extra, np.int64)])
    mask = np.zeros(len(st.score), np.bool_)
    mask[keep] = True
    kept = (mask, set(keep.tolist()))
    for it in todo:
        docs, x = st.contrib(it.full, kept)
        st.merge(docs, x, it.group)
    return keep


def _stops(st: _State, bound: float, bits: Sequence[int], *, k: int, concepts: int, w: float) -> bool:
    """The MaxScore test of ``Matcher._score``: ``bound`` (what an unseen document can still collect) is below the
    k-th best score (with coverage: a lower bound of the k-th best final score)."""
    vals = st.score[st.touched()]  # (the untouched documents hold 0.0, at most every touched score)
    if not bound < float(vals.max()):  # cheap bounds first: the k-th best score <= the best one
        return False
    low = 1.0 - w + w / concepts if w else 1.0
    n_top = k if low == 1.0 else 4 * k
    if len(vals) > n_top:
        vals = np.partition(vals, len(vals) - n_top)[len(vals) - n_top :]
    top = -np.sort(-vals)
    kth = float(top[k - 1])
    if low != 1.0 and bound < kth:
        kth = _kth_covered(st, bits, k, concepts, w, float(top[-1]))
    return bound < kth


def _kth_covered(st: _State, bits: Sequence[int], k: int, concepts: int, w: float, least: float) -> float:
    """``Matcher._kth_covered``: among the 4k best scores, the k-th best score times its coverage so far."""
    docs = st.largest(4 * k, least)
    lows = [
        x * (1.0 - w + w * m.bit_count() / concepts)
        for x, m in zip(st.score[docs].tolist(), st.masks(docs, bits).tolist(), strict=True)
    ]
    return float(heapq.nlargest(k, lows)[-1])
