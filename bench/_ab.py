"""The in-process A/B loop of the matching speed benchmarks (``theme_names_speed.py``, ``theme_pack_speed.py``):
one register as ``bench/latency_matching.py`` generates it, one index, and ways of searching it that differ only in
what ``use(way)`` switches, timed alternately with the searching thread's CPU clock on one core.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from _data import load_queries, load_register
from latency_matching import Generator

from bot.errors import QueryError
from bot.matching import Matcher


def add_args(ap: argparse.ArgumentParser) -> None:
    """The benchmark's sizes and the loop's counts."""
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--slowest", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=7)


def build(args: argparse.Namespace) -> tuple[Matcher, list[str]]:
    """The process pinned to one core, the generated register's index and the latency benchmark's questions less
    the held-out evaluation questions."""
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
    return m, queries


def cpu_ms(m: Matcher, query: str) -> float:
    """One search's CPU time of the searching thread, in ms."""
    c0 = time.thread_time()
    with contextlib.suppress(QueryError):
        m.search(query)
    return (time.thread_time() - c0) * 1000


def pct(xs: Sequence[float], p: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, round(p * (len(ys) - 1)))]


@dataclass
class Timings:
    best: dict[str, list[float]]  # per way, each question's best of ``rounds``
    order: list[int]  # the ``slowest`` questions of the first way (indices, slowest first)
    slow: dict[str, list[float]]  # per way, those questions' best of ``repeat`` more


def alternate(
    m: Matcher, queries: Sequence[str], names: Sequence[str], use: Callable[[str], None], args: argparse.Namespace
) -> Timings:
    """Each question searched ``args.rounds`` times a way, the ways alternated round by round (the best CPU time
    counts); then the ``args.slowest`` questions of the first way ``args.repeat`` times more each, the ways in
    random order right after one another (the steadier reading on a shared machine)."""
    best: dict[str, list[float]] = {n: [float("inf")] * len(queries) for n in names}
    for r in range(args.rounds):
        for n in names if r % 2 == 0 else reversed(names):
            use(n)
            for i, q in enumerate(queries):
                best[n][i] = min(best[n][i], cpu_ms(m, q))
    first = best[names[0]]
    order = sorted(range(len(queries)), key=lambda i: -first[i])[: args.slowest]
    slow: dict[str, list[float]] = {n: [float("inf")] * len(order) for n in names}
    rng = random.Random(args.seed)
    for _ in range(args.repeat):
        for j, i in enumerate(order):
            for n in rng.sample(list(names), len(names)):
                use(n)
                slow[n][j] = min(slow[n][j], cpu_ms(m, queries[i]))
    return Timings(best, order, slow)
