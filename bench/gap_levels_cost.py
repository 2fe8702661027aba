"""What the register's own gap levels (round 18, ``MatchConfig.gap_levels``) cost at the speed benchmark's size.

Usage::

    python bench/gap_levels_cost.py                    # 10,000 experts, 10,000 practices, 50,000 answers
    python bench/gap_levels_cost.py --experts 1000 --practices 1000 --answers 5000

Prints a table: the levels' measurement (background work: at most 200 pseudo-questions, two lexical searches each,
the documents naming the item left out of the candidates), and per question what the option adds to a search once
the levels are there — placing the words' features and the levels model's probability — against what the shipped
model's probability costs (the baseline, measured in the same run), over the latency benchmark's questions. The
search itself is the same with the option on or off (its features are computed once either way). One core, one BLAS
thread, as ``bench/latency_matching.py`` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_register
from latency_matching import Generator, rss_mb

from bot.errors import QueryError
from bot.matching import Matcher
from bot.matching.gapmodel import shipped_models
from bot.matching.levels import levels_model, measure_levels


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = Generator(reg, args.seed)
    experts = [gen.expert(i) for i in range(1, args.experts + 1)]
    practices = [gen.practice(i, args.experts) for i in range(1, args.practices + 1)]
    answers = [gen.answer(i, args.experts) for i in range(1, args.answers + 1)]
    queries = gen.queries(args.queries)
    m = Matcher(themes=reg.themes, places=reg.places)
    t0 = time.perf_counter()
    m.build(experts=experts, practices=practices, answers=answers)
    build_s = time.perf_counter() - t0
    rss_before = rss_mb()
    t0 = time.perf_counter()
    levels = measure_levels(m)
    levels_s = time.perf_counter() - t0
    assert levels is not None
    print(f"register: {args.experts} experts, {args.practices} practices, {args.answers} answers")
    print("| work | time | note |\n| --- | --- | --- |")
    print(f"| index build (baseline) | {build_s:.2f} s | |")
    print(
        f"| levels measured | {levels_s:.2f} s | {levels.questions} pseudo-questions, "
        f"{1000 * levels_s / max(levels.questions, 1):.1f} ms each; RSS {rss_before:.0f} -> {rss_mb():.0f} MB |"
    )
    shipped = shipped_models()["semantic"]
    model = levels_model()
    assert model is not None
    rows = []
    search_ms = []
    for q in queries:
        try:
            t0 = time.perf_counter()
            r = m.search(q, limit=5)
            search_ms.append(1000 * (time.perf_counter() - t0))
        except QueryError:
            continue
        rows.append(r.gap_features)
    base_ms, added_ms = [], []
    for _ in range(5):
        for x in rows:
            t0 = time.perf_counter()
            shipped.probability(x)
            base_ms.append(1000 * (time.perf_counter() - t0))
            t0 = time.perf_counter()
            model.probability(levels.place(x))
            added_ms.append(1000 * (time.perf_counter() - t0))
    print(
        f"| lexical search (for scale) | p50 {statistics.median(search_ms):.2f} / p95 {pct(search_ms, 0.95):.2f} ms | |"
    )
    print(
        f"| shipped model's probability (baseline) | p50 {1000 * statistics.median(base_ms):.1f} / "
        f"p95 {1000 * pct(base_ms, 0.95):.1f} µs | per question |"
    )
    print(
        f"| the option: place + levels model's probability | p50 {1000 * statistics.median(added_ms):.1f} / "
        f"p95 {1000 * pct(added_ms, 0.95):.1f} µs | per question, instead of the line above |"
    )


if __name__ == "__main__":
    main()
