"""Latency, build time, update time and memory of the matcher on a large synthetic register.

Usage::

    python bench/latency_matching.py                          # 10,000 experts, 10,000 practices, 50,000 answers
    python bench/latency_matching.py --experts 1000 --practices 1000 --answers 5000 --queries 200

The register is generated with a fixed seed from the demo register's vocabulary: expertise items, roles, bios,
practice titles, summaries, lessons, tags and answers are recombined, and new compounds are formed from policy
morphemes and demo words ("woning" + "premie" -> "woningpremie"), so the vocabulary grows with the register as a real
one would. Queries are the evaluation queries plus generated ones (single topics, topic pairs, typos, cities).
The process is pinned to one core. Peak RSS is the process maximum (``resource.getrusage``), generator included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

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
    def __init__(self, reg: Register, seed: int) -> None:
        self.rng = random.Random(seed)
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

    def text(self, n: int) -> str:
        out = []
        for _ in range(n):
            s = self.rng.choice(self.sentences)
            if self.rng.random() < 0.3:  # weave in a new compound so the vocabulary keeps growing
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
            bio=self.text(r.randint(1, 3)),
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


def rss_mb() -> float:
    with Path("/proc/self/status").open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--experts", type=int, default=10_000)
    ap.add_argument("--practices", type=int, default=10_000)
    ap.add_argument("--answers", type=int, default=50_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--baseline-queries", type=int, default=100, help="queries for the slow full-scan baseline")
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = Generator(reg, args.seed)
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
    t0 = time.perf_counter()
    m.build(experts=experts, practices=practices, answers=answers)
    build_s = time.perf_counter() - t0
    after_build = rss_mb()
    vocab = sum(len(k.collection.postings) for k in m._kinds.values())
    print(
        f"build: {build_s:.2f} s, index terms {vocab}, RSS {after_build:.0f} MB "
        f"(+{after_build - base_rss:.0f} MB for the index)"
    )

    # queries (warm-up pass over 20 queries first)
    for q in queries[:20]:
        with contextlib.suppress(QueryError):
            m.search(q)
    times: list[float] = []
    errors = 0
    for q in queries:
        t = time.perf_counter()
        try:
            m.search(q)
        except QueryError:
            errors += 1
        times.append(1000 * (time.perf_counter() - t))

    # incremental updates
    r = gen.rng
    up: dict[str, list[float]] = {"upsert expert": [], "remove expert": [], "upsert practice": [], "upsert answer": []}
    for _ in range(args.updates):
        e = r.choice(experts)
        new = replace(gen.expert(e.id), consent="confirmed")
        t = time.perf_counter()
        m.upsert_expert(new)
        up["upsert expert"].append(1000 * (time.perf_counter() - t))
        p = gen.practice(r.randint(1, args.practices), args.experts)
        t = time.perf_counter()
        m.upsert_practice(p)
        up["upsert practice"].append(1000 * (time.perf_counter() - t))
        a = gen.answer(args.answers + len(up["upsert answer"]) + 1, args.experts)
        t = time.perf_counter()
        m.upsert_answer(a)
        up["upsert answer"].append(1000 * (time.perf_counter() - t))
    for _ in range(args.updates):
        t = time.perf_counter()
        m.remove_expert(r.randint(1, args.experts))
        up["remove expert"].append(1000 * (time.perf_counter() - t))

    # baseline: rapidfuzz token_set_ratio full scan over the experts' concatenated profiles
    texts = [" ".join([e.organisation, e.city, e.role, " ".join(e.expertise), e.bio]) for e in experts]
    processed = [utils.default_process(t) for t in texts]
    base_times: list[float] = []
    for q in queries[: args.baseline_queries]:
        t = time.perf_counter()
        process.extract(utils.default_process(q), processed, scorer=fuzz.token_set_ratio, processor=None, limit=10)
        base_times.append(1000 * (time.perf_counter() - t))

    print(f"\n{'':<34}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'n':>6}")
    print(f"{'wieweet search':<34}{pct(times, 50):>9.2f}{pct(times, 95):>9.2f}{max(times):>9.2f}{len(times):>6}")
    print(
        f"{'baseline fuzz full scan (experts)':<34}{pct(base_times, 50):>9.2f}{pct(base_times, 95):>9.2f}"
        f"{max(base_times):>9.2f}{len(base_times):>6}"
    )
    for name, xs in up.items():
        print(f"{name:<34}{pct(xs, 50):>9.2f}{pct(xs, 95):>9.2f}{max(xs):>9.2f}{len(xs):>6}")
    print(
        f"\nbuild {build_s:.2f} s   peak RSS {peak_mb():.0f} MB (whole process)   mean search "
        f"{statistics.mean(times):.2f} ms   query errors {errors}"
    )


if __name__ == "__main__":
    main()
