"""CPU per question of a recognised theme's other names completed as one remembered vector (``theme_names_packed``,
round 17 of docs/speed.md) and also traversed a band at a time (``theme_names_banded``, round 18) against name by
name, in one process over one full-size index.

Usage::

    python bench/theme_pack_speed.py                        # the latency benchmark's register and questions
    python bench/theme_pack_speed.py --rounds 4 --slowest 40 --repeat 15

One register as ``bench/latency_matching.py`` generates it (10,000 experts, 10,000 practices, 50,000 answers, seed
7), one index; the ways differ only in the ``MatchConfig`` the matcher reads. The questions are the latency
benchmark's less the held-out evaluation questions. Each question is searched ``--rounds`` times a way, the ways
alternated round by round, and the best CPU time of the searching thread counts (the process is pinned to one
core); then the ``--slowest`` questions of name by name are searched ``--repeat`` times more each, the ways in random
order right after one another (the steadier reading on a shared machine). Also: how many of the questions' results
differ from the way before (ids in order; scores beyond 1e-9), and the vectors and bands remembered.
"""

from __future__ import annotations

import argparse
import itertools
import statistics

from _ab import add_args, alternate, build, pct

from bot.errors import QueryError
from bot.matching import MatchConfig

WAYS = {
    "name by name": MatchConfig(theme_names_packed=False),
    "packed": MatchConfig(theme_names_banded=False),
    "packed, banded (shipped)": MatchConfig(),
}


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
    same: list[tuple[int, int]] = []  # per way after the first: against the way before, (to 1e-9, the same ids)
    for before, now in itertools.pairwise(names):
        a, b = got[before], got[now]
        same.append(
            (sum(x == y for x, y in zip(a, b, strict=True)), sum(_ids(x) == _ids(y) for x, y in zip(a, b, strict=True)))
        )
    t = alternate(m, queries, names, use, args)
    best, order, slow = t.best, t.order, t.slow

    print(f"{len(queries)} questions, best of {args.rounds}; the {len(order)} slowest best of {args.repeat} more")
    for n, (to_9, ids) in zip(names[1:], same, strict=True):
        print(f"{n}: results the same as the way before to 1e-9: {to_9}; the same ids in the same order: {ids}")
    packs = [entry for memo in m._packs.values() for entry in memo[2].values()]
    vec = sum(len(e[1][0]) for e in packs)
    bands = sum(len(level[0]) for e in packs for band in e[2].values() for level in band)  # entries, all levels
    print(
        f"theme-name vectors remembered: {len(packs)}, {vec} documents; their bands: "
        f"{sum(len(e[2]) for e in packs)}, {bands} entries ({(vec * 12 + bands * 16) >> 10} KiB in all)"
    )
    print(f"{'way':<26}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'slowest':>9}{'vs first':>10}{'vs before':>11}")
    base = statistics.mean(slow[names[0]])
    prev = base
    for n in names:
        xs, s = best[n], statistics.mean(slow[n])
        print(
            f"{n:<26}{pct(xs, 0.5):>9.2f}{pct(xs, 0.95):>9.2f}{statistics.mean(xs):>9.2f}{s:>9.2f}"
            f"{(s / base - 1) * 100:>+9.1f}%{(s / prev - 1) * 100:>+10.1f}%"
        )
        prev = s


if __name__ == "__main__":
    main()
