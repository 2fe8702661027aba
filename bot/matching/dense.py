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
from collections.abc import Collection as Collection_
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.matching.index import Collection

Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Vec = tuple[npt.NDArray[np.int32 | np.int64], Floats]  # a pack: document ids ascending, their contributions
Band = list[tuple[Ids, Floats]]  # a band of a pack's names: its levels (``band_of``)


@dataclass(slots=True)
class Item:
    """One query variant prepared for scoring one document kind."""

    bound: float  # the most it can add to a document: weight * mean IDF (saturation <= 1)
    group: int
    full: list[tuple[dict[int, float], float]]  # (postings, coefficient) per term
    seek: list[tuple[dict[int, float], float]]  # where candidates are looked for (strong postings of common terms)
    complete: bool  # seek is full: traversing it accounts for every document
    # a recognised theme's other name: the item that stands for all of its group's names in the completion (one
    # remembered vector of their best contribution per document; ``packed``)
    pack: Item | None = None
    vec: Vec | None = None  # a pack: per document (ids ascending) the names' best contribution
    ring: int = -1  # a theme's other name: its place among the names of its pack (``bands``' keys)
    # a pack, when the candidate pass takes its names a band at a time (``run_end``): per band of names (their
    # places) their seek contributions in levels (``band_of``), remembered with the pack
    bands: dict[tuple[int, ...], Band] | None = None


def best_of(coll: Collection, items: Sequence[Item]) -> Vec | None:
    """Per document (ids ascending) the best of the items' full contributions (the floats ``Matcher._contrib``
    makes), for a pack; None where the collection's ids cannot index arrays."""
    if coll.negative_ids or coll.id_bound > 8 * len(coll) + 4096:
        return None
    st = _State(coll, 0, members=False)
    best = np.full(coll.id_bound, -np.inf)
    for it in items:
        docs, x = st.contrib(it.full)  # (distinct documents)
        best[docs] = np.maximum(best[docs], x)
    ids = np.flatnonzero(best != -np.inf)
    return ids.astype(np.int32) if coll.id_bound < 2**31 else ids, best[ids]  # (12 bytes a document, not 16)


def _pick(vec: Vec, want: Ids) -> tuple[Ids, Floats]:
    """A pack's documents among ``want`` (in ``want``'s order) and their contributions."""
    ids, vals = vec
    if not len(ids) or not len(want):
        return want[:0], _EMPTY
    at = np.minimum(np.searchsorted(ids, want), len(ids) - 1)
    hit = ids[at] == want
    return want[hit], vals[at[hit]]


def pick_dict(vec: Vec, docs: Collection_[int]) -> dict[int, float]:
    """A pack's contributions to ``docs`` (in ``docs``' order), for the walk."""
    got, x = _pick(vec, np.fromiter(docs, np.int64, len(docs)))
    return dict(zip(got.tolist(), x.tolist(), strict=True))


# a group's names are completed through their pack when at least this many of them are left to complete
PACK_MIN = 2


def run_end(found: Sequence[Item], rest: Sequence[float], i: int, theta_at: float) -> int:
    """The end of the band of names the candidate pass takes at once from item ``i``: the items after it of the same
    pack, as long as none of them comes with a MaxScore test (``rest[j] < theta_at`` tests at ``j``), so the stop is
    tested where it was. Merging the band's levels (``band_of``) moves each document's score by the steps the names
    one by one move it: the same best, memberships, scores (to the last bit) and stop."""
    p = found[i].pack
    j = i + 1
    if p is None or p.bands is None:
        return j
    while j < len(found) and found[j].pack is p and rest[j] >= theta_at:
        j += 1
    return j


def band_of(st: _State, items: Sequence[Item]) -> Band:
    """A band of names' seek contributions as merging the names one by one moves the scores, in levels merged one
    after the other: per document only the contributions that raise the best of the band's names before it (the
    others change nothing, whatever the group held), its first in the first level (the documents in the order
    name by name makes them appear in: the re-ranking cut breaks ties by it), its second in the second, and so on.
    Every document's score so takes the very steps it takes name by name: the same floats. Remembered with their
    pack while its bands hold at most as many entries as its vector."""
    pack = items[0].pack
    assert pack is not None and pack.bands is not None and pack.vec is not None
    key = tuple(it.ring for it in items)
    got = pack.bands.get(key)
    if got is None:
        best = np.full(st.coll.id_bound, -np.inf)
        count = np.zeros(st.coll.id_bound, np.int64)
        docs_, xs, levels = [], [], []
        for it in items:
            docs, x = st.contrib(it.seek)  # (distinct documents)
            up = x > best[docs]
            docs, x = docs[up], x[up]
            best[docs] = x
            levels.append(count[docs])
            count[docs] += 1
            docs_.append(docs)
            xs.append(x)
        ids, vals, level = np.concatenate(docs_), np.concatenate(xs), np.concatenate(levels)
        got = [(ids[level == n], vals[level == n]) for n in range(int(level.max()) + 1 if len(level) else 0)]
        if sum(len(v[0]) for band in pack.bands.values() for v in band) + len(ids) <= len(pack.vec[0]):
            pack.bands[key] = got
    return got


