"""What an erasure costs the running index: ``Matcher.forget_erased`` against a full rebuild, at the latency
benchmark's size.

Usage::

    python bench/erasure_cost.py                                     # 10,000 experts, 10,000 practices, 50,000 answers
    python bench/erasure_cost.py --experts 1000 --practices 1000 --answers 5000

The register is the one of ``bench/latency_matching.py`` (same generator and seed). After a build and a pass of
searches (so the memos are full), one expert and the answers they gave are removed, as an erasure's ``refresh`` does,
and then ``Matcher.forget_erased`` runs: what this costs is compared with building a new matcher from the same
documents (the baseline: what "rebuild the index on every erasure" would cost). CPU time of this process (steadier
than wall-clock on a shared machine), pinned to one core; the first search after forgetting (memos refilling) is
timed against the same search before.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_register
from latency_matching import Generator

from bot.errors import QueryError
from bot.matching import Matcher


def cpu(fn: Callable[[], object]) -> float:
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experts", type=int, default=10_000)
    p.add_argument("--practices", type=int, default=10_000)
    p.add_argument("--answers", type=int, default=50_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3, help="erasures measured (each of another expert)")
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = Generator(reg, args.seed)
    experts = [gen.expert(i) for i in range(1, args.experts + 1)]
    practices = [gen.practice(i, args.experts) for i in range(1, args.practices + 1)]
    answers = [gen.answer(i, args.experts) for i in range(1, args.answers + 1)]
    queries = gen.queries(args.queries)

    def build() -> Matcher:
        m = Matcher(themes=reg.themes, places=reg.places)
        m.build(experts=experts, practices=practices, answers=answers)
        return m

    m: Matcher | None = None

    def full() -> None:
        nonlocal m
        m = build()

    rebuild = cpu(full)
    assert m is not None
    matcher: Matcher = m

    def search_all() -> None:
        for q in queries:
            with contextlib.suppress(QueryError):
                matcher.search(q)

    search_all()  # the memos filled
    warm = cpu(search_all)
    forget, remove, after = [], [], []
    for i in range(args.repeat):
        gone = experts[(i + 1) * len(experts) // (args.repeat + 1)]
        theirs = [a.id for a in answers if a.expert_id == gone.id]

        def erase(gone_id: int = gone.id, theirs: list[int] = theirs) -> None:
            matcher.remove_expert(gone_id)
            for answer_id in theirs:
                matcher.remove_answer(answer_id)

        remove.append(cpu(erase))
        forget.append(cpu(matcher.forget_erased))
        after.append(cpu(search_all))
        search_all()
    print(
        f"register: {len(experts)} experts, {len(practices)} practices, {len(answers)} answers; "
        f"{len(queries)} queries; CPU seconds, median of {args.repeat} erasures"
    )
    print(f"{'what':<46} {'CPU s':>8}")
    print(f"{'full rebuild (baseline: Matcher.build)':<46} {rebuild:>8.2f}")
    print(f"{'removing the expert and their answers':<46} {statistics.median(remove):>8.3f}")
    print(f"{'Matcher.forget_erased':<46} {statistics.median(forget):>8.3f}")
    print(f"{f'{len(queries)} searches, memos full':<46} {warm:>8.2f}")
    print(f"{f'{len(queries)} searches right after forgetting':<46} {statistics.median(after):>8.2f}")


if __name__ == "__main__":
    main()
