"""Grouping questions into topics: incremental centroid clustering over words and meaning (pure, no database).

Every question is a unit vector of two parts:

* **words** — a sparse vector of the terms the matcher's analysis finds in it (its words' stems, compound parts,
  glossary synonyms and translations, a typo's repair, its themes — see ``bot.needs.analysis``), weighted by IDF
  over the questions and gaps of the run;
* **meaning** (when the question has an embedding, see ``bot.needs.meaning``) — its multilingual-e5 vector,
  *centred* (``centred``): the mean vector of the collection is subtracted, then the mean of the questions written
  in the same language. e5 puts any two texts near a cosine of 0.8 and two texts of one language closer than a
  text and its translation; centred, unrelated questions are near 0 and a French and a Dutch wording of one need
  come close (pairwise AUC on the development sets: 0.95 raw, 0.97 centred, 0.98-0.99 centred per language).

The two parts are scaled by ``sqrt(1 - meaning_weight)`` and ``sqrt(meaning_weight)`` and joined, so the cosine of
two questions is ``(1 - w) * words + w * meaning``. A topic is the sum of its members' vectors (its centroid); the
similarity of a question to a topic is the cosine between the question and the centroid. Questions without an
embedding are compared by their words only, with the lexical threshold.

Items not yet in a topic are taken in a fixed order (time asked, then key) and each joins the most similar topic if the
similarity reaches the threshold, otherwise it seeds a new topic; topics grow as members join, so later items see them.
A topic of this run of at most ``YOUNG_SIZE`` (two) questions takes an item with meaning only when it is also as close
as ``YOUNG_THRESHOLD`` (0.35) to one of them (``_young_join``: one or two wordings make no need's centre yet; round 23,
one run dev4 0.754 -> 0.780, the other sets and five / twenty runs unchanged); so does a movable topic of an earlier run
of one question (``earlier_young_size``; round 24, five runs dev3 0.861 -> 0.880). Refinement passes then re-place this
run's items against the grown topics — also an item left alone in the topic it seeded — until nothing moves (earlier
members never move); a pass scores every item against every topic exactly, at once. Ties go to the lower topic id. Last,
the fragments of a need are joined: a new topic of at most ``FRAGMENT_SIZE`` questions joins the topic whose centroid is
mutually closest to its own when the two centroids reach the joining threshold (wordings too different to join one by
one often agree as a group). Then a second, looser step for a question still alone, a pair or three (with meaning): it
joins its closest larger topic when the similarity reaches ``RESCUE_THRESHOLD`` *and* that topic stands out, the next
closest being at least ``RESCUE_MARGIN`` less similar (a wording a little off its need joins it; one between needs stays
alone) — or, between two topics of this run closer than that, when one of its questions is as close as the joining
threshold to a member of the closest and none of the runner-up's is closer (the members decide, ``_stands_out``). Two
such small topics that are each other's clearly closest (the margin on both sides) join too, and the step is repeated
until nothing joins (at most ``RESCUE_ROUNDS`` times): a wording whose closest question has just joined its need follows
it.

**Runs.** The needs pass places new questions every few minutes, so one need often arrives over several runs; a
question placed alone in one run would stay alone when the rest of its need comes later. The caller may therefore
name earlier topics that can still move (``place``'s ``movable``: young, no work session proposed, no staff action
on them): one of at most ``movable_size`` questions (default 1) is taken by the fragments pass and the second step
like a topic of this run, when the topic it would join is new or joined in this run (two earlier topics left apart
stay apart unless one grew). The smaller always joins the larger (of two as large, the younger the older), so a
larger topic never joins an earlier small one and keeps its id and label; a topic not named never moves. Fed in five
runs, pairwise F1 on the development sets rose from 0.905 / 0.717 / 0.819 to 0.928 / 0.796 / 0.861 (in one run
nothing changes: every topic is this run's). Letting earlier topics of two questions move as a unit as well gave
dev2 0.851 but dev3 0.776 (halves of two different needs joined), so only lone questions do. The earlier members of
a topic of at most ``replace_size`` items (default 10) with this run's first placements are instead placed again one
by one by the refinement, at the joining threshold, when the join rests on this run (``_new_evidence``) and the
older topic id survives: a wording that joined a near neighbour before its own need was asked joins the need when it
comes, the others keep the topic, its id and (but for the wording's own) its label (round 7, of two: five runs dev2
0.796 -> 0.841; round 20, of ten: twenty runs dev / dev2 / dev4 0.894 / 0.786 / 0.722 -> 0.923 / 0.800 / 0.734).
When the topic it leaves keeps other members, a single new wording of its need is enough to join (round 25,
``TopicBook._may_replace``: twenty runs dev2 / dev3 / dev4 0.800 / 0.811 / 0.734 -> 0.868 / 0.825 / 0.756).
A later piece of two or three between such a topic and a neighbouring need by its centroid joins the topic when each
of its questions is closest to one of its members (round 26, ``TopicJoining._members_follow``: five runs dev4 0.726
-> 0.734).
When a run brings a new wording into such a young topic (of three to ``replace_size``) whose members part cleanly
in two, the part with the new wording (two or more, no larger than the rest, the two parts' centroids below the
joining threshold) leaves for a topic of this run: a need's first wording that joined a neighbour's young topic
before the need was asked again, and the later wordings that followed it there, come apart; the topic keeps its id
and oldest member (round 28, ``bot.needs.parting``: twenty runs dev 0.923 -> 0.959, every other development row
the same).
``movable_size=0`` turns every move off. The second step joins a topic of an earlier run only from
``rescue_earlier_threshold`` (0.175, not 0.15): that topic stood out while the collection was partial, perhaps
before the question's own need was asked (twenty runs: dev2 0.751 -> 0.786; 0.19 cost dev3 0.02).

The weights and thresholds were chosen on the development sets (``bench/needs``): words and meaning
``(1 - 0.7) * words + 0.7 * meaning`` joining at 0.275, words alone at 0.2; the second step at 0.15 with a margin
of 0.08, for lone questions, pairs and threes (dev4). The second step was chosen leaving one development set out
(tuned on two, checked on the third): the margin does the work, any threshold from 0.1 to 0.175 gives the same topics.
Round 5 added the mutual pairs and the repetition (checked the same way: each helps one development set and
changes nothing on the other two).

* **deterministic**: the same items and earlier assignments give the same topics (explicit orders, exact sums of
  the word parts, no hashing);
* **stable**: an item once assigned never moves, but for a young question alone, or a member of a young topic of at
  most ``replace_size``, that a later run joins to its need (``movable``); a topic keeps its id (its label is kept by
  the service);
* **incremental**: a run places only the new items; earlier members only shape their topics;
* **fast**: in the first pass, candidate topics come from an inverted index of words (a term in very many topics
  only scores candidates found through rarer terms) and from the closest topic centroids by meaning (one
  matrix-vector product per question); only a short list of candidates is scored exactly. A refinement pass is a
  sparse product (items' terms x the topics holding them) and one matrix product of the meaning parts in NumPy
  (``Batch``), so it costs about what the first pass's candidate search costs, with every topic scored.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from bot.needs.analysis import Concepts
from bot.needs.joining import TopicJoining
from bot.needs.state import GroupState, resum, settle
from bot.needs.topic_book import Placing
from bot.needs.topic_space import (
    Batch,
    Fit,
    GroupingResult,
    GroupItem,
    MeaningRows,
    Placement,
    Topic,
    Vector,
    Words,
    centred,
    fit_centre,
    heaviest,
    idf_size,
    idf_weights,
    renumber_new_topics,
)

__all__ = ["Fit", "GroupItem", "GroupState", "Grouper", "GroupingResult", "Placement", "Topic", "Vector", "centred"]

DEFAULT_THRESHOLD = 0.2  # words only
DEFAULT_MEANING_THRESHOLD = 0.275  # words and meaning
DEFAULT_MEANING_WEIGHT = 0.7
COMMON_POSTINGS = 32  # a term in more topics than this finds no candidates itself (it still scores them)
FRAGMENT_SIZE = 3  # a new topic this small joins its mutually closest topic when their centroids are close enough
RESCUE_THRESHOLD = 0.15  # a question left alone joins its closest topic this close, with a second piece of evidence
RESCUE_MARGIN = 0.08  # ... when the next closest topic is at least this much less similar
RESCUE_SIZE = 3  # ... and so does a new topic of at most this many questions (by its centroid)
RESCUE_ROUNDS = 3  # ... repeated until nothing joins, at most this many times (a pair formed can then join its need)
RESCUE_EARLIER_THRESHOLD = 0.175  # ... into a topic of an earlier run only this close (its need may not be asked yet)
MOVABLE_SIZE = 1  # an earlier topic this small may still join another as a unit (``place``'s ``movable``)
REPLACE_SIZE = 10  # ... and the earlier members of one this small, with this run's first placements, placed again
YOUNG_SIZE = 2  # in the first pass, a topic of this run this small takes a question only when one of its members ...
YOUNG_THRESHOLD = 0.35  # ... is this close to it (a single wording does not yet make a need's centre)
EARLIER_YOUNG_SIZE = 1  # ... and so does a movable topic of an earlier run this small (round 24)


class Grouper(TopicJoining):
    """Places items into topics (see the module docstring)."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        meaning_threshold: float = DEFAULT_MEANING_THRESHOLD,
        meaning_weight: float = DEFAULT_MEANING_WEIGHT,
        meaning_prior: Vector | None = None,
        meaning_candidates: int = 5,
        common_postings: int = COMMON_POSTINGS,
        refine: int = 3,
        fragment_size: int = FRAGMENT_SIZE,
        rescue_threshold: float | None = RESCUE_THRESHOLD,
        rescue_margin: float = RESCUE_MARGIN,
        rescue_size: int = RESCUE_SIZE,
        rescue_rounds: int = RESCUE_ROUNDS,
        rescue_mutual: bool = True,
        rescue_earlier_threshold: float = RESCUE_EARLIER_THRESHOLD,
        movable_size: int = MOVABLE_SIZE,
        replace_size: int = REPLACE_SIZE,
        young_size: int = YOUNG_SIZE,
        young_threshold: float = YOUNG_THRESHOLD,
        earlier_young_size: int = EARLIER_YOUNG_SIZE,
        seed_terms: int = 6,
        shortlist: int = 5,
        by_language: bool = True,
    ) -> None:
        self.by_language = by_language  # centre the meaning per language as well (see ``centred``)
        self.threshold = threshold
        self.meaning_threshold = meaning_threshold
        self.meaning_weight = meaning_weight
        self.meaning_prior = meaning_prior
        self.meaning_candidates = meaning_candidates
        self.common_postings = common_postings
        self.refine = refine
        self.young_size = young_size  # 0: a topic of this run takes a question by its centroid alone (``_young_join``)
        self.young_threshold = young_threshold
        self.earlier_young_size = earlier_young_size  # 0: an earlier topic takes a question by its centroid alone
        self.seed_terms = seed_terms
        self.shortlist = shortlist
        super().__init__(
            fragment_size=fragment_size,
            rescue_threshold=rescue_threshold,
            rescue_margin=rescue_margin,
            rescue_size=rescue_size,
            rescue_rounds=rescue_rounds,
            rescue_mutual=rescue_mutual,
            rescue_earlier_threshold=rescue_earlier_threshold,
            movable_size=movable_size,
            replace_size=replace_size,
        )

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
        ones too (they make the topics, the IDF and the mean meaning). New topics get ids from ``next_topic_id``.
        A full run: the collection statistics are fitted on ``items`` (``fit``), then ``start`` and ``place``."""
        fit = self.fit(items)
        if idf is not None:
            fit = Fit(dict(idf), fit.unseen, fit.centre)
        state = self.start(items, assigned=assigned, fit=fit)
        return self.place(state, [i for i in items if i.key not in assigned], next_topic_id=next_topic_id)

    def fit(self, items: Sequence[GroupItem]) -> Fit:
        """The collection statistics of ``items``: the terms' IDF and the centre of the meaning vectors."""
        raw = {i.key: i.meaning for i in items if i.meaning is not None}
        languages = {i.key: i.language for i in items if i.language} if self.by_language else None
        centre = fit_centre(raw, prior=self.meaning_prior, languages=languages) if raw else None
        return Fit(idf_weights(i.concepts for i in items), idf_size(len(items)), centre)

    def start(self, items: Sequence[GroupItem], *, assigned: Mapping[str, int], fit: Fit) -> GroupState:
        """The topics of the placed items (``assigned``: item key -> topic id; other items are only weighed), with
        the statistics ``fit``: the state ``place`` places new items into."""
        state = GroupState(fit)
        self._add_items(state, items)
        ordered = sorted((i for i in items if i.key in assigned), key=lambda i: (i.order, i.key))
        topics = state.topics
        self._space = state.space
        for item in ordered:
            topic_id = assigned[item.key]
            topic = topics.get(topic_id)
            if topic is None:
                topic = topics[topic_id] = Topic(topic_id)
            self._join(topic, item.key, state.words[item.key], state.meanings.get(item.key), state.postings)
        for topic in topics.values():
            topic.members = list(topic._joined)
        self._space = None
        return state

    def add_placed(self, state: GroupState, items: Sequence[GroupItem], *, assigned: Mapping[str, int]) -> None:
        """Add items another process placed (``assigned``: item key -> topic id) to the state, as ``start`` would
        sum them: a topic whose new members all come after its earlier ones (processing order) adds them, any other
        is summed again (``bot.needs.state.resum``)."""
        self._add_items(state, items)
        topics = state.topics
        rank = state.rank.__getitem__
        self._space = state.space
        joined: dict[int, list[str]] = {}
        for item in sorted(items, key=lambda i: (i.order, i.key)):
            joined.setdefault(assigned[item.key], []).append(item.key)
        for topic_id, keys in sorted(joined.items()):
            topic = topics.get(topic_id)
            if topic is None:
                topic = topics[topic_id] = Topic(topic_id)
            earlier = bool(topic.members) and rank(keys[0]) < rank(topic.members[-1])
            for key in keys:
                self._join(topic, key, state.words[key], state.meanings.get(key), state.postings)
            if earlier:
                resum(state, topic, self._join)
            else:
                topic.members = list(topic._joined)
        self._space = None

    def _add_items(self, state: GroupState, items: Sequence[GroupItem]) -> None:
        """Weigh the items not weighed yet with the state's fit (their word and meaning parts)."""
        new = [i for i in items if i.key not in state.rank]
        if not new:
            return
        fit = state.fit
        raw = {i.key: i.meaning for i in new if i.meaning is not None}
        if raw and fit.centre is None:  # no vector when fitted: centred on the reference mean alone
            state.fit = fit = Fit(fit.idf, fit.unseen, fit_centre({}, prior=self.meaning_prior, languages=None))
        languages = {i.key: i.language for i in new if i.language} if self.by_language else None
        factor = np.float32(math.sqrt(self.meaning_weight))
        if fit.centre is not None:
            for k, v in fit.centre.apply(raw, languages).items():
                state.meanings[k] = v * factor
        for item in new:
            state.rank[item.key] = (item.order, item.key)
            state.words[item.key] = self._words(item.concepts, fit, item.key in state.meanings)
        if state.meanings and state.space is None:
            state.space = MeaningRows(next(iter(state.meanings.values())).shape[0])

    def place(
        self,
        state: GroupState,
        items: Sequence[GroupItem],
        *,
        next_topic_id: int,
        movable: Collection[int] = (),
    ) -> GroupingResult:
        """Place ``items`` (none placed yet) into the state's topics, new topics numbered from ``next_topic_id``; the
        state is updated (``bot.needs.state.settle``: a kept state and one made anew by ``start`` are the same).

        ``movable``: earlier topics the fragments pass and the second step may take as units like this run's small
        topics (the caller's choice); such a topic, when small enough, may join a topic at least as large, never the
        other way round; the earlier members of one of at most ``replace_size`` items, counting this run's first
        placements into it, are placed again one by one (``_refine``). See ``GroupingResult.moved`` and ``.emptied``."""
        self._add_items(state, items)
        self._movable = frozenset(t for t in movable if t < next_topic_id)
        self._origin = {}
        self._parted = set()
        ordered = sorted(items, key=lambda i: (i.order, i.key))
        words, meanings, topics, postings = state.words, state.meanings, state.topics, state.postings
        self._space = state.space
        self._touched = set()
        self._before = {}
        self._first_new = next_topic_id
        placements: list[Placement] = []
        next_id = next_topic_id
        for item in ordered:
            vec, sem = words[item.key], meanings.get(item.key)
            best_id, best_sim = self._nearest(vec, sem, topics, postings)
            if (
                best_id is not None
                and best_sim >= self._threshold(sem)
                and self._young_join(vec, sem, topics[best_id], next_topic_id, state)
            ):
                topic = topics[best_id]
                placements.append(Placement(item.key, best_id, round(best_sim, 6), False))
            else:
                topic = topics[next_id] = Topic(next_id)
                next_id += 1
                placements.append(Placement(item.key, topic.id, 1.0, True))
            self._join(topic, item.key, vec, sem, postings)
        if placements:
            where = {p.key: p.topic_id for p in placements}
            sims = {p.key: p.similarity for p in placements}
            run = Placing(where, sims, words, meanings, topics, postings, next_topic_id)
            if self.refine:
                self._refine(placements, run)
            if self._movable:
                self._part(run, where.keys() - self._origin.keys())
            if self.fragment_size:
                self._merge_fragments(run)
            if self.rescue_threshold is not None:
                self._rescue(run)
            placements, moved, emptied = self._finish(state, placements, where, sims, next_topic_id)
        else:
            state.touched = set()
            moved, emptied = (), ()
        self._first_new = 0
        self._before = {}
        self._space = None
        self._movable = frozenset()
        self._origin = {}
        self._parted = set()
        return GroupingResult(tuple(placements), topics, state.fit.idf, moved, emptied)

    def _finish(
        self,
        state: GroupState,
        placements: list[Placement],
        where: Mapping[str, int],
        sims: Mapping[str, float],
        first_new: int,
    ) -> tuple[list[Placement], tuple[Placement, ...], tuple[int, ...]]:
        """Number this run's topics for good with their postings and meaning rows; settle the touched topics."""
        topics, postings = state.topics, state.postings
        # earlier items that moved with their topic: where they are now (a topic object: it may be renumbered)
        moving = {k: topics[where[k]] for k in sorted(self._origin, key=state.rank.__getitem__)}
        emptied = tuple(sorted(t for t in set(self._origin.values()) if not topics[t]._joined))
        for topic_id in [t for t in topics if t >= first_new]:  # postings under provisional ids go: the
            for t in topics[topic_id].centroid:  # topics are summed again under their final ids below
                post = postings.get(t)
                if post is not None:
                    post.pop(topic_id, None)
                    if not post:
                        del postings[t]
        placements = renumber_new_topics(placements, where, sims, topics, first_new)
        self._first_new = 0
        renumbered = {t for t in topics if t >= first_new}  # every new topic left with members
        space = self._space
        if space is not None:  # the meaning rows of renumbered topics follow them (a later run looks them up)
            for topic_id in renumbered:
                if topics[topic_id].row >= 0:
                    space.topic_ids[topics[topic_id].row] = topic_id
        touched = {t for t in self._touched if t < first_new} | renumbered
        joined: dict[int, list[str]] = {}
        for p in placements:
            joined.setdefault(p.topic_id, []).append(p.key)
        moved = tuple(
            Placement(k, topic.id, round(sims[k], 6), False)
            for k, topic in moving.items()
            if topic.id != self._origin[k]
        )
        for m in moved:
            joined.setdefault(m.topic_id, []).append(m.key)
        left = set(self._origin.values())  # an earlier topic an item left is summed again (its sums before are stale)
        before = {t: sums for t, sums in self._before.items() if t not in left}
        settle(state, sorted(t for t in touched if t in topics), joined, before, self._join)
        state.touched = touched
        return placements, moved, emptied

    def _threshold(self, meaning: Vector | None) -> float:
        return self.threshold if meaning is None else self.meaning_threshold

    def _young_join(self, vec: Words, sem: Vector | None, topic: Topic, first_new: int, state: GroupState) -> bool:
        """Whether the first pass may put a question (``vec``, ``sem``) into ``topic``, its closest topic above the
        joining threshold: any topic, but for one of this run of at most ``young_size`` questions, which takes it
        only when the question (with meaning) is at least ``young_threshold`` close to one of its members, question
        to question (words summed in the question's term order, heaviest first). Such a topic is one or two
        wordings; its centroid is no need's centre yet, and a wording of a neighbouring need that reaches it at
        0.275–0.35 ("plan canicule : lieux frais et personnes âgées isolées" beside "loneliness among older people
        living alone") would make it a centre between two needs that draws both. The question seeds a topic of its
        own instead; the refinement, the fragments pass and the second step still join it to the grown topics
        (round 23, see ``docs/needs-evaluation.md``).

        A movable topic of an earlier run (young, nothing proposed) of at most ``earlier_young_size`` questions (one)
        is judged the same way: a wording alone from an earlier run is no need's centre either (round 24: fed in five
        runs dev3 0.861 -> 0.880, every other development row the same; two questions gave dev4 in twenty runs 0.734
        -> 0.729, round 23)."""
        if topic.id >= first_new:
            young = self.young_size
        else:
            young = self.earlier_young_size if topic.id in self._movable else 0
        if sem is None or topic.size > young:
            return True  # by words alone the joining threshold is 0.2: the rule was chosen with meaning
        words, meanings = state.words, state.meanings
        for key in topic._joined:
            sim = sum([x * words[key].get(t, 0.0) for t, x in vec.items()])
            other = meanings.get(key)
            if other is not None:
                sim += float(np.dot(sem, other))
            if sim >= self.young_threshold:
                return True
        return False

    # --- similarity ---------------------------------------------------------------------------------------------

    def _words(self, concepts: Concepts, fit: Fit, with_meaning: bool) -> Words:
        idf, unseen = fit.idf, fit.unseen
        vec = {t: w * idf.get(t, unseen) for t, w in concepts.terms.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        if not norm:
            return {}
        if with_meaning:
            norm /= math.sqrt(1.0 - self.meaning_weight)
        # heaviest first (ties by term): ``_nearest`` seeds its candidates from the first few
        return {t: x / norm for t, x in sorted(vec.items(), key=heaviest)}

    def _nearest(
        self,
        vec: Words,
        sem: Vector | None,
        topics: Mapping[int, Topic],
        postings: Mapping[str, dict[int, float]],
        exclude: tuple[int, ...] = (),
    ) -> tuple[int | None, float]:
        """The most similar topic and the similarity. Candidates are the topics reached through the item's
        ``seed_terms`` heaviest terms (a term in more than ``common_postings`` topics only when nothing else reaches
        any) and the ``meaning_candidates`` closest by meaning; the best ``shortlist`` of the word candidates by
        that partial dot product and all meaning candidates are scored exactly."""
        if not vec and sem is None:
            return None, 0.0
        terms = list(vec.items())
        scores: dict[int, float] = {}
        get_score = scores.get
        common: list[tuple[str, float]] = []
        common_postings = self.common_postings
        for t, x in terms[: self.seed_terms]:
            post = postings.get(t)
            if not post:
                continue
            if len(post) > common_postings:
                common.append((t, x))
                continue
            for topic_id, c in post.items():
                scores[topic_id] = get_score(topic_id, 0.0) + x * c
        if not scores:  # only very common terms: every topic they reach
            for t, x in common:
                for topic_id, c in postings[t].items():
                    scores[topic_id] = get_score(topic_id, 0.0) + x * c
        if len(scores) > self.shortlist:  # the heaviest (ties: the lower id), as ``heaviest`` orders them
            shortlist = {k for _, k in sorted([(-v, k) for k, v in scores.items()])[: self.shortlist]}
        else:
            shortlist = set(scores)
        space = self._space
        if sem is not None and space is not None:
            ids = space.topic_ids
            shortlist.update([ids[row] for row in space.nearest(sem, self.meaning_candidates)])
        best_id: int | None = None
        best = 0.0
        shortlist.difference_update(exclude)
        if space is not None:
            matrix, row_norm2 = space.matrix, space.norm2
        dot_product = np.dot
        sqrt = math.sqrt
        for topic_id in sorted(shortlist):
            topic = topics[topic_id]
            norm2 = topic.words2
            get = topic.centroid.get  # summed in the item's term order (heaviest first): the same for the same data
            dot = sum([x * get(t, 0.0) for t, x in terms])
            row = topic.row
            if space is not None and row >= 0:
                norm2 += float(row_norm2[row])
                if sem is not None:
                    dot += float(dot_product(sem, matrix[row]))
            if norm2 <= 0.0:
                continue
            sim = dot / sqrt(norm2)
            if sim > best:
                best_id, best = topic_id, sim
        return best_id, best

    def _refine(self, placements: list[Placement], run: Placing) -> None:
        """Re-place this run's items against the grown topics (the first items chose among the topics that existed
        when they came), up to ``refine`` passes or until nothing moves. Earlier members never move, but for those
        of a small movable topic (``_replaceable``; they move at most once, see ``_may_replace``).

        A pass scores every item against every topic at once (``Batch``: sparse word dots and the meaning matrix
        product in NumPy, the item itself taken out of its own topic), then moves the items whose best topic
        changed, in processing order; a move into a topic that this pass emptied is skipped (two questions alone
        that are each other's best join one topic instead of swapping)."""
        where, sims, topics, postings = run.where, run.sims, run.topics, run.postings
        words, meanings = run.words, run.meanings
        keys = [p.key for p in placements]
        earlier = self._replaceable(topics, where)  # earlier members of small movable topics, placed again too
        keys += sorted(earlier, key=lambda k: (earlier[k], k))
        batch = Batch(keys, words, meanings, self._space)
        limits = np.array([self._threshold(meanings.get(k)) for k in keys])
        for _ in range(self.refine):
            live = sorted(t for t, topic in topics.items() if topic._joined)
            current = [where[k] if k in where else earlier[k] for k in keys]
            best_ids, best_sims = batch.best(live, current, topics, postings)
            left: set[int] = set()
            moved = 0
            for i, key in enumerate(keys):
                target = best_ids[i]
                if target == current[i] or target < 0 or best_sims[i] < limits[i] or target in left:
                    continue
                if key in earlier:
                    if not self._may_replace(earlier[key], current[i], target, topics):
                        continue
                    self._origin.setdefault(key, earlier[key])
                vec, sem = words[key], meanings.get(key)
                source = topics[current[i]]
                self._leave(source, key, vec, sem, postings)
                if not source._joined:
                    left.add(source.id)
                self._join(topics[target], key, vec, sem, postings)
                where[key] = target
                sims[key] = float(round(best_sims[i], 6))
                moved += 1
            if not moved:
                break