def packed(todo: Sequence[Item]) -> list[Item]:
    """The items to complete, a theme's names replaced by their pack (at the place of the first of them) where at
    least ``PACK_MIN`` of them are left: the pack holds per document the best of every name's full contribution, so
    the group's best is the same maximum (the names traversed already gave at most their full contribution), and the
    score moves by it in one merge instead of name by name (the last bits of a score may differ)."""
    count: dict[int, int] = {}
    for it in todo:
        if it.pack is not None:
            count[id(it.pack)] = count.get(id(it.pack), 0) + 1
    if not count:
        return list(todo)
    out: list[Item] = []
    done: set[int] = set()
    for it in todo:
        p = it.pack
        if p is None or count[id(p)] < PACK_MIN:
            out.append(it)
        elif id(p) not in done:
            done.add(id(p))
            out.append(p)
    return out


def usable(
    coll: Collection, found: Sequence[Item], forced: Sequence[int], concepts: int, *, positive: bool | None = None
) -> bool:
    """Whether the bulk path can reproduce the walk: ids index arrays of a sensible size, coefficients are positive
    (``positive``: the caller knows whether they are) and the concept masks fit in 62 bits."""
    n = coll.id_bound
    if coll.negative_ids or n > 8 * len(coll) + 4096 or concepts > 62:
        return False
    if any(not 0 <= d < n for d in forced):
        return False
    if positive is not None:
        return positive
    return all(c > 0.0 for it in found for _, c in it.full)


# the documents a completion scores: as a mask over ids and as a set
_Only = tuple[npt.NDArray[np.bool_], set[int]]
# in completion, a list this many times longer than the documents kept, and not made into arrays yet, is intersected
_LONG = 8
# a merge of at most this many documents into a filled group is made on Python floats (exact, a few µs cheaper)
_FEW = 8

_EMPTY: Floats = np.zeros(0)
_NONE: npt.NDArray[np.bool_] = np.zeros(0, np.bool_)


