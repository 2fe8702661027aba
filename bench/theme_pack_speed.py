"""CPU per question of a recognised theme's other names completed as one remembered vector (``theme_names_packed``,
round 17 of docs/speed.md) against name by name, in one process over one full-size index.

Usage::

    python bench/theme_pack_speed.py                        # the latency benchmark's register and questions
    python bench/theme_pack_speed.py --rounds 4 --slowest 40 --repeat 15

One register as ``bench/latency_matching.py`` generates it (10,000 experts, 10,000 practices, 50,000 answers, seed
7), one index; the two ways differ only in the ``MatchConfig`` the matcher reads. The questions are the latency
benchmark's less the held-out evaluation questions. Each question is searched ``--rounds`` times a way, the ways
alternated round by round, and the best CPU time of the searching thread counts (the process is pinned to one
core); then the ``--slowest`` questions of name by name are searched ``--repeat`` times more each, the ways in random
order right after one another (the steadier reading on a shared machine). Also: how many of the questions' results
differ (ids in order; scores beyond 1e-9).
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

WAYS = {"name by name": MatchConfig(theme_names_packed=False), "packed (shipped)": MatchConfig()}


def pct(xs: list[float], p: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, round(p * (len(ys) - 1)))]


def _ids(result: tuple[object, ...]) -> list[list[object]]:
    return [[h[0] for h in hits] for hits in result]  # type: ignore[attr-defined]


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
    names = list(WAYS)

    def use(name: str) -> None:
        m.config = WAYS[name]

    def cpu_ms(query: str) -> float:
        c0 = time.thread_time()
        with contextlib.suppress(QueryError):
            m.search(query)
        return (time.thread_time() - c0) * 1000

    def dump(query: str) -> tuple[object, ...]:
        try:
            r = m.search(query)
        except QueryError:
            return ()
        return tuple(tuple((h.doc.id, round(h.score, 9)) for h in hits) for hits in (r.experts, r.practices, r.answers))

    got: dict[str, list[tuple[object, ...]]] = {}
    for n in names:
        use(n)
        got[n] = [dump(q) for q in queries]
    a, b = got[names[0]], got[names[1]]
    same_ids = sum(_ids(x) == _ids(y) for x, y in zip(a, b, strict=True))
    same = sum(x == y for x, y in zip(a, b, strict=True))
    best: dict[str, list[float]] = {n: [float("inf")] * len(queries) for n in names}
    for r in range(args.rounds):
        for n in names if r % 2 == 0 else reversed(names):
            use(n)
            for i, q in enumerate(queries):
                best[n][i] = min(best[n][i], cpu_ms(q))
    order = sorted(range(len(queries)), key=lambda i: -best[names[0]][i])[: args.slowest]
    slow: dict[str, list[float]] = {n: [float("inf")] * len(order) for n in names}
    rng = random.Random(args.seed)
    for _ in range(args.repeat):
        for j, i in enumerate(order):
            for n in rng.sample(names, len(names)):
                use(n)
                slow[n][j] = min(slow[n][j], cpu_ms(queries[i]))

    print(f"{len(queries)} questions, best of {args.rounds}; the {len(order)} slowest best of {args.repeat} more")
    print(f"results the same to 1e-9: {same}; the same ids in the same order: {same_ids}")
    packs = sum(len(memo[2]) for memo in m._packs.values())
    print(f"theme-name vectors remembered: {packs}, {m._pack_postings} postings ({m._pack_postings * 16 >> 10} KiB)")
    print(f"{'way':<18}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'slowest':>9}{'vs first':>10}")
    base = statistics.mean(slow[names[0]])
    for n in names:
        xs, s = best[n], statistics.mean(slow[n])
        print(
            f"{n:<18}{pct(xs, 0.5):>9.2f}{pct(xs, 0.95):>9.2f}{statistics.mean(xs):>9.2f}{s:>9.2f}"
            f"{(s / base - 1) * 100:>+9.1f}%"
        )


if __name__ == "__main__":
    main()
