"""Joining whole topics after ``bot.needs.grouping.Grouper``'s first pass and refinement (pure, no database): the
fragments pass and the second step (see the grouping's module docstring for where they stand in a run).

* **fragments pass** (``_merge_fragments``): a new topic of at most ``fragment_size`` questions joins the topic
  whose centroid is mutually closest to its own when the two reach the joining threshold;
* **second step** (``_rescue``): a question still alone, a pair or three joins its closest larger topic from
  ``rescue_threshold`` when that topic stands out (``_stands_out``), or two such small topics that are each other's
  clearly closest join; repeated until nothing joins. Last, two pieces of two or three questions, one of an
  earlier run, that are each other's clearly closest join (``_join_pieces``).

All move a topic's members as a unit (``TopicBook._move_topic``), the smaller into the larger, and only on
evidence this run brought (``TopicBook._new_evidence``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.needs.parting import TopicParting
from bot.needs.topic_book import Placing
from bot.needs.topic_space import Topic, Vector, Words


class TopicJoining(TopicParting):
    """The joining half of ``Grouper`` (its base class): the steps that move whole topics."""

    meaning_threshold: float  # the joining threshold with meaning (set by ``Grouper``)

    def __init__(
        self,
        *,
        fragment_size: int,
        rescue_threshold: float | None,
        rescue_margin: float,
        rescue_size: int,
        rescue_rounds: int,
        rescue_mutual: bool,
        rescue_earlier_threshold: float,
        movable_size: int,
        replace_size: int,
    ) -> None:
        self.fragment_size = fragment_size
        self.rescue_threshold = rescue_threshold
        self.rescue_margin = rescue_margin
        self.rescue_size = rescue_size
        self.rescue_rounds = rescue_rounds
        self.rescue_mutual = rescue_mutual
        self.rescue_earlier_threshold = rescue_earlier_threshold
        super().__init__(movable_size=movable_size, replace_size=replace_size)

    def _nearest(
        self,
        vec: Words,
        sem: Vector | None,
        topics: Mapping[int, Topic],
        postings: Mapping[str, dict[int, float]],
        exclude: tuple[int, ...] = (),
    ) -> tuple[int | None, float]:
        """The most similar topic and the similarity (``Grouper._nearest``: the grouper's candidate search)."""
        raise NotImplementedError

    def _merge_fragments(self, run: Placing) -> None:
        """Join the fragments of a need: a topic of this run with at most ``fragment_size`` members joins the topic
        whose centroid is closest to its own when that topic's closest is the fragment too (mutual) and their
        cosine reaches the joining threshold. Wordings that share too little with any one question of a topic to
        join it one by one ("zwembadtarieven", "piscine communale", "swimming pool: energy costs") often share
        enough as a group. The members move into the older topic (a topic of an earlier run never moves);
        repeated until nothing merges, closest pairs first."""
        topics, postings, first_new = run.topics, run.postings, run.first_new
        while True:
            pairs: list[tuple[float, int, int]] = []
            for topic_id in sorted(topics):
                topic = topics[topic_id]
                if not self._movable_unit(topic_id, first_new, topics) or not 0 < topic.size <= self.fragment_size:
                    continue
                vec, sem = self._as_item(topic)
                if sem is None:  # by words alone, fragments stay apart (merging them did not help on bench/needs)
                    continue
                target, sim = self._nearest(vec, sem, topics, postings, exclude=(topic_id,))
                if target is None or sim < self.meaning_threshold:
                    continue
                if not self._new_evidence(topic_id, target, first_new):
                    continue
                back_vec, back_sem = self._as_item(topics[target])
                back, _ = self._nearest(back_vec, back_sem, topics, postings, exclude=(target,))
                if back == topic_id:
                    pairs.append((-sim, min(topic_id, target), max(topic_id, target)))
            merged: set[int] = set()
            for minus_sim, older, younger in sorted(set(pairs)):
                if older in merged or younger in merged:
                    continue
                way = self._direction(older, younger, first_new, topics)
                if way is None:
                    continue
                into, source = way
                merged.update((into, source))
                self._move_topic(topics[source], topics[into], -minus_sim, run)
            if not merged:
                return

    def _stands_out(
        self, source: Topic, target: int, sim: float, runner: tuple[int | None, float], run: Placing
    ) -> bool:
        """Whether ``target`` (at ``sim``) stands out for ``source`` against the next closest topic ``runner`` (id,
        similarity): ``rescue_margin`` apart, or, closer than that, when the two are told apart question by question
        (a topic of this run only): a question of ``source`` is as close as the joining threshold to a member of
        ``target`` and no member of the runner-up is closer (``_closest_members``): pieces of one need whose
        centroids sit between two needs often hold two wordings written alike (round 22, one run: dev4 0.742 ->
        0.754, the other sets and five / twenty runs unchanged; into earlier topics as well, five runs dev2 lost).
        Into a topic of an earlier run, only a piece of two or three questions is told apart this way, and more
        strictly (``_members_follow``)."""
        runner_id, runner_up = runner
        if sim - runner_up >= self.rescue_margin:
            return True
        if runner_id is None:
            return False
        if target < run.first_new:
            return self._members_follow(source, target, runner_id, run)
        closest = self._closest_members(source._joined, run.topics[target], run)
        if closest < self.meaning_threshold:
            return False
        return closest >= self._closest_members(source._joined, run.topics[runner_id], run)

    def _members_follow(self, source: Topic, target: int, runner_id: int, run: Placing) -> bool:
        """Whether a piece of this run of two or more questions (``source``) whose centroid is within the margin
        between an earlier topic ``target`` and the runner-up still joins ``target``: each of its questions finds its
        closest question among the two contenders' members in ``target``, at least ``rescue_earlier_threshold``
        close (question to question). A need asked over several runs often comes as an earlier topic of a few
        wordings and, later, a piece of two or three written a little off it; their centroid sits between it and a
        neighbouring need, but each of its wordings is plainly nearer the need's own (round 26: fed in five runs
        dev4 0.726 -> 0.734, every other development row the same). Only into a topic whose members a later run
        may still place again (named ``movable``, and at most ``replace_size`` with the piece), so a wrong join
        can still part (without that, the rows where earlier members stay put lost: dev4 five runs 0.660 ->
        0.643). A lone question is left to the margin: let in this way, it joined neighbouring needs (five runs
        dev2 0.815 -> 0.806)."""
        topics, floor = run.topics, self.rescue_earlier_threshold
        if source.size < 2 or source.id < run.first_new or target not in self._movable:
            return False
        if topics[target].size + source.size > self.replace_size:
            return False
        for key in source._joined:
            own = self._closest_members((key,), topics[target], run)
            if own < floor or own < self._closest_members((key,), topics[runner_id], run):
                return False
        return True

    def _rescue(self, run: Placing) -> None:
        """A question of this run still alone joins its closest topic on two pieces of evidence: the similarity
        reaches ``rescue_threshold`` (below the joining threshold) *and* that topic stands out — the next closest is
        at least ``rescue_margin`` less similar. A topic of two or more questions takes it (two lone questions: see
        ``rescue_mutual`` below). A wording whose vector is a little off its need ("depaving schoolyards"
        beside "ontharding van pleinen", "knelpuntvacatures" beside "werving") joins; a question between two needs,
        or near one only as near as to others, stays alone. Alone questions are taken in topic order. A topic of
        an earlier run takes one only from ``rescue_earlier_threshold`` (see the module docstring, "Runs").

        With ``rescue_mutual`` (the default) a small topic also joins a smaller one of this run — two questions
        alone, each the other's clearly closest: the similarity reaches the threshold and the margin holds on both
        sides; the older topic takes the younger's members. The whole step is repeated until nothing joins, at most
        ``rescue_rounds`` times: a question whose closest was a lone question that has since joined its need now
        finds that need closest. Together they raised dev2 0.911 -> 0.933 (the rounds) and dev3 0.886 -> 0.897 (the
        mutual pairs with the rounds; precision 0.980 -> 0.971) and changed nothing on dev.

        A new topic of up to ``rescue_size`` questions (default 3: a pair or three wordings a little off their need)
        is treated the same way, by its centroid, into a topic at least as large. Pairs raised recall on all three
        development sets (dev3 0.725 -> 0.808) for a little precision on dev2 (0.932 -> 0.911); ``rescue_size=1``
        keeps pairs apart. Since round 9 the default is 3: a need asked in two families of three wordings (dev4)
        comes together (one run dev4 0.732 -> 0.742; dev, dev2, dev3 and five / twenty runs unchanged; 4 cost dev
        0.075)."""
        topics, postings, first_new = run.topics, run.postings, run.first_new
        threshold = self.rescue_threshold
        if threshold is None:
            return
        for _ in range(self.rescue_rounds):
            moved = False
            for topic_id in sorted(t for t in topics if self._movable_unit(t, first_new, topics)):
                topic = topics[topic_id]
                if not 0 < topic.size <= self.rescue_size or not self._movable_unit(topic_id, first_new, topics):
                    continue
                vec, sem = self._as_item(topic)
                if sem is None:
                    continue
                target, sim = self._nearest(vec, sem, topics, postings, exclude=(topic_id,))
                if target is None or sim < threshold or not self._new_evidence(topic_id, target, first_new):
                    continue
                small = topics[target].size < max(2, topic.size)
                if small and not (self.rescue_mutual and self._movable_unit(target, first_new, topics)):
                    continue
                if target < first_new and sim < self.rescue_earlier_threshold:
                    continue
                runner = self._nearest(vec, sem, topics, postings, exclude=(topic_id, target))
                if not self._stands_out(topic, target, sim, runner, run):
                    continue
                if small:
                    back_vec, back_sem = self._as_item(topics[target])
                    back, back_sim = self._nearest(back_vec, back_sem, topics, postings, exclude=(target,))
                    if back != topic_id:
                        continue
                    back_runner = self._nearest(back_vec, back_sem, topics, postings, exclude=(target, topic_id))
                    if not self._stands_out(topics[target], topic_id, back_sim, back_runner, run):
                        continue
                if small:  # a mutual pair of small topics (both may move)
                    way = self._direction(min(topic_id, target), max(topic_id, target), first_new, topics)
                    if way is None:
                        continue
                    into, source = topics[way[0]], topics[way[1]]
                else:
                    into, source = topics[target], topic
                self._move_topic(source, into, round(sim, 6), run)
                moved = True
            if not moved:
                break
        self._join_pieces(run)

    def _piece(self, topic_id: int, run: Placing) -> bool:
        """Whether a topic is a piece ``_join_pieces`` may join: two to ``rescue_size`` questions, of this run or an
        earlier one the caller named movable."""
        topic = run.topics.get(topic_id)
        if topic is None or not 2 <= topic.size <= self.rescue_size:
            return False
        return topic_id >= run.first_new or topic_id in self._movable

    def _join_pieces(self, run: Placing) -> None:
        """Two pieces of two or three questions (``_piece``), at least one of an earlier run, join when each is the
        other's closest topic by centroid, reaching the joining threshold with the margin on both sides, and the join
        rests on this run (``_new_evidence``); the younger joins the older, which keeps its id and label. A need asked
        over several runs often comes as two pieces of a few wordings, an earlier one and a later one; an earlier
        topic of two or three never moves as a unit (``movable_size``), so the two stayed apart however alike (round
        27: fed in five runs dev2 / dev4 0.815 / 0.734 -> 0.833 / 0.743, twenty runs dev2 0.868 -> 0.886, every
        other development row the same; from ``rescue_earlier_threshold`` instead of the joining threshold, two
        neighbouring needs of dev joined: five runs 0.959 -> 0.892). Repeated until nothing joins."""
        topics, postings, first_new = run.topics, run.postings, run.first_new
        joined = True
        while joined:
            joined = False
            for piece_id in sorted(t for t in topics if self._piece(t, run)):
                if not self._piece(piece_id, run):
                    continue
                vec, sem = self._as_item(topics[piece_id])
                if sem is None:
                    continue
                other, sim = self._nearest(vec, sem, topics, postings, exclude=(piece_id,))
                if other is None or sim < self.meaning_threshold or not self._piece(other, run):
                    continue
                if min(piece_id, other) >= first_new or not self._new_evidence(piece_id, other, first_new):
                    continue  # two pieces of this run are the second step's
                if not self._clearly_closest(piece_id, other, sim, run):
                    continue
                older, younger = sorted((piece_id, other))
                self._move_topic(topics[younger], topics[older], round(sim, 6), run)
                joined = True
                break

    def _clearly_closest(self, a: int, b: int, sim: float, run: Placing) -> bool:
        """Whether topics ``a`` and ``b`` (``sim`` apart, ``b`` the closest to ``a``) are each other's closest, each
        at least ``rescue_margin`` closer than its next closest topic."""
        topics, postings = run.topics, run.postings
        for one in (a, b):
            vec, sem = self._as_item(topics[one])
            if one == b:
                back, _ = self._nearest(vec, sem, topics, postings, exclude=(b,))
                if back != a:
                    return False
            runner, runner_up = self._nearest(vec, sem, topics, postings, exclude=(a, b))
            if runner is not None and sim - runner_up < self.rescue_margin:
                return False
        return True
