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
import statistics

from _ab import add_args, alternate, build, pct

from bot.errors import QueryError
from bot.matching import MatchConfig

WAYS = {"name by name": MatchConfig(theme_names_packed=False), "packed (shipped)": MatchConfig()}


def _ids(result: tuple[object, ...]) -> list[list[object]]:
    return [[h[0] for h in hits] for hits in result]  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(ap)
    args = ap.parse_args()
    m, queries = build(args)
    names = list(WAYS)

    def use(name: str) -> None:
        m.config = WAYS[name]

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
    t = alternate(m, queries, names, use, args)
    best, order, slow = t.best, t.order, t.slow

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
