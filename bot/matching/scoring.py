"""Scoring one document kind for one query in bulk (NumPy), with exactly the arithmetic of a walk over postings.

The matcher (:meth:`bot.matching.engine.Matcher._score`) turns a parsed query into *items* — one per query variant,
each with its posting lists and coefficients, sorted by the most they can add to a document — and :func:`score`
ranks the kind's documents with them:

1. Traversal (MaxScore). Items are traversed from the highest bound down; per document the partial score is the
   sum over query groups of the group's best variant so far (DisMax). Before an item, once ``k`` documents are
   seen and the bound of what is left has fallen 15 % since the last look, the traversal stops if no unseen
   document can reach the ``k``-th best partial score (with the query-term coverage factor, see
   :meth:`Matcher._score`).
2. Depth. Only the ``depth`` best documents (and the forced ones) go on.
3. Completion. Their scores are completed with every item not yet fully traversed, in one gather from the forward
   index.

Exactness. A document's score is built as a walk would build it, update by update in item order: ``partial +=
x - old`` whenever a variant's contribution ``x`` beats the group's best ``old`` for that document (floating-point
addition is not associative, so the order is part of the result). The items between two stopping checks are
processed as one batch: their (document, contribution) entries are concatenated, ordered per document, and applied
in *rounds* — round ``r`` applies every document's ``r``-th update at once. Ties between equal scores are broken by
the order in which documents were first seen (a dict's order in a walk), which is tracked per document. So the
result — which documents, their scores to the last bit, their order — is the one of the document-at-a-time walk
this replaced (``tests/matching/test_scoring.py`` checks it against a document-at-a-time reference,
``bench/check_ranking_stable.py`` against the walk).

Work arrays (per kind, reused; only what a query touched is reset) map the documents a query sees to *local*
indices: partial scores, per-group best contributions, first-seen positions.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.matching.index import Collection, Floats, Int32s, Ints, Postings

__all__ = ["Item", "Scored", "Scratch", "score"]

Bools = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Item:
    """One query variant prepared for scoring one document kind."""

    bound: float  # the most it can add to a document: weight * mean IDF (saturation <= 1)
    group: int
    full: list[tuple[Postings, float, int]]  # (postings, coefficient, term id; -1 for a phrase) per term
    seek: list[tuple[Postings, float, int]]  # where candidates are looked for (strong postings of common terms)
    complete: bool  # seek is full: traversing it accounts for every document


@dataclass(slots=True)
class Scored:
    """Scores of one kind for one query: document ids in the order a walk's dict would hold them, raw scores and,
    when asked for, the bit mask of the query concepts each document matched."""

    ids: Ints
    scores: Floats
    masks: Ints | None

    def __len__(self) -> int:
        return len(self.ids)

    def as_dict(self) -> dict[int, float]:
        return dict(zip(self.ids.tolist(), self.scores.tolist(), strict=True))

    def mask_dict(self) -> dict[int, int]:
        if self.masks is None:
            return {}
        return dict(zip(self.ids.tolist(), self.masks.tolist(), strict=True))


def empty_scored(with_masks: bool) -> Scored:
    return Scored(
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64) if with_masks else None
    )


class Scratch:
    """Work arrays of one kind, reused by every query (what a query touched is reset when it ends). One query at
    a time: a second, concurrent one gets arrays of its own (see :meth:`take`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loc = np.zeros(0, dtype=np.int64)  # slot -> local index + 1 (0: not seen)
        self.kmark = np.zeros(0, dtype=np.int64)  # slot -> position among the kept documents + 1
        self.tmap = np.zeros(0, dtype=np.int64)  # term id -> query term index + 1
        self.lp = np.zeros(0, dtype=np.float64)  # local -> partial score
        self.lseq = np.zeros(0, dtype=np.int64)  # local -> first-seen position (-1: not among the scored)
        self.lslot = np.zeros(0, dtype=np.int64)  # local -> slot
        self.lgb = np.zeros(0, dtype=np.float64)  # group * stride + local -> best contribution (-1: none)
        self.stride = 0

    def fit(self, n_slots: int, n_groups: int, n_terms: int) -> None:
        if not len(self.loc) or len(self.loc) < n_slots:
            size = max(n_slots, 2 * len(self.loc), 64)
            self.loc = np.zeros(size, dtype=np.int64)
            self.kmark = np.zeros(size, dtype=np.int64)
            self.lp = np.zeros(size, dtype=np.float64)
            self.lseq = np.full(size, -1, dtype=np.int64)
            self.lslot = np.zeros(size, dtype=np.int64)
        if len(self.tmap) < n_terms:
            self.tmap = np.zeros(max(n_terms, 2 * len(self.tmap), 64), dtype=np.int64)
        if self.stride != len(self.loc) or len(self.lgb) < n_groups * self.stride:
            self.stride = len(self.loc)
            rows = max(n_groups, 8, 2 * (len(self.lgb) // max(self.stride, 1)) if len(self.lgb) else 8)
            self.lgb = np.full(rows * self.stride, -1.0, dtype=np.float64)

    @classmethod
    def take(cls, shared: Scratch) -> tuple[Scratch, bool]:
        """``shared`` when free (then release it with ``shared.lock.release()``), else fresh arrays."""
        if shared.lock.acquire(blocking=False):
            return shared, True
        return cls(), False


class _Run:
    """One kind, one query: the documents seen (local indices) and their partial scores."""

    def __init__(self, scratch: Scratch, n_groups: int) -> None:
        self.s = scratch
        self.n_groups = n_groups
        self.n = 0  # local indices handed out
        self.count = 0  # documents among the scored (a walk's dict): seen with an update, or forced
        self.nonempty = [False] * n_groups  # a group's best-contribution dict is non-empty
        self.assigned: list[Ints] = []

    def locals_of(self, slots: Ints) -> Ints:
        """Local indices of ``slots`` (new ones get the next indices)."""
        s = self.s
        loc = s.loc[slots]
        new = loc == 0
        if new.any():
            fresh = slots[new]
            k = len(fresh)
            s.loc[fresh] = np.arange(self.n + 1, self.n + k + 1)
            winners = fresh[s.loc[fresh] == np.arange(self.n + 1, self.n + k + 1)]
            if len(winners) < k:  # a slot more than once: number each once, in order of first appearance
                firsts = np.unique(fresh, return_index=True)[1]
                fresh = fresh[np.sort(firsts)]
                k = len(fresh)
                s.loc[fresh] = np.arange(self.n + 1, self.n + k + 1)
            s.lslot[self.n : self.n + k] = fresh
            self.assigned.append(fresh)
            self.n += k
            loc = s.loc[slots]
        return loc - 1

    def release(self) -> None:
        s = self.s
        n = self.n
        for fresh in self.assigned:
            s.loc[fresh] = 0
        s.lp[:n] = 0.0
        s.lseq[:n] = -1
        s.lgb.reshape(-1, s.stride)[: self.n_groups, :n] = -1.0

    def scored(self) -> Ints:
        """Local indices of the scored documents, in first-seen order."""
        n = self.n
        seq = self.s.lseq[:n]
        loc = np.flatnonzero(seq >= 0)
        return loc[np.argsort(seq[loc], kind="stable")]

    def values(self) -> Floats:
        n = self.n
        if self.count == n:
            return self.s.lp[:n]
        return self.s.lp[:n][self.s.lseq[:n] >= 0]

    def best(self, limit: int, least: float | None = None) -> Ints:
        """Local indices of the ``limit`` best scored documents, ties in first-seen order (``_largest``)."""
        s = self.s
        n = self.n
        lp, seq = s.lp[:n], s.lseq[:n]
        if least is None:
            vals = self.values()
            if len(vals) > limit:
                least = float(np.partition(vals, len(vals) - limit)[len(vals) - limit])
        cand = np.flatnonzero(seq >= 0) if least is None else np.flatnonzero((seq >= 0) & (lp >= least))
        order = np.lexsort((seq[cand], -lp[cand]))
        return cand[order[:limit]]

    def masks(self, local: Ints, bits: Sequence[int]) -> Ints:
        """Per local document, the OR of the concept bits of the groups whose best holds it."""
        s = self.s
        out = np.zeros(len(local), dtype=np.int64)
        for g, b in enumerate(bits):
            if b and self.nonempty[g]:
                out |= np.where(s.lgb[g * s.stride + local] >= 0.0, b, 0)
        return out

    # --------------------------------------------------------------------------------- applying updates
    def _apply(self, loc: Ints, grp: Ints, x: Floats, first: Bools, pos: Ints | None) -> None:
        """One round: every document at most once. ``partial += x - old`` where ``x`` beats the group's best
        ``old`` (or the group had no best yet: then every document is stored, as a dict update would)."""
        s = self.s
        flat = grp * s.stride + loc
        old = s.lgb[flat]
        kept = np.maximum(old, 0.0)
        upd = first | (x > kept)
        if not upd.all():
            loc, flat, x, kept = loc[upd], flat[upd], x[upd], kept[upd]
            if pos is not None:
                pos = pos[upd]
        lp = s.lp
        lp[loc] = lp[loc] + x - kept
        s.lgb[flat] = x
        if pos is not None:
            new = s.lseq[loc] < 0
            if new.any():
                s.lseq[loc[new]] = pos[new]
                self.count += int(new.sum())

    def replay(
        self,
        loc: Ints,
        item: Ints,
        x: Floats,
        pos: Ints | None,
        groups: Ints,
        first: Bools,
    ) -> None:
        """Apply entries sorted by document, then by processing order (item, then term within the item). The
        entries of one (document, item) are the terms of a multi-term variant: summed in order first."""
        n = len(loc)
        if n == 0:
            return
        if n > 1:
            seg = np.empty(n, dtype=bool)
            seg[0] = True
            np.not_equal(loc[1:], loc[:-1], out=seg[1:])
            seg[1:] |= item[1:] != item[:-1]
            if not seg.all():
                starts = np.flatnonzero(seg)
                runs = np.diff(np.append(starts, n))
                total = x[starts]
                for r in range(1, int(runs.max())):
                    more = np.flatnonzero(runs > r)
                    total[more] = total[more] + x[starts[more] + r]
                loc, item, x = loc[starts], item[starts], total
                if pos is not None:
                    pos = pos[starts]
        m = len(loc)
        if m > 1 and (loc[1:] == loc[:-1]).any():
            head = np.empty(m, dtype=bool)
            head[0] = True
            np.not_equal(loc[1:], loc[:-1], out=head[1:])
            starts = np.flatnonzero(head)
            rank = np.arange(m) - np.repeat(starts, np.diff(np.append(starts, m)))
            top = int(rank.max())
            order = np.argsort(rank.astype(np.int16 if top < 32000 else np.int64), kind="stable")
            sizes = np.bincount(rank)
            at = 0
            for size in sizes.tolist():
                sel = order[at : at + size]
                at += size
                it = item[sel]
                self._apply(loc[sel], groups[it], x[sel], first[it], None if pos is None else pos[sel])
            return
        self._apply(loc, groups[item], x, first[item], pos)


def score(
    coll: Collection,
    items: Sequence[Item],
    rest: Sequence[float],
    bits: Sequence[int],
    *,
    k: int,
    depth: int,
    forced: Iterable[int],
    concepts: int,
    coverage: float,
    with_masks: bool,
    scratch: Scratch,
    stats: list[int],
) -> Scored:
    """Scores of the documents of ``coll`` that can reach the top ``k`` (and the ``forced`` ones). ``items`` sorted
    by bound (descending), ``rest[i]`` the most an unseen document can collect from items ``i`` on, ``bits`` the
    concept bits per group, ``coverage`` the coverage weight (0: no coverage factor). ``stats`` receives (items,
    traversed, completed, seen, scored)."""
    n_groups = len(bits)
    work, shared = Scratch.take(scratch)
    try:
        work.fit(coll.n_slots, n_groups, len(coll.terms))
        run = _Run(work, n_groups)
        try:
            return _score(coll, items, rest, bits, run, k, depth, forced, concepts, coverage, with_masks, stats)
        finally:
            run.release()
    finally:
        if shared:
            scratch.lock.release()


def _score(
    coll: Collection,
    items: Sequence[Item],
    rest: Sequence[float],
    bits: Sequence[int],
    run: _Run,
    k: int,
    depth: int,
    forced: Iterable[int],
    concepts: int,
    w: float,
    with_masks: bool,
    stats: list[int],
) -> Scored:
    s = run.s
    forced_ids = list(dict.fromkeys(forced))
    forced_set = list(set(dict.fromkeys(forced_ids)))  # the order a walk's ``set(partial)`` iterates in
    if forced_ids:
        slots = np.array([coll.slot_of[d] for d in forced_ids], dtype=np.int64)
        loc = run.locals_of(slots)
        s.lseq[loc] = np.arange(len(loc))
        run.count = len(loc)
    pos_base = len(forced_ids)
    low = 1.0 - w + w / concepts if w else 1.0  # the least coverage factor of a document seen
    n_items = len(items)
    groups = np.array([it.group for it in items], dtype=np.int64)
    first = np.zeros(n_items, dtype=bool)
    stop = n_items
    theta_at = float("inf")
    i = 0
    while i < n_items:
        if run.count >= k and rest[i] < theta_at:
            vals = run.values()
            if rest[i] < float(vals.max()):
                want = k if low == 1.0 else 4 * k
                top = np.sort(np.partition(vals, len(vals) - want)[len(vals) - want :] if len(vals) > want else vals)
                kth = float(top[-k])
                if low != 1.0 and rest[i] < kth:
                    kth = _kth_covered(run, bits, k, concepts, w, float(top[0]))
                if rest[i] < kth:
                    stop = i
                    break
            theta_at = 0.85 * rest[i]
        j = i + 1
        while j < n_items and not rest[j] < theta_at:
            j += 1
        pos_base = _traverse(run, items, i, j, groups, first, pos_base)
        i = j
    todo = [it for it in items[:stop] if not it.complete] + list(items[stop:])
    if not todo:
        keep = run.scored()
    else:
        keep = run.best(depth) if run.count > depth else run.scored()
        if run.count > depth and forced_ids:
            inside = set(s.lslot[keep].tolist())
            extra = [coll.slot_of[d] for d in forced_set if coll.slot_of[d] not in inside]
            if extra:
                keep = np.concatenate((keep, s.loc[np.array(extra, dtype=np.int64)] - 1))
        _complete(coll, run, todo, keep)
    stats[:] = [n_items, stop, len(todo), run.count, len(keep)]
    masks = run.masks(keep, bits) if with_masks else None
    return Scored(coll.ids[s.lslot[keep]], s.lp[keep].copy(), masks)


def _kth_covered(run: _Run, bits: Sequence[int], k: int, concepts: int, w: float, least: float) -> float:
    """A lower bound of the k-th best final score: among the 4k best partial scores (``least``: the 4k-th), the
    k-th best partial score times the coverage factor of the concepts matched so far."""
    top = run.best(4 * k, least)
    m = run.masks(top, bits)
    lows = run.s.lp[top] * (1.0 - w + w * np.bitwise_count(m).astype(np.int64) / concepts)
    return float(heapq.nlargest(k, lows.tolist())[-1])


def _traverse(run: _Run, items: Sequence[Item], i: int, j: int, groups: Ints, first: Bools, pos_base: int) -> int:
    """Traverse the seek lists of ``items[i:j]`` (one batch); returns the next free first-seen position."""
    slots: list[Int32s] = []
    sats: list[Floats] = []
    coefs: list[float] = []
    sizes: list[int] = []
    owners: list[int] = []
    for idx in range(i, j):
        it = items[idx]
        g = it.group
        first[idx] = not run.nonempty[g]
        for p, c, _ in it.seek:
            if len(p):
                slots.append(p.slots)
                sats.append(p.sats)
                coefs.append(c)
                sizes.append(len(p))
                owners.append(idx)
                run.nonempty[g] = True
    if not slots:
        return pos_base
    if len(slots) == 1:
        s_all = slots[0]
        x = sats[0] * coefs[0]
        item = np.full(len(s_all), owners[0], dtype=np.int64)
    else:
        s_all = np.concatenate(slots)
        size = np.array(sizes, dtype=np.int64)
        x = np.concatenate(sats) * np.repeat(np.array(coefs, dtype=np.float64), size)
        item = np.repeat(np.array(owners, dtype=np.int64), size)
    n = len(s_all)
    loc = run.locals_of(s_all.astype(np.int64))
    pos = np.arange(pos_base, pos_base + n, dtype=np.int64)
    if len(slots) > 1:  # order by document, then by processing order
        key = np.sort(loc * n + np.arange(n, dtype=np.int64))
        order = key % n
        loc, x, item, pos = key // n, x[order], item[order], pos[order]
    run.replay(loc, item, x, pos, groups, first)
    return pos_base + n


def _complete(coll: Collection, run: _Run, todo: Sequence[Item], keep: Ints) -> None:
    """Complete the scores of the kept documents with the full postings of the ``todo`` items, in their order."""
    s = run.s
    n_keep = len(keep)
    if n_keep == 0:
        return
    kslots = s.lslot[keep]
    # the terms of the items (the forward index knows them), and the phrases (posting lists of their own)
    pair_tid: list[int] = []
    pair_item: list[int] = []
    pair_term: list[int] = []
    pair_coef: list[float] = []
    phrases: list[tuple[int, Postings]] = []
    n_terms = 1
    for j, it in enumerate(todo):
        n_terms = max(n_terms, len(it.full))
        for o, (p, c, tid) in enumerate(it.full):
            if tid < 0:
                phrases.append((j, p))
            else:
                pair_tid.append(tid)
                pair_item.append(j)
                pair_term.append(o)
                pair_coef.append(c)
    owner_parts: list[Ints] = []
    item_parts: list[Ints] = []
    term_parts: list[Ints] = []
    x_parts: list[Floats] = []
    if pair_tid:
        tid_arr = np.array(pair_tid, dtype=np.int64)
        uniq, inverse = np.unique(tid_arr, return_inverse=True)
        s.tmap[uniq] = np.arange(1, len(uniq) + 1)
        try:
            owner, ftid, fsat = coll.forward(kslots)
            u = s.tmap[ftid] - 1
        finally:
            s.tmap[uniq] = 0
        hit = u >= 0
        owner, u, fsat = owner[hit], u[hit], fsat[hit]
        # pairs grouped by unique term: a term may stand in several items (or twice in one)
        by_u = np.argsort(inverse, kind="stable")
        counts = np.bincount(inverse, minlength=len(uniq))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        reps = counts[u]
        if len(u) and int(reps.max()) > 1:
            pick = np.repeat(starts[u], reps) + _within(reps)
            owner = np.repeat(owner, reps)
            fsat = np.repeat(fsat, reps)
        else:
            pick = starts[u]
        pair = by_u[pick]
        coef = np.array(pair_coef, dtype=np.float64)[pair]
        owner_parts.append(owner)
        item_parts.append(np.array(pair_item, dtype=np.int64)[pair])
        term_parts.append(np.array(pair_term, dtype=np.int64)[pair])
        x_parts.append(coef * fsat)
    if phrases:
        s.kmark[kslots] = np.arange(1, n_keep + 1)
        try:
            for j, p in phrases:
                at = s.kmark[p.slots] - 1
                hit = at >= 0
                owner_parts.append(at[hit])
                item_parts.append(np.full(int(hit.sum()), j, dtype=np.int64))
                term_parts.append(np.zeros(int(hit.sum()), dtype=np.int64))
                x_parts.append(1.0 * p.sats[hit])
        finally:
            s.kmark[kslots] = 0
    owner = np.concatenate(owner_parts) if owner_parts else np.zeros(0, dtype=np.int64)
    item = np.concatenate(item_parts) if item_parts else np.zeros(0, dtype=np.int64)
    term = np.concatenate(term_parts) if term_parts else np.zeros(0, dtype=np.int64)
    x = np.concatenate(x_parts) if x_parts else np.zeros(0, dtype=np.float64)
    # the groups' state before each item: an item whose group has no best yet stores all it finds
    n_todo = len(todo)
    per_item = np.bincount(item, minlength=n_todo).tolist()
    groups = np.array([it.group for it in todo], dtype=np.int64)
    first = np.zeros(n_todo, dtype=bool)
    for j, it in enumerate(todo):
        first[j] = not run.nonempty[it.group]
        if per_item[j]:
            run.nonempty[it.group] = True
    if len(owner) == 0:
        return
    order = np.argsort((owner * n_todo + item) * n_terms + term)
    run.replay(keep[owner[order]], item[order], x[order], None, groups, first)


def _within(reps: Ints) -> Ints:
    """0, 1, …, r-1 for each r in ``reps``, concatenated."""
    ends = np.cumsum(reps)
    return np.arange(int(ends[-1]), dtype=np.int64) - np.repeat(ends - reps, reps)