class _State:
    """Scores, groups and first appearance of every document touched so far (arrays indexed by document id)."""

    def __init__(self, coll: Collection, groups: int, *, members: bool = True) -> None:
        n = coll.id_bound
        self.coll = coll
        self.score = np.zeros(n)
        self.seen = np.full(n, -1, np.int64)  # order of first appearance, -1: not touched
        self.best: list[Floats] = []  # per group its best variant's contribution (made when the group fills)
        self.member: list[npt.NDArray[np.bool_]] = []  # per group: the document is in the group's dict
        self.members = members  # group membership is kept (False: no concept masks are asked for)
        self.filled = [False] * groups  # the group's dict is not empty
        self.chunks: list[Ids] = []  # the touched documents, in order of first appearance
        self.pending: list[Ids] = []  # documents merged since the last ``touched()`` (some seen before)
        self.upto = 0  # at most this many documents touched (``count`` plus the pending ones)
        self.count = 0
        self._acc = np.zeros(n)
        self._in = np.zeros(n, np.bool_)
        self.pre: dict[int, tuple[Ids, Floats]] = {}  # ``postings(p, only)`` gathered beforehand (``prefetch``)

    def prefetch(self, lists: Iterable[dict[int, float]], only: _Only) -> None:
        """``postings(p, only)`` of the lists ``postings`` reads through arrays, gathered in one pass over their
        concatenation (per list, four NumPy calls fewer): the completion reads a hundred short lists."""
        mask, docs = only
        coll, pre = self.coll, self.pre
        picked: dict[int, dict[int, float]] = {}
        for p in lists:
            if id(p) not in picked and not (len(p) > _LONG * len(docs) and not coll.has_arrays(p)):
                picked[id(p)] = p
        by_kind: dict[bool, tuple[list[int], list[npt.NDArray[Any]], list[npt.NDArray[Any]]]] = {}
        for key, p in picked.items():
            ids, sat = coll.stored_arrays(p)
            keys, id_parts, sat_parts = by_kind.setdefault(sat.dtype == np.uint16, ([], [], []))
            keys.append(key)
            id_parts.append(ids)
            sat_parts.append(sat)
        for coded, (keys, id_parts, sat_parts) in by_kind.items():
            if len(keys) == 1:
                ids_all, sat_all = id_parts[0].astype(np.int64), sat_parts[0]
            else:
                ids_all, sat_all = np.concatenate(id_parts).astype(np.int64), np.concatenate(sat_parts)
            at = np.flatnonzero(mask[ids_all])
            got_ids = ids_all[at]
            got_sat = sat_all[at] / 1000.0 if coded else sat_all[at]
            ends = np.searchsorted(at, np.cumsum([len(x) for x in id_parts])).tolist()
            start = 0
            for key, end in zip(keys, ends, strict=True):
                pre[key] = (got_ids[start:end], got_sat[start:end])
                start = end

    def touched(self) -> Ids:
        """The touched documents in order of first appearance."""
        if self.pending:
            self._resolve()
        if not self.chunks:
            return np.zeros(0, np.int64)
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0]

    def at_least(self, k: int) -> bool:
        """Whether at least ``k`` documents were touched (resolving the pending ones only when it may be so)."""
        if self.count < k <= self.upto:
            self._resolve()
        return self.count >= k

    def appear(self, docs: Ids) -> None:
        """``docs`` (distinct) were merged: the new ones among them are numbered when next asked for (a merge's
        own look-up of which are new costs three NumPy calls; most variants are merged between two questions)."""
        self.pending.append(docs)
        self.upto += len(docs)

    def _resolve(self) -> None:
        pending = self.pending
        cat = pending[0] if len(pending) == 1 else np.concatenate(pending)
        self.pending = []
        seen = self.seen
        new = cat[seen[cat] < 0]
        if len(pending) > 1 and len(new):  # a document may be new in several chunks: its first occurrence
            pos = np.arange(len(new))
            seen[new] = len(new)
            np.minimum.at(seen, new, pos)  # (unbuffered: repeated indices all count, whatever the order)
            new = new[seen[new] == pos]
        if len(new):
            seen[new] = np.arange(self.count, self.count + len(new))
            self.chunks.append(new)
            self.count += len(new)
        self.upto = self.count

    def postings(self, p: dict[int, float], only: _Only | None) -> tuple[Ids, Floats]:
        """A posting list's documents and weights, in its order; with ``only``, those of its documents only, in any
        order: a long list not yet made into arrays is intersected with them in C (its arrays are not made: the
        completion looks up a few hundred documents in it), any other one through its arrays."""
        if only is None:
            return self.coll.arrays(p)
        got = self.pre.get(id(p))
        if got is not None:
            return got
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
            c = terms[0][1]
            # (a multi-word name's own posting comes with 1.0, and 1.0 * s is s: nothing writes into ``sat``)
            return ids, sat if c == 1.0 else c * sat
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

    def merge(self, docs: Ids, x: Floats, group: int, *, new: bool = True) -> None:
        """``Matcher._merge``: the group's best per document, and the score moved by what it gained. ``new=False``:
        every one of ``docs`` was touched before (the completion's)."""
        if not len(docs):
            return
        if not self.filled[group]:
            self._fill(docs, x, group, new=new)
            return
        score = self.score
        best = self.best[group]
        if len(docs) <= _FEW:  # the same operations on Python floats (exact), without NumPy's cost per call
            self._merge_few(docs, x, best, self.member[group] if self.members else None, new=new)
            return
        old = best[docs]
        up = x > old
        if not up.all():  # (mostly all: documents new to the group)
            docs, x, old = docs[up], x[up], old[up]
            if not len(docs):
                return
        best[docs] = x
        if self.members:
            self.member[group][docs] = True
        score[docs] = score[docs] + x - old
        if new:
            self.appear(docs)

    def _fill(self, docs: Ids, x: Floats, group: int, *, new: bool) -> None:
        """``merge`` into a group with no document yet: every one of ``docs`` joins it."""
        score = self.score
        self.filled[group] = True
        n = len(score)
        while len(self.best) <= group:
            self.best.append(_EMPTY)
            self.member.append(_NONE)
        best = self.best[group] = np.zeros(n)
        best[docs] = x
        if self.members:
            member = self.member[group] = np.zeros(n, np.bool_)
            member[docs] = True
        score[docs] = score[docs] + x  # pget(d, 0.0) + x
        if new:
            self.appear(docs)

    def _merge_few(
        self, docs: Ids, x: Floats, best: Floats, member: npt.NDArray[np.bool_] | None, *, new: bool
    ) -> None:
        """``merge`` into a filled group, document by document: ``(score + x) - old`` on floats rounds as the
        arrays' operations do, in the same order."""
        score = self.score
        moved: list[int] = []
        for d, xd in zip(docs.tolist(), x.tolist(), strict=True):
            old = best.item(d)
            if xd > old:
                best[d] = xd
                score[d] = score.item(d) + xd - old
                if member is not None:
                    member[d] = True
                moved.append(d)
        if new and moved:
            self.appear(np.array(moved, np.int64))

    def masks(self, docs: Ids, bits: Sequence[int]) -> npt.NDArray[np.int64]:
        out = np.zeros(len(docs), np.int64)
        for g, b in enumerate(bits):
            if b and self.filled[g]:
                out[self.member[g][docs]] |= b
        return out

    def largest(self, n: int, least: float | None = None, vals: Floats | None = None) -> Ids:
        """``_largest`` over the touched documents: the n best scores, ties in order of first appearance. ``least``:
        the n-th best score, or one below every score (only the scores from it up are sorted); ``vals``: the touched
        documents' scores, when the caller has them."""
        docs = self.touched()
        if vals is None:
            vals = self.score[docs]
        if least is None and len(vals) > 2 * n:  # only the scores from the n-th best up are sorted (ties kept)
            least = float(np.partition(vals, len(vals) - n)[len(vals) - n])
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
    st = _State(coll, len(bits), members=bool(w))
    head = list(dict.fromkeys(forced))
    if head:
        st.appear(np.array(head, np.int64))
    stop = len(found)
    theta_at = float("inf")
    i = 0
    while i < len(found):
        item = found[i]
        if rest[i] < theta_at and st.at_least(k):
            if _stops(st, rest[i], bits, k=k, concepts=concepts, w=w):
                stop = i
                break
            theta_at = 0.85 * rest[i]
        j = run_end(found, rest, i, theta_at)
        if j > i + 1:  # a band of a theme's names (``run_end``), level by level
            for docs, x in band_of(st, found[i:j]):
                st.merge(docs, x, item.group)
        else:
            docs, x = st.contrib(item.seek)
            st.merge(docs, x, item.group)
        i = j
    todo = packed([it for it in found[:stop] if not it.complete] + list(found[stop:]))
    n_seen = len(st.touched())
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
    if len(keep) > depth:
        keep = st.largest(depth)
        top = set(keep.tolist())
        extra = [d for d in set(dict.fromkeys(forced, 0.0)) if d not in top]
        if extra:
            keep = np.concatenate([keep, np.array(extra, np.int64)])
    mask = np.zeros(len(st.score), np.bool_)
    mask[keep] = True
    kept = (mask, set(keep.tolist()))
    st.prefetch((p for it in todo for p, _ in it.full), kept)
    for it in todo:
        if it.vec is None:
            docs, x = st.contrib(it.full, kept)
        else:  # a theme's names, packed: the kept documents looked up in its ids (a few hundred in thousands)
            docs, x = _pick(it.vec, keep)
        st.merge(docs, x, it.group, new=False)
    return keep


