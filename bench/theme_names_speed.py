"""CPU per question of a recognised theme's other names scored once a question or capped, against the shipped way,
in one process over one full-size index (round 19 of docs/matching-evaluation.md).

Usage::

    python bench/theme_names_speed.py                       # the latency benchmark's register and questions
    python bench/theme_names_speed.py --rounds 4 --slowest 40 --repeat 15

One register as ``bench/latency_matching.py`` generates it (10,000 experts, 10,000 practices, 50,000 answers, seed
7), one index; the variants differ only in the ``MatchConfig`` the search reads (``theme_names_once``,
``max_theme_expansions``), each with its own memo of the theme names. The questions are the latency benchmark's less
the held-out evaluation questions. Each question is searched ``--rounds`` times a variant, the variants alternated
round by round, and the best CPU time of the searching thread counts (the process is pinned to one core); then the
``--slowest`` questions of the shipped way are searched ``--repeat`` times more each, the variants in random order
right after one another (the steadier reading on a shared machine). Also: how many query variants a question has
(all questions; the slowest).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import time

from _data import load_queries, load_register
from latency_matching import Generator

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher

VARIANTS = {
    "each (before round 19)": MatchConfig(theme_names_once=False),
    "once (shipped)": MatchConfig(),
    "cap 30": MatchConfig(theme_names_once=False, max_theme_expansions=30),
    "once, cap 30": MatchConfig(theme_names_once=True, max_theme_expansions=30),
    "once, cap 20": MatchConfig(theme_names_once=True, max_theme_expansions=20),
}


class Switch:
    """One matcher, the search's configuration swapped; each variant keeps its own memo of the theme names."""

    def __init__(self, m: Matcher) -> None:
        self.m = m
        self.memos: dict[str, tuple[dict, object]] = {name: ({}, None) for name in VARIANTS}  # type: ignore[type-arg]
        self.now = ""

    def use(self, name: str) -> None:
        p = self.m._parser
        if self.now:
            self.memos[self.now] = (p._rings, p._rings_at)
        self.m.config = p.config = VARIANTS[name]
        p._rings, p._rings_at = self.memos[name]
        self.now = name

    def cpu_ms(self, query: str) -> float:
        c0 = time.thread_time()
        with contextlib.suppress(QueryError):
            self.m.search(query)
        return (time.thread_time() - c0) * 1000


def pct(xs: list[float], p: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, round(p * (len(ys) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--slowest", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = Generator(reg, args.seed)
    experts = [gen.expert(i) for i in range(1, args.experts + 1)]
    practices = [gen.practice(i, args.experts) for i in range(1, args.practices + 1)]
    answers = [gen.answer(i, args.experts) for i in range(1, args.answers + 1)]
    heldout = {q.query for q in load_queries() if q.split == "heldout"}
    queries = [q for q in gen.queries(args.queries) if q not in heldout]
    m = Matcher(themes=reg.themes, places=reg.places)
    m.build(experts=experts, practices=practices, answers=answers)
    sw = Switch(m)
    names = list(VARIANTS)

    variants: dict[str, list[int]] = {n: [0] * len(queries) for n in names}  # a question's variants, all groups
    for n in names:
        sw.use(n)
        for i, q in enumerate(queries):
            with contextlib.suppress(QueryError):
                variants[n][i] = sum(len(g.variants) for g in m._parser.parse(q).groups)
    best: dict[str, list[float]] = {n: [float("inf")] * len(queries) for n in names}
    for r in range(args.rounds):
        for n in names if r % 2 == 0 else reversed(names):
            sw.use(n)
            for i, q in enumerate(queries):
                best[n][i] = min(best[n][i], sw.cpu_ms(q))
    order = sorted(range(len(queries)), key=lambda i: -best["each (before round 19)"][i])[: args.slowest]
    slow: dict[str, list[float]] = {n: [float("inf")] * len(order) for n in names}
    rng = random.Random(args.seed)
    for _ in range(args.repeat):
        for j, i in enumerate(order):
            for n in rng.sample(names, len(names)):
                sw.use(n)
                slow[n][j] = min(slow[n][j], sw.cpu_ms(queries[i]))

    print(f"{len(queries)} questions, best of {args.rounds}; the {len(order)} slowest best of {args.repeat} more")
    print(
        f"{'variant':<16}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'slowest':>9}{'vs shipped':>12}{'variants':>10}"
        f"{'slowest':>9}"
    )
    base = statistics.mean(slow["each (before round 19)"])
    for n in names:
        xs, s = best[n], statistics.mean(slow[n])
        print(
            f"{n:<16}{pct(xs, 0.5):>9.2f}{pct(xs, 0.95):>9.2f}{statistics.mean(xs):>9.2f}{s:>9.2f}"
            f"{(s / base - 1) * 100:>+11.1f}%{statistics.mean(variants[n]):>10.1f}"
            f"{statistics.mean(variants[n][i] for i in order):>9.1f}"
        )


if __name__ == "__main__":
    main()
