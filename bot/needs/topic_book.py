"""The topics' bookkeeping while ``bot.needs.grouping.Grouper`` places items (no database): members joining and
leaving a topic (its word sums, postings and meaning row), the sums an earlier topic had before a run changed it
(``bot.needs.state.settle``), and which earlier topics a run may still move as a unit and in which direction
(``Grouper.place``'s ``movable``: the smaller joins the larger, never the other way round)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from bot.needs.state import Sums
from bot.needs.topic_space import MeaningRows, Topic, Vector, Words, heaviest


@dataclass(frozen=True, slots=True)
class Placing:
    """What the steps of one ``Grouper.place`` share and change: where each of this run's items is (and each earlier
    item moved), at what similarity; the items' word and meaning parts; the topics and their postings; and the
    first id of this run's topics."""

    where: dict[str, int]
    sims: dict[str, float]
    words: Mapping[str, Words]
    meanings: Mapping[str, Vector]
    topics: dict[int, Topic]
    postings: dict[str, dict[int, float]]
    first_new: int


class TopicBook:
    """The bookkeeping half of ``Grouper`` (its base class)."""

    def __init__(self, *, movable_size: int, replace_size: int) -> None:
        self.movable_size = movable_size  # an earlier topic this small may move as a unit (when ``movable``)
        # ... the earlier members of one this small, counting this run's first placements into it, are placed
        # again one by one (``_replaceable``)
        self.replace_size = replace_size
        self._space: MeaningRows | None = None  # the meaning rows of the state being placed into
        self._touched: set[int] = set()  # topics joined or left since ``place`` began
        self._before: dict[int, Sums] = {}  # an earlier topic's sums before ``place`` first changed it
        self._first_new = 0  # while ``place`` moves items: the first id of this run's topics (0: not placing)
        self._movable: frozenset[int] = frozenset()  # earlier topics that may join another as a unit (``place``)
        self._origin: dict[str, int] = {}  # an earlier item moved while placing -> the topic it was in
        self._parted: set[tuple[int, int]] = set()  # (topic, the part that left it) this run: not joined again

    def _join(
        self, topic: Topic, key: str, vec: Words, sem: Vector | None, postings: dict[str, dict[int, float]]
    ) -> None:
        self._touch(topic)
        topic._joined[key] = None
        self._move_words(topic, vec, 1.0, postings)
        space = self._space
        if space is not None:
            if topic.row < 0:
                topic.row = space.add_row(topic.id)
            space.set_words2(topic.row, topic.words2)
            if sem is not None:
                space.add(topic.row, sem, 1.0)

    def _leave(
        self, topic: Topic, key: str, vec: Words, sem: Vector | None, postings: dict[str, dict[int, float]]
    ) -> None:
        self._touch(topic)
        del topic._joined[key]
        self._move_words(topic, vec, -1.0, postings)
        space = self._space
        if space is not None and topic.row >= 0:
            space.set_words2(topic.row, topic.words2)
            if sem is not None:
                space.add(topic.row, sem, -1.0)
            if not topic._joined:
                space.matrix[topic.row] = 0.0
                space.norm2[topic.row] = 0.0
                space.set_words2(topic.row, 0.0)

    def _touch(self, topic: Topic) -> None:
        """Note that ``topic`` changes; while placing, keep an earlier topic's sums as they were first."""
        if topic.id in self._touched:
            return
        self._touched.add(topic.id)
        if self._first_new > 0 and topic.id < self._first_new:
            space = self._space
            row = space.matrix[topic.row].copy() if space is not None and topic.row >= 0 else None
            norm2 = float(space.norm2[topic.row]) if space is not None and topic.row >= 0 else 0.0
            self._before[topic.id] = Sums(dict(topic.centroid), topic.words2, topic.members, row, norm2)

    @staticmethod
    def _move_words(topic: Topic, vec: Words, sign: float, postings: dict[str, dict[int, float]]) -> None:
        c = topic.centroid
        get = c.get
        topic_id = topic.id
        n2 = topic.words2
        empty = not topic._joined
        for t, x in vec.items():
            old = get(t, 0.0)
            new = old + sign * x
            if empty or (sign < 0 and abs(new) < 1e-12):
                c.pop(t, None)
                post = postings.get(t)
                if post is not None:
                    post.pop(topic_id, None)
                new = 0.0
            else:
                c[t] = new
                post = postings.get(t)
                if post is None:
                    postings[t] = {topic_id: new}
                else:
                    post[topic_id] = new
            n2 += new * new - old * old
        topic.words2 = 0.0 if empty else max(n2, 0.0)

    def _movable_unit(self, topic_id: int, first_new: int, topics: Mapping[int, Topic]) -> bool:
        """Whether a topic may move as a unit: one of this run's, or an earlier one the caller let move of at most
        ``movable_size`` questions."""
        return topic_id >= first_new or (topic_id in self._movable and topics[topic_id].size <= self.movable_size)

    @property
    def movable_max(self) -> int:
        """The largest earlier topic ``place`` may change (what the caller lists as ``movable``; 0: none moves)."""
        return max(self.movable_size, self.replace_size) if self.movable_size > 0 else 0

    def _replaceable(self, topics: Mapping[int, Topic], where: Mapping[str, int]) -> dict[str, int]:
        """The earlier members (not in ``where``: this run's items) of the earlier topics in ``movable`` of at most
        ``replace_size`` items as this run's first placements left them (their size counts the items of this run
        that joined them), which this run's refinement places again one by one: item key -> its topic."""
        if self.movable_size <= 0:
            return {}
        return {
            key: topic_id
            for topic_id in sorted(self._movable)
            if topic_id in topics and 0 < topics[topic_id].size <= self.replace_size
            for key in topics[topic_id]._joined
            if key not in where
        }

    def _may_replace(self, origin: int, current: int, target: int, topics: Mapping[int, Topic]) -> bool:
        """Whether an earlier member of a small movable topic (``_replaceable``) may join ``target`` in the
        refinement: it is still in its topic ``origin``, the join rests on this run (``_new_evidence``) and the
        older topic id survives: ``origin`` keeps other members, or ``target`` holds more than one question or is
        older than ``origin``. So a member leaves a topic it shares with others for a single wording of its own need
        (a lone wording asked since, or a lone earlier question): a pair of two needs' first wordings, formed before
        either need was asked again, can part as soon as one of them is asked again instead of drawing the later
        wordings of both (round 25: fed in twenty runs dev2 / dev3 / dev4 0.800 / 0.811 / 0.734 -> 0.868 / 0.825 /
        0.756, five runs dev3 / dev4 0.880 / 0.716 -> 0.916 / 0.726; before, only a topic of two or more or an older
        one took it). A member alone in its topic moves only where the older id survives, as before."""
        if current != origin or not self._new_evidence(origin, target, self._first_new):
            return False
        return topics[origin].size > 1 or topics[target].size > 1 or target < origin

    def _new_evidence(self, a: int, b: int, first_new: int) -> bool:
        """Whether joining topics ``a`` and ``b`` rests on something this run brought: one of them is new or was
        joined in this run (two earlier topics left apart by earlier runs stay apart unless one grew). A topic and
        the part this run parted from it (``TopicParting._part``) are not joined again in this run."""
        if (min(a, b), max(a, b)) in self._parted:
            return False
        return a >= first_new or b >= first_new or a in self._touched or b in self._touched

    def _direction(
        self, older: int, younger: int, first_new: int, topics: Mapping[int, Topic]
    ) -> tuple[int, int] | None:
        """(into, source) for two topics to join. Two topics of this run: the older takes the younger's members.
        Otherwise the smaller joins the larger (of two as large, the younger joins the older) when it may move (a
        topic of this run, or an earlier one in ``movable``), else the other joins it when that one may move; None:
        neither may move. An earlier topic that may not move only ever takes members (as before ``movable``)."""
        if older >= first_new:
            return older, younger
        ways = [(older, younger), (younger, older)]
        if topics[younger].size > topics[older].size:
            ways.reverse()
        for into, source in ways:
            if self._movable_unit(source, first_new, topics):
                return into, source
        return None

    def _move_topic(
        self,
        source: Topic,
        into: Topic,
        similarity: float,
        run: Placing,
    ) -> None:
        """Every member of ``source`` joins ``into`` (an earlier member's first topic is noted: ``moved``)."""
        where, sims, words, meanings, postings = run.where, run.sims, run.words, run.meanings, run.postings
        for key in list(source._joined):
            if key not in where:
                self._origin.setdefault(key, source.id)
            vec, sem = words[key], meanings.get(key)
            self._leave(source, key, vec, sem, postings)
            self._join(into, key, vec, sem, postings)
            where[key] = into.id
            sims[key] = similarity

    def _as_item(self, topic: Topic) -> tuple[Words, Vector | None]:
        """A topic's centroid as a unit-length item (words part heaviest first, meaning part or None)."""
        space = self._space
        meaning2 = float(space.norm2[topic.row]) if space is not None and topic.row >= 0 else 0.0
        norm = math.sqrt(topic.words2 + meaning2)
        if not norm:
            return {}, None
        vec = {t: x / norm for t, x in sorted(topic.centroid.items(), key=heaviest)}
        sem = (space.matrix[topic.row] / np.float32(norm)) if space is not None and meaning2 > 0.0 else None
        return vec, sem

    @staticmethod
    def _closest_members(source: Iterable[str], topic: Topic, run: Placing) -> float:
        """The highest similarity of a question of ``source`` (item keys: a topic's members, or one) to a member of
        ``topic``, question to question (words summed in the question's term order, heaviest first; the meaning
        parts in one matrix product)."""
        words, meanings = run.words, run.meanings
        members = list(topic._joined)
        with_meaning = [k for k in members if k in meanings]
        rows = np.stack([meanings[k] for k in with_meaning]) if with_meaning else None
        best = -math.inf
        for key in source:
            vec = words[key]
            sims = {k: sum([x * words[k].get(t, 0.0) for t, x in vec.items()]) for k in members}
            sem = meanings.get(key)
            if sem is not None and rows is not None:
                for k, dot in zip(with_meaning, (rows @ sem).tolist(), strict=True):
                    sims[k] += dot
            best = max([best, *sims.values()])
        return best
