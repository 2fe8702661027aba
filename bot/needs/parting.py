"""Parting a young earlier topic that holds two needs (pure, no database), a step of ``bot.needs.grouping.Grouper``'s
run between the refinement and the joining steps (``bot.needs.joining``).

Fed in as questions arrive, the first wording of a need is often placed before any other wording of it: it joins
the closest topic, a small one of a neighbouring need ("discrimination on the rental market" beside "housing
quality of rented homes"), by the first pass, the refinement or the second step. When its need's later wordings
come, they find that mixed topic closest, and the two needs grow as one; one run over the same questions keeps them
apart, because there the need's wordings are all there before anything settles. The members of a young topic are
placed again one by one (``TopicBook._replaceable``), but no wording of a need that has no topic of its own can
move: its only home is the mixed topic.

So a run that brings a new wording into a young earlier topic asks whether its members part in two: seeded by the
topic's oldest member and the new wording, each member goes to the seed it is closer to, question to question, then,
as the refinement would, to the part whose centroid (itself taken out) is closer, until nothing moves. The topic
parts when the two parts are settled that way, the part that leaves (with the new wording) holds two questions or
more and no more than the part that stays, and the two parts' centroids stay below the joining threshold (as topics
they would not join). The leaving part becomes a topic of this run, which the
run's joining steps do not join back (``TopicBook._new_evidence``); the topic keeps its id, its oldest member and so
its label (round 28, see ``docs/needs-evaluation.md``)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from bot.needs.topic_book import Placing, TopicBook
from bot.needs.topic_space import Topic

Matrix = npt.NDArray[np.float64]


class TopicParting(TopicBook):
    """The parting step of ``Grouper`` (a base class of it): see the module docstring."""

    meaning_threshold: float  # the joining threshold with meaning (set by ``Grouper``)
    refine: int  # how many refinement passes (set by ``Grouper``): as many settle the two parts

    def _part(self, run: Placing, new: Collection[str]) -> None:
        """Part every young earlier topic that holds two needs (see the module docstring). ``new``: this run's
        items. Only a topic the caller named movable of three to ``replace_size`` questions (those whose members a
        run may place again), holding one of this run's items (with meaning) and still its oldest member; one
        parting per topic and run."""
        if self.movable_size <= 0:
            return
        topics = run.topics
        for topic_id in sorted(self._movable):
            topic = topics.get(topic_id)
            if topic is None or not 3 <= topic.size <= self.replace_size or not topic.members:
                continue
            members = list(topic._joined)
            oldest = topic.members[0]
            if oldest not in topic._joined:
                continue
            similarity = self._similarities(members, run)
            for q, key in enumerate(members):
                if key not in new or key not in run.meanings:  # the rule was chosen with meaning
                    continue
                leaving = self._parts(similarity, members.index(oldest), q)
                if leaving is not None:
                    self._split_off(topic, [members[i] for i in np.flatnonzero(leaving)], similarity, leaving, run)
                    break

    def _parts(self, similarity: Matrix, oldest: int, seed: int) -> npt.NDArray[np.bool_] | None:
        """The members that would leave (a mask), or None when the topic stays whole: seeded by the oldest member
        and ``seed``, settled by the centroids (itself taken out), the leaving part holding ``seed`` and no larger
        than the staying one, the two centroids below the joining threshold."""
        leaving = similarity[:, seed] > similarity[:, oldest]
        leaving[oldest], leaving[seed] = False, True
        for _ in range(max(self.refine, 1) + 1):
            moved = _settle(similarity, leaving)
            if np.array_equal(moved, leaving):
                break
            leaving = moved
        else:
            return None  # not settled
        count = int(leaving.sum())
        if leaving[oldest] or not leaving[seed] or count < 2 or count > len(leaving) - count:
            return None
        staying = ~leaving
        across = float(similarity[np.ix_(staying, leaving)].sum())
        own = float(similarity[np.ix_(staying, staying)].sum()) * float(similarity[np.ix_(leaving, leaving)].sum())
        if own <= 0.0 or across / math.sqrt(own) >= self.meaning_threshold:
            return None
        return leaving

    def _split_off(
        self,
        topic: Topic,
        keys: Sequence[str],
        similarity: Matrix,
        leaving: npt.NDArray[np.bool_],
        run: Placing,
    ) -> None:
        """``keys`` (the leaving part) leave ``topic`` for a new topic of this run (an earlier member's first topic
        is noted: ``moved``)."""
        topics, where, sims, postings = run.topics, run.where, run.sims, run.postings
        part = topics[max(topics) + 1] = Topic(max(topics) + 1)  # a provisional id: numbered at the end of the run
        for i, key in zip(np.flatnonzero(leaving).tolist(), keys, strict=True):
            others = leaving.copy()
            others[i] = False
            sims[key] = round(_cosine(similarity, i, others), 6)
            if key not in where:
                self._origin.setdefault(key, topic.id)
            vec, sem = run.words[key], run.meanings.get(key)
            self._leave(topic, key, vec, sem, postings)
            self._join(part, key, vec, sem, postings)
            where[key] = part.id
        self._parted.add((topic.id, part.id))

    @staticmethod
    def _similarities(members: Sequence[str], run: Placing) -> Matrix:
        """Question to question, words and meaning (each item a unit vector: the diagonal is its length)."""
        words, meanings = run.words, run.meanings
        n = len(members)
        out = np.zeros((n, n))
        for i, a in enumerate(members):
            vec = words[a]
            for j in range(i, n):
                other = words[members[j]]
                out[i, j] = out[j, i] = sum([x * other.get(t, 0.0) for t, x in vec.items()])
        with_meaning = [i for i, k in enumerate(members) if k in meanings]
        if with_meaning:
            rows = np.stack([meanings[members[i]] for i in with_meaning]).astype(np.float64)
            out[np.ix_(with_meaning, with_meaning)] += rows @ rows.T
        return out


def _cosine(similarity: Matrix, i: int, part: npt.NDArray[np.bool_]) -> float:
    """The cosine of member ``i`` with the sum of the members in ``part`` (-inf for an empty part)."""
    if not part.any():
        return -math.inf
    norm2 = float(similarity[np.ix_(part, part)].sum()) * float(similarity[i, i])
    return float(similarity[i, part].sum()) / math.sqrt(norm2) if norm2 > 0.0 else 0.0


def _settle(similarity: Matrix, leaving: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Each member to the part whose centroid, itself taken out, is closer (ties: it stays where it is)."""
    out = leaving.copy()
    for i in range(len(leaving)):
        own = leaving.copy() if leaving[i] else ~leaving
        own[i] = False
        other = ~leaving if leaving[i] else leaving.copy()
        other[i] = False
        if _cosine(similarity, i, other) > _cosine(similarity, i, own):
            out[i] = not leaving[i]
    return out
