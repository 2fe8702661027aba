"""The arithmetic of topics (pure, no database): IDF weights, centred meaning vectors, the topics' centroids, the
meaning rows of all topics as one matrix (``MeaningRows``) and the batch scoring of a refinement pass (``Batch``).
``bot.needs.grouping`` decides where questions go; this module only computes similarities (see its docstring for
the model: words and meaning joined into one unit vector, a topic the sum of its members)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.needs.analysis import Concepts

IDF_MIN_ITEMS = 1000
CENTER_PRIOR_ITEMS = 100.0  # the reference mean counts as this many questions when a collection is centred
LANGUAGE_PRIOR_ITEMS = 5.0  # a language's mean is shrunk as if this many more questions (at the mean) were in it
Vector = npt.NDArray[np.float32]

Words = dict[str, float]  # an item's unit-length IDF-weighted word vector, heaviest term first


@dataclass(slots=True)
class Topic:
    id: int
    members: list[str] = field(default_factory=list)  # in processing order at the end of a run
    _joined: dict[str, None] = field(default_factory=dict)  # the members while the run goes on (O(1) removal)
    centroid: dict[str, float] = field(default_factory=dict)  # sum of the members' word parts
    words2: float = 0.0  # squared length of ``centroid``
    row: int = -1  # its row in the meaning matrix (-1: no member with meaning yet)

    @property
    def size(self) -> int:
        return len(self._joined)


def idf_weights(vectors: Iterable[Concepts], *, min_items: int = IDF_MIN_ITEMS) -> dict[str, float]:
    """Smoothed IDF over the items: ``ln(1 + max(N, min_items) / df)``. With few questions (a new deployment) a
    word most of them use is not a common word: counting at least ``min_items`` questions keeps it heavy."""
    df: dict[str, int] = {}
    n = 0
    for concepts in vectors:
        n += 1
        for t in concepts.terms:
            df[t] = df.get(t, 0) + 1
    size = max(n, min_items)
    return {t: math.log1p(size / d) for t, d in df.items()}


def idf_size(count: int, *, min_items: int = IDF_MIN_ITEMS) -> float:
    """The IDF of a term only one of ``count`` items has (what a term new since the fit weighs)."""
    return math.log1p(max(count, min_items))


@dataclass(frozen=True, slots=True)
class Centre:
    """The centre of a collection's meaning vectors, fitted once (``fit_centre``) and applied to any vector after
    (``apply``): the collection's mean (blended with a reference mean) and, per language, the mean of the vectors
    once that is taken out. Kept between full refits so that a new question is centred without the collection."""

    mean: npt.NDArray[np.float64] | None  # None: nothing fitted (no vector and no reference mean)
    languages: dict[str, npt.NDArray[np.float64]]
    by_language: bool

    def apply(self, vectors: Mapping[str, Vector], languages: Mapping[str, str] | None = None) -> dict[str, Vector]:
        """The vectors centred at unit length (keys in sorted order; the same vector gives the same result
        whatever else is centred with it)."""
        if not vectors:
            return {}
        keys = sorted(vectors)
        matrix = np.stack([np.asarray(vectors[k], dtype=np.float64) for k in keys])
        if self.mean is not None:
            matrix -= self.mean
        unit(matrix)
        if self.by_language:
            rows: dict[str, list[int]] = {}
            for i, k in enumerate(keys):
                rows.setdefault((languages or {}).get(k, ""), []).append(i)
            for language in sorted(rows):
                mean = self.languages.get(language)
                if mean is not None:
                    ix = rows[language]
                    matrix[ix] -= mean
            unit(matrix)
        out = matrix.astype(np.float32)
        return {k: out[i] for i, k in enumerate(keys)}


def fit_centre(
    vectors: Mapping[str, Vector],
    *,
    prior: Vector | None = None,
    prior_items: float = CENTER_PRIOR_ITEMS,
    languages: Mapping[str, str] | None = None,
    language_prior_items: float = LANGUAGE_PRIOR_ITEMS,
) -> Centre:
    """The centre of ``vectors`` (see ``centred``)."""
    if not vectors:
        mean = np.asarray(prior, dtype=np.float64) if prior is not None else None
        return Centre(mean, {}, bool(languages))
    keys = sorted(vectors)
    matrix = np.stack([np.asarray(vectors[k], dtype=np.float64) for k in keys])
    total = matrix.sum(axis=0)
    count = float(len(keys))
    if prior is not None:
        total += prior_items * np.asarray(prior, dtype=np.float64)
        count += prior_items
    mean = total / count
    means: dict[str, npt.NDArray[np.float64]] = {}
    if languages:
        matrix -= mean
        unit(matrix)
        rows: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            rows.setdefault(languages.get(k, ""), []).append(i)
        for language in sorted(rows):
            ix = rows[language]
            means[language] = matrix[ix].sum(axis=0) / (len(ix) + language_prior_items)
    return Centre(mean, means, bool(languages))


def centred(
    vectors: Mapping[str, Vector],
    *,
    prior: Vector | None = None,
    prior_items: float = CENTER_PRIOR_ITEMS,
    languages: Mapping[str, str] | None = None,
    language_prior_items: float = LANGUAGE_PRIOR_ITEMS,
) -> dict[str, Vector]:
    """The vectors minus the collection's mean, at unit length. ``prior`` (a reference mean of the same model)
    counts as ``prior_items`` vectors, so a small collection is not centred on its own few topics.

    With ``languages`` (key -> language code) the mean of each language is subtracted as well (shrunk towards none
    by ``language_prior_items``): e5 vectors carry the language a text is written in, and the language is not the
    topic — "pay-as-you-throw" and "diftar" come closer once the English and the Dutch mean are taken out."""
    centre = fit_centre(
        vectors, prior=prior, prior_items=prior_items, languages=languages, language_prior_items=language_prior_items
    )
    return centre.apply(vectors, languages)


@dataclass(frozen=True, slots=True)
class Fit:
    """The collection statistics grouping weighs items with: the terms' IDF and the meaning vectors' centre.
    Fitted on a collection (``Grouper.fit``) and kept between full refits (``bot.needs.state``), so an incremental
    run weighs its new items without the whole collection."""

    idf: dict[str, float]
    unseen: float  # the IDF of a term none of the fitted items has (as rare as a term can be)
    centre: Centre | None  # None: no item had a meaning vector and no reference mean was given


def unit(matrix: npt.NDArray[np.float64]) -> None:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    matrix /= norms


def heaviest(kv: tuple[Any, float]) -> tuple[float, Any]:
    """Sort key: the largest value first, ties by key (so the order never depends on dict order)."""
    return (-kv[1], kv[0])


class MeaningRows:
    """The topics' meaning parts as rows of one matrix (sums of the members' scaled vectors), grown by doubling."""

    def __init__(self, dim: int) -> None:
        self.matrix = np.zeros((64, dim), dtype=np.float32)
        self.norm2 = np.zeros(64, dtype=np.float64)  # squared length of each row
        self.words2 = np.zeros(64, dtype=np.float64)  # the topic's word part, squared length (for the norm)
        self.inverse = np.zeros(64, dtype=np.float64)  # 1 / the topic's whole length (0 for an empty topic)
        self.topic_ids: list[int] = []

    def add_row(self, topic_id: int) -> int:
        row = len(self.topic_ids)
        if row == len(self.matrix):
            self.matrix = np.vstack([self.matrix, np.zeros_like(self.matrix)])
            self.norm2 = np.concatenate([self.norm2, np.zeros_like(self.norm2)])
            self.words2 = np.concatenate([self.words2, np.zeros_like(self.words2)])
            self.inverse = np.concatenate([self.inverse, np.zeros_like(self.inverse)])
        self.topic_ids.append(topic_id)
        return row

    def add(self, row: int, vec: Vector, sign: float) -> None:
        r = self.matrix[row]
        if sign > 0.0:  # the same floats as adding ``sign * vec`` (sign 1 or -1), without the product
            r += vec
        else:
            r -= vec
        self.norm2[row] = float(np.dot(r, r))
        self._length(row)

    def set_words2(self, row: int, words2: float) -> None:
        self.words2[row] = words2
        self._length(row)

    def _length(self, row: int) -> None:
        length2 = self.norm2[row] + self.words2[row]
        self.inverse[row] = 1.0 / math.sqrt(length2) if length2 > 0.0 else 0.0

    def nearest(self, vec: Vector, count: int) -> list[int]:
        """Rows of the ``count`` topics closest to ``vec`` by their meaning part (over their whole length)."""
        n = len(self.topic_ids)
        if not n:
            return []
        scores = (self.matrix[:n] @ vec) * self.inverse[:n]
        top = np.argpartition(-scores, count - 1)[:count] if n > count else np.arange(n)
        return top[scores[top] > 0.0].tolist()  # type: ignore[no-any-return]


class Batch:
    """This run's items as arrays, to score all of them against all topics at once: the word parts as a sparse
    matrix (row offsets, term columns, values) over the terms the items use, the meaning parts as a dense matrix
    (a zero row for an item without meaning). The word dots are a sparse product: each (item, term) entry meets
    the topics whose centroid has that term (``np.repeat`` over the term's postings, summed by ``np.bincount``)."""

    ENTRIES = 4_000_000  # at most this many floats in one intermediate array

    def __init__(
        self, keys: Sequence[str], words: Mapping[str, Words], meanings: Mapping[str, Vector], space: MeaningRows | None
    ) -> None:
        self.columns: dict[str, int] = {}
        counts: list[int] = []
        indices: list[int] = []
        values: list[float] = []
        for key in keys:
            vec = words[key]
            counts.append(len(vec))
            for t, x in vec.items():
                indices.append(self.columns.setdefault(t, len(self.columns)))
                values.append(x)
        sizes = np.asarray(counts, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.rows = np.repeat(np.arange(len(keys), dtype=np.int64), sizes)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = np.asarray(values, dtype=np.float64)
        self.space = space
        self.self_dot: npt.NDArray[np.float64] = np.bincount(
            self.rows, weights=self.values**2, minlength=len(keys)
        ).astype(np.float64, copy=False)
        self.meaning: npt.NDArray[np.float32] | None = None
        if space is not None:
            self.meaning = np.zeros((len(keys), space.matrix.shape[1]), dtype=np.float32)
            for i, key in enumerate(keys):
                sem = meanings.get(key)
                if sem is not None:
                    self.meaning[i] = sem
            self.self_dot += np.einsum("ij,ij->i", self.meaning, self.meaning, dtype=np.float64)

    def best(
        self,
        topic_ids: Sequence[int],
        current: Sequence[int],
        topics: Mapping[int, Topic],
        postings: Mapping[str, Mapping[int, float]] | None = None,
    ) -> tuple[list[int], npt.NDArray[np.float64]]:
        """Per item: the most similar of ``topic_ids`` (ties: the lower id; -1 when none is similar at all) and the
        similarity, with the item taken out of its ``current`` topic. ``postings`` (term -> topic id -> the
        centroid's value, as ``Grouper`` keeps them): the topics' side is read through the items' terms only
        (in proportion to the items, not to every topic's terms); the same sums."""
        n, width = len(current), len(topic_ids)
        best_sim = np.zeros(n, dtype=np.float64)
        best_col = np.full(n, -1, dtype=np.int64)
        if not width:
            return [-1] * n, best_sim
        column_of = {t: j for j, t in enumerate(topic_ids)}
        own = np.asarray([column_of.get(t, -1) for t in current], dtype=np.int64)
        side = self._topic_side(topic_ids, topics, postings)
        pairs = side.counts[self.indices]  # per (item, term) entry: how many topics have the term
        per_item = np.bincount(self.rows, weights=pairs, minlength=n) + width
        valid = side.norm2 > 1e-12
        root = np.sqrt(np.where(valid, side.norm2, 1.0))
        invalid = ~valid
        i0 = 0
        while i0 < n:
            # as many items as keep the intermediate arrays under ENTRIES (at least one)
            i1 = i0 + max(1, int(np.searchsorted(np.cumsum(per_item[i0:]), self.ENTRIES, side="right")))
            scores = self._dots(side, pairs, i0, i1)
            # the item's own topic without the item (its dot and the topic's length from the cell's values)
            inside = np.flatnonzero(own[i0:i1] >= 0)
            cols = own[i0:i1][inside]
            d = scores[inside, cols]
            x2 = self.self_dot[i0:i1][inside]
            own_length2 = side.norm2[cols] - (2.0 * d - x2)
            own_valid = own_length2 > 1e-12
            own_scores = np.where(own_valid, (d - x2) / np.sqrt(np.where(own_valid, own_length2, 1.0)), 0.0)
            # every other cell: the dot over the topic's length, one square root per topic
            scores /= root
            if invalid.any():
                scores[:, invalid] = 0.0
            scores[inside, cols] = own_scores
            top = np.argmax(scores, axis=1)
            value = scores[np.arange(i1 - i0), top]
            good = value > 0.0
            best_sim[i0:i1][good] = value[good]
            best_col[i0:i1][good] = top[good]
            i0 = i1
        return [topic_ids[int(c)] if c >= 0 else -1 for c in best_col], best_sim

    def _topic_side(
        self,
        topic_ids: Sequence[int],
        topics: Mapping[int, Topic],
        postings: Mapping[str, Mapping[int, float]] | None = None,
    ) -> TopicSide:
        """The topics' word centroids over the items' terms, as postings sorted by term; their meaning rows. (The
        order of a term's postings does not matter: an (item, topic) cell gets one value per item term.)"""
        width = len(topic_ids)
        terms: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        norm2 = np.empty(width, dtype=np.float64)
        rows = np.full(width, -1, dtype=np.int64)
        columns = self.columns
        if postings is not None:
            column_of = {t: j for j, t in enumerate(topic_ids)}
            for t, term in columns.items():
                for topic_id, x in postings.get(t, {}).items():
                    j = column_of.get(topic_id)
                    if j is not None:
                        terms.append(term)
                        cols.append(j)
                        values.append(x)
        for j, topic_id in enumerate(topic_ids):
            topic = topics[topic_id]
            if postings is None:
                for t, x in topic.centroid.items():
                    col = columns.get(t)
                    if col is not None:
                        terms.append(col)
                        cols.append(j)
                        values.append(x)
            norm2[j] = topic.words2
            rows[j] = topic.row
        term_array = np.asarray(terms, dtype=np.int64)
        by_term = np.argsort(term_array, kind="stable")
        counts = np.bincount(term_array, minlength=len(columns))
        means: npt.NDArray[np.float32] | None = None
        space = self.space
        if space is not None and self.meaning is not None:
            means = np.zeros((width, self.meaning.shape[1]), dtype=np.float32)
            has = rows >= 0
            means[has] = space.matrix[rows[has]]
            norm2[has] += space.norm2[rows[has]]
        return TopicSide(
            cols=np.asarray(cols, dtype=np.int64)[by_term],
            values=np.asarray(values, dtype=np.float64)[by_term],
            counts=counts,
            starts=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            norm2=norm2,
            means=means,
        )

    def _dots(self, side: TopicSide, pairs: npt.NDArray[np.int64], i0: int, i1: int) -> npt.NDArray[np.float64]:
        """Items ``i0:i1`` against every topic: the dot products (one row each)."""
        width = len(side.norm2)
        lo, hi = int(self.offsets[i0]), int(self.offsets[i1])
        counts = pairs[lo:hi]
        firsts = np.cumsum(counts) - counts  # where each entry's pairs begin
        # each pair's posting: its entry's term's first posting, plus how far the pair is into its entry's pairs
        at = np.arange(int(counts.sum()), dtype=np.int64)
        at += np.repeat(side.starts[self.indices[lo:hi]] - firsts, counts)
        cells = np.repeat((self.rows[lo:hi] - i0) * width, counts)
        cells += side.cols[at]
        weights = np.repeat(self.values[lo:hi], counts)
        weights *= side.values[at]
        flat = np.bincount(cells, weights=weights, minlength=(i1 - i0) * width).astype(np.float64, copy=False)
        dots = flat.reshape(i1 - i0, width)
        if side.means is not None and self.meaning is not None:
            dots += self.meaning[i0:i1] @ side.means.T
        return dots


@dataclass(frozen=True, slots=True)
class TopicSide:
    cols: npt.NDArray[np.int64]  # per posting (sorted by term): the topic's column
    values: npt.NDArray[np.float64]  # per posting: the centroid's value
    counts: npt.NDArray[np.int64]  # per term: how many topics have it
    starts: npt.NDArray[np.int64]  # per term: its first posting
    norm2: npt.NDArray[np.float64]  # per topic: squared length (words and meaning)
    means: npt.NDArray[np.float32] | None  # per topic: the meaning row


@dataclass(frozen=True, slots=True)
class GroupItem:
    """A question or knowledge gap to place: ``key`` like ``q:12`` / ``g:5``; ``order`` fixes the processing order.
    ``meaning``: its embedding (unit length), or None to compare it by its words only."""

    key: str
    order: tuple[object, ...]
    concepts: Concepts
    text: str = ""
    meaning: Vector | None = None
    language: str = ""  # the language the text is written in (``bot.needs.analysis.detect_language``)


@dataclass(frozen=True, slots=True)
class Placement:
    key: str
    topic_id: int
    similarity: float  # to the topic when it joined (1.0 for a seed)
    seeded: bool


@dataclass(frozen=True, slots=True)
class GroupingResult:
    placements: tuple[Placement, ...]
    topics: dict[int, Topic]
    idf: dict[str, float]
    moved: tuple[Placement, ...] = ()  # earlier items that moved with their small topic (``Grouper.place``)
    emptied: tuple[int, ...] = ()  # earlier topics left empty by those moves

    def members(self, topic_id: int) -> list[str]:
        return self.topics[topic_id].members


def renumber_new_topics(
    placements: list[Placement],
    where: Mapping[str, int],
    sims: Mapping[str, float],
    topics: dict[int, Topic],
    first_new: int,
) -> list[Placement]:
    """Topics left empty are dropped and this run's new topics are numbered again in the order of their first
    member; a new topic that holds only earlier questions (placed again into it, its own questions gone elsewhere)
    comes after those, in the order of its provisional id."""
    renumber: dict[int, int] = {}
    next_id = first_new
    for placement in placements:
        old = where[placement.key]
        if old >= first_new and old not in renumber:
            renumber[old] = next_id
            next_id += 1
    for old in sorted(t for t, topic in topics.items() if t >= first_new and topic._joined and t not in renumber):
        renumber[old] = next_id
        next_id += 1
    moved_topics = {old: topics.pop(old) for old in [t for t in topics if t >= first_new]}
    for old, topic in moved_topics.items():
        if topic._joined:
            topic.id = renumber[old]
            topics[topic.id] = topic
    for topic in list(topics.values()):
        if not topic._joined:
            del topics[topic.id]
    out: list[Placement] = []
    seen: set[int] = set()
    for placement in placements:
        topic_id = renumber.get(where[placement.key], where[placement.key])
        seeded = topic_id >= first_new and topic_id not in seen
        seen.add(topic_id)
        out.append(Placement(placement.key, topic_id, 1.0 if seeded else round(sims[placement.key], 6), seeded))
    return out