def _stops(st: _State, bound: float, bits: Sequence[int], *, k: int, concepts: int, w: float) -> bool:
    """The MaxScore test of ``Matcher._score``: ``bound`` (what an unseen document can still collect) is below the
    k-th best score (with coverage: a lower bound of the k-th best final score)."""
    vals = st.score[st.touched()]  # (the untouched documents hold 0.0, at most every touched score)
    if np.count_nonzero(vals > bound) < k:  # the k-th best score is above ``bound`` when k scores are
        return False
    low = 1.0 - w + w / concepts if w else 1.0
    if low == 1.0:
        return True
    n = len(vals) - 4 * k  # the 4k-th best score (or the lowest): the covered k-th best is among those from it up
    least = float(np.partition(vals, n)[n]) if n > 0 else float(vals.min())
    return bound < _kth_covered(st, bits, k, concepts, w, least, vals)


def _kth_covered(st: _State, bits: Sequence[int], k: int, concepts: int, w: float, least: float, vals: Floats) -> float:
    """``Matcher._kth_covered``: among the 4k best scores (``least``: the 4k-th best or the lowest one; ``vals``: the
    touched documents' scores), the k-th best score times its coverage so far."""
    docs = st.largest(4 * k, least, vals)
    lows = [
        x * (1.0 - w + w * m.bit_count() / concepts)
        for x, m in zip(st.score[docs].tolist(), st.masks(docs, bits).tolist(), strict=True)
    ]
    return float(heapq.nlargest(k, lows)[-1])
