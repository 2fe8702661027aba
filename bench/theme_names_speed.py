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
import statistics

from _ab import add_args, alternate, build, pct

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(ap)
    args = ap.parse_args()
    m, queries = build(args)
    sw = Switch(m)
    names = list(VARIANTS)

    variants: dict[str, list[int]] = {n: [0] * len(queries) for n in names}  # a question's variants, all groups
    for n in names:
        sw.use(n)
        for i, q in enumerate(queries):
            with contextlib.suppress(QueryError):
                variants[n][i] = sum(len(g.variants) for g in m._parser.parse(q).groups)
    t = alternate(m, queries, names, sw.use, args)
    best, order, slow = t.best, t.order, t.slow

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
