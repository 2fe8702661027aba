"""Grouping questions into topics: incremental leader clustering over concepts (pure, no database).

Every question is a sparse vector of the terms the matcher's analysis finds in it (its words' stems, compound
parts, glossary synonyms and translations, a typo's repair, its themes — see ``bot.needs.analysis``), weighted by
IDF over all questions and gaps of the run and scaled to unit length. A topic is the sum of its members' vectors
(its centroid); the similarity of a question to a topic is the cosine between the question and the centroid.
(A DisMax-style concept coverage, as the matcher scores documents, was measured too and grouped worse on the
development set: pairwise F1 0.77 against 0.82 before the other changes.)

Items not yet in a topic are taken in a fixed order (time asked, then key) and each joins the most similar topic
if the similarity reaches ``threshold``, otherwise it seeds a new topic; topics grow as members join, so later
items see them. A few refinement passes then re-place this run's items against the grown topics (earlier
members never move). Ties go to the lower topic id.

* **deterministic**: the same items and earlier assignments give the same topics (explicit orders, no hashing);
* **stable**: an item once assigned never moves and a topic keeps its id (its label is kept by the service);
* **incremental**: a run places only the new items; earlier members only shape their topics;
* **fast**: candidate topics come from an inverted index (a term in very many topics only scores candidates found
  through rarer terms) and only the best ``candidates`` by a cheap dot product are scored exactly.

An optional semantic signal (``SemanticSignal``: unit-length text embeddings, e.g. the matcher's optional
embedding model) is mixed into the similarity of the candidates; without it the grouping is lexical only.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.needs.analysis import Concepts

DEFAULT_THRESHOLD = 0.2
COMMON_POSTINGS = 32  # a term in more topics than this finds no candidates itself (it still scores them)


class SemanticSignal(Protocol):
    """Embeddings for texts (unit length, one per text); None when no model is available."""

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]] | None: ...


@dataclass(frozen=True, slots=True)
class GroupItem:
    """A question or knowledge gap to place: ``key`` like ``q:12`` / ``g:5``; ``order`` fixes the processing order."""

    key: str
    order: tuple[object, ...]
    concepts: Concepts
    text: str = ""


_Prepared = dict[str, float]  # an item's unit-length IDF-weighted vector


@dataclass(slots=True)
class Topic:
    id: int
    members: list[str] = field(default_factory=list)  # in processing order at the end of a run
    _joined: dict[str, None] = field(default_factory=dict)  # the members while the run goes on (O(1) removal)
    centroid: dict[str, float] = field(default_factory=dict)  # sum of the members' vectors
    norm2: float = 0.0  # squared length of the centroid
    semantic: list[float] | None = None  # sum of the members' embeddings

    @property
    def size(self) -> int:
        return len(self._joined)


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

    def members(self, topic_id: int) -> list[str]:
        return self.topics[topic_id].members


IDF_MIN_ITEMS = 1000


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


def _heaviest(kv: tuple[Any, float]) -> tuple[float, Any]:
    """Sort key: the largest value first, ties by key (so the order never depends on dict order)."""
    return (-kv[1], kv[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False))


class Grouper:
    """Places items into topics (see the module docstring)."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        semantic: SemanticSignal | None = None,
        semantic_weight: float = 0.4,
        semantic_floor: float = 0.85,
        semantic_candidates: int = 5,
        common_postings: int = COMMON_POSTINGS,
        refine: int = 1,
        seed_terms: int = 6,
        shortlist: int = 10,
    ) -> None:
        self.seed_terms = seed_terms
        self.shortlist = shortlist
        self.threshold = threshold
        self.semantic = semantic
        self.semantic_weight = semantic_weight
        self.semantic_floor = semantic_floor
        # topics compared by embedding to every item (all topics are scanned: meant for the optional model on
        # registers of a few thousand questions, not for the 50,000 of the lexical benchmark)
        self.semantic_candidates = (
            semantic_candidates  # e5 puts any two texts of one language near 0.75: rescaled from here
        )
        self.common_postings = common_postings
        self.refine = refine

    # --- the run ------------------------------------------------------------------------------------------------

    def run(
        self,
        items: Sequence[GroupItem],
        *,
        assigned: Mapping[str, int],
        next_topic_id: int,
        idf: Mapping[str, float] | None = None,
    ) -> GroupingResult:
        """Place every item of ``items`` not in ``assigned`` (item key -> topic id). ``items`` holds the assigned
        ones too (they make the topics and the IDF). New topics get ids from ``next_topic_id`` on."""
        weights = dict(idf) if idf is not None else idf_weights(i.concepts for i in items)
        ordered = sorted(items, key=lambda i: (i.order, i.key))
        rank = {item.key: n for n, item in enumerate(ordered)}
        prepared = {item.key: self._prepare(item.concepts, weights) for item in ordered}
        embeddings = self._embeddings(ordered)
        topics: dict[int, Topic] = {}
        postings: dict[str, dict[int, float]] = {}
        for item in ordered:
            topic_id = assigned.get(item.key)
            if topic_id is None:
                continue
            topic = topics.get(topic_id)
            if topic is None:
                topic = topics[topic_id] = Topic(topic_id)
            self._join(topic, item.key, prepared[item.key], embeddings.get(item.key), postings)
        placements: list[Placement] = []
        next_id = next_topic_id
        for item in ordered:
            if item.key in assigned:
                continue
            p = prepared[item.key]
            emb = embeddings.get(item.key)
            best_id, best_sim = self._nearest(p, emb, topics, postings)
            if best_id is not None and best_sim >= self.threshold:
                topic = topics[best_id]
                placements.append(Placement(item.key, best_id, round(best_sim, 6), False))
            else:
                topic = topics[next_id] = Topic(next_id)
                next_id += 1
                placements.append(Placement(item.key, topic.id, 1.0, True))
            self._join(topic, item.key, p, emb, postings)
        if self.refine and placements:
            placements = self._refine(placements, prepared, embeddings, topics, postings, next_topic_id)
        for topic in topics.values():
            topic.members = sorted(topic._joined, key=rank.__getitem__)
        return GroupingResult(tuple(placements), topics, weights)

    # --- similarity ---------------------------------------------------------------------------------------------

    @staticmethod
    def _prepare(concepts: Concepts, idf: Mapping[str, float]) -> _Prepared:
        vec = {t: w * idf.get(t, 1.0) for t, w in concepts.terms.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        if not norm:
            return {}
        # heaviest first (ties by term): ``_nearest`` seeds its candidates from the first few
        return {t: x / norm for t, x in sorted(vec.items(), key=_heaviest)}

    def _nearest(
        self,
        vec: _Prepared,
        emb: Sequence[float] | None,
        topics: Mapping[int, Topic],
        postings: Mapping[str, dict[int, float]],
    ) -> tuple[int | None, float]:
        """The most similar topic and the similarity. Candidates are the topics reached through the item's
        ``seed_terms`` heaviest terms (a term in more than ``common_postings`` topics only when nothing else reaches
        any); the best ``shortlist`` of them by that partial dot product are scored exactly."""
        if not vec and emb is None:
            return None, 0.0
        heavy = itertools.islice(vec.items(), self.seed_terms)
        scores: dict[int, float] = {}
        common: list[tuple[str, float]] = []
        for t, x in heavy:
            post = postings.get(t)
            if not post:
                continue
            if len(post) > self.common_postings:
                common.append((t, x))
                continue
            for topic_id, c in post.items():
                scores[topic_id] = scores.get(topic_id, 0.0) + x * c
        if not scores:  # only very common terms: every topic they reach
            for t, x in common:
                for topic_id, c in postings[t].items():
                    scores[topic_id] = scores.get(topic_id, 0.0) + x * c
        shortlist = [k for k, _ in heapq.nsmallest(self.shortlist, scores.items(), key=_heaviest)]
        if emb is not None:  # the semantic signal brings its own candidates (wordings without a shared word)
            near = [
                (tid, _dot(emb, t.semantic) / (math.sqrt(_dot(t.semantic, t.semantic)) or 1.0))
                for tid, t in topics.items()
                if t.semantic is not None
            ]
            shortlist.extend(k for k, _ in heapq.nsmallest(self.semantic_candidates, near, key=_heaviest))
        if not shortlist:
            return None, 0.0
        best_id: int | None = None
        best = 0.0
        for topic_id in sorted(set(shortlist)):
            topic = topics[topic_id]
            if topic.norm2 <= 0.0:
                continue
            centroid = topic.centroid
            # the intersection is taken in C; fsum is exact, so the order of the set does not matter
            dot = math.fsum(vec[t] * centroid[t] for t in vec.keys() & centroid.keys())
            sim = dot / math.sqrt(topic.norm2)
            if emb is not None and topic.semantic is not None:
                norm = math.sqrt(_dot(topic.semantic, topic.semantic)) or 1.0
                floor = self.semantic_floor
                sem = max(0.0, (_dot(emb, topic.semantic) / norm - floor) / (1.0 - floor))
                sim = (1.0 - self.semantic_weight) * sim + self.semantic_weight * sem
            if sim > best:
                best_id, best = topic_id, sim
        return best_id, best

    # --- topic bookkeeping --------------------------------------------------------------------------------------

    @staticmethod
    def _join(
        topic: Topic, key: str, vec: _Prepared, emb: Sequence[float] | None, postings: dict[str, dict[int, float]]
    ) -> None:
        topic._joined[key] = None
        c = topic.centroid
        n2 = topic.norm2
        for t, x in vec.items():
            old = c.get(t, 0.0)
            new = old + x
            c[t] = new
            n2 += new * new - old * old
            postings.setdefault(t, {})[topic.id] = new
        topic.norm2 = n2
        if emb is not None:
            topic.semantic = (
                list(emb) if topic.semantic is None else [a + b for a, b in zip(topic.semantic, emb, strict=True)]
            )

    @staticmethod
    def _leave(
        topic: Topic, key: str, vec: _Prepared, emb: Sequence[float] | None, postings: dict[str, dict[int, float]]
    ) -> None:
        del topic._joined[key]
        c = topic.centroid
        n2 = topic.norm2
        for t, x in vec.items():
            old = c.get(t, 0.0)
            new = old - x
            if not topic._joined or abs(new) < 1e-12:
                c.pop(t, None)
                postings.get(t, {}).pop(topic.id, None)
                new = 0.0
            else:
                c[t] = new
                postings[t][topic.id] = new
            n2 += new * new - old * old
        topic.norm2 = max(n2, 0.0) if topic._joined else 0.0
        if emb is not None and topic.semantic is not None:
            topic.semantic = [a - b for a, b in zip(topic.semantic, emb, strict=True)] if topic._joined else None

    def _refine(
        self,
        placements: list[Placement],
        prepared: Mapping[str, _Prepared],
        embeddings: Mapping[str, Sequence[float]],
        topics: dict[int, Topic],
        postings: dict[str, dict[int, float]],
        first_new: int,
    ) -> list[Placement]:
        """Re-place this run's items against the grown topics (the first items chose among the topics that existed
        when they came). Earlier members never move. Topics left empty are dropped and this run's new topics are
        numbered again in the order of their first member."""
        where = {p.key: p.topic_id for p in placements}
        sims = {p.key: p.similarity for p in placements}
        for _ in range(self.refine):
            moved = 0
            for placement in placements:
                key = placement.key
                p = prepared[key]
                emb = embeddings.get(key)
                current = topics[where[key]]
                if current.size == 1:
                    continue  # a seed alone: it would only find the topic it left
                self._leave(current, key, p, emb, postings)
                best_id, best_sim = self._nearest(p, emb, topics, postings)
                if best_id is None or best_sim < self.threshold:
                    best_id, best_sim = current.id, sims[key]
                if best_id != current.id:
                    moved += 1
                self._join(topics[best_id], key, p, emb, postings)
                where[key] = best_id
                sims[key] = best_sim
            if not moved:
                break
        renumber: dict[int, int] = {}
        next_id = first_new
        for placement in placements:
            old = where[placement.key]
            if old >= first_new and old not in renumber:
                renumber[old] = next_id
                next_id += 1
        moved_topics = {old: topics.pop(old) for old in [t for t in topics if t >= first_new]}
        for old, topic in moved_topics.items():
            if topic._joined:
                topic.id = renumber[old]
                topics[topic.id] = topic
        out: list[Placement] = []
        seen: set[int] = set()
        for placement in placements:
            topic_id = renumber.get(where[placement.key], where[placement.key])
            seeded = topic_id >= first_new and topic_id not in seen
            seen.add(topic_id)
            out.append(Placement(placement.key, topic_id, 1.0 if seeded else round(sims[placement.key], 6), seeded))
        return out

    def _embeddings(self, items: Sequence[GroupItem]) -> dict[str, Sequence[float]]:
        if self.semantic is None:
            return {}
        got = self.semantic.embed([i.text for i in items])
        if got is None:
            return {}
        return {i.key: v for i, v in zip(items, got, strict=True)}
