"""Pseudo-relevance feedback for paraphrases, measured on the development sets only (issue #13; round 16).

A paraphrase fails when the question's words are not the register's words, while its right experts are often among
the first pass's top documents, or among the profiles closest in meaning. The register's own concepts that several
of those feedback documents share — their expertise items and tags of 1–3 content words, the glossary entries whose
words they all hold, and (with ``--themes``) their themes — are added to the question as weak expansion groups
(RM3 / Rocchio style, on the engine's concepts rather than raw tokens), and the question is searched again.

An expansion group stands for no word of the question: it counts for no concept (the coverage factor and the gap
features read the question's own words only) and adds nothing to the normalisation ideal, so a document matching a
feedback concept gains ``weight × share`` of that concept's BM25 on top of its normalised score. By default the gap
decision reads the first pass (``--gap-reads``: the expanded search's).

Nothing in the engine changes: the expansion is installed on each matcher the evaluation builds (wrapping its query
parser and its normalisation), and ``bench/eval_matching.py --sets dev`` runs as usual — held-out, blind and real
text are never loaded. Both wieweet rows (with meaning and words only) get the expansion.

Usage::

    python bench/feedback_expansion.py                          # fused top 5 experts + practices, 2+ docs, 3 concepts
    python bench/feedback_expansion.py --source meaning         # feedback from the meaning ranking only
    python bench/feedback_expansion.py --gate 0.3               # only when the words cover < 30 % of the question
    python bench/feedback_expansion.py --gap-reads              # the gap decision reads the expanded question too
    python bench/feedback_expansion.py --concepts               # also list each question's feedback concepts
    python bench/feedback_expansion.py --speed                  # added CPU per question on the speed bench

The README's "Round 16" section gives each run's numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_matching as em
from _data import Register, load_register

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.analysis import fold, tokenize
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.query import THEME_PREFIX, Group, ParsedQuery, Variant
from bot.matching.semantic import question_topic

MARK = "\x00feedback:"  # an expansion group's ``original``: no typed word can start with it
STATS: dict[str, list[float]] = {"cpu_ms": [], "expanded": []}
LISTING: list[str] = []


@dataclass
class Options:
    source: str = "fused"  # fused | meaning | words
    depth: int = 5  # feedback documents of each kind (experts, practices)
    min_docs: int = 2  # a concept shared by at least this many feedback documents
    top: int = 3  # concepts added at most
    weight: float = 0.3  # an expansion group's weight (times the concept's share of the feedback documents)
    gate: float = 1.0  # expand only when the first pass's best expert covers less of the question than this
    themes: bool = False  # the feedback documents' themes count as concepts too
    gap_reads: bool = False  # the gap decision reads the expanded search
    experts_only: bool = False  # feedback from experts only (a practice's concepts not read)


@dataclass
class Feedback:
    """One matcher's per-document concepts (stems -> text shown), made once per matcher."""

    experts: dict[int, set[tuple[str, ...]]] = field(default_factory=dict)
    practices: dict[int, set[tuple[str, ...]]] = field(default_factory=dict)
    text: dict[tuple[str, ...], str] = field(default_factory=dict)


def _stems(m: Matcher, text: str) -> tuple[str, ...]:
    p = m._parser
    return tuple(p.stem(w) for w in tokenize(fold(text)) if w not in p.qstop)


def doc_concepts(m: Matcher, opts: Options, max_words: int = 3) -> Feedback:
    """Each expert's and practice's concepts: its expertise items or tags of 1–3 content words, the glossary entries
    whose stems its text holds, and (``themes``) its themes; every stem in the index and not all generic."""
    p, lex = m._parser, m._lexicon
    fb = Feedback()
    entries = [(e.stems, e.text) for group in lex.groups for e in group if e.stems and len(e.stems) <= max_words]

    def ok(stems: tuple[str, ...]) -> bool:
        return (
            0 < len(stems) <= max_words
            and all(p.in_index(s) for s in stems)
            and not all(p.generic(s) for s in stems)
        )

    def of(items: Sequence[str], body: str, themes: Sequence[str]) -> set[tuple[str, ...]]:
        out: set[tuple[str, ...]] = set()
        for item in items:
            s = _stems(m, item)
            if ok(s):
                out.add(s)
                fb.text.setdefault(s, " ".join(w for w in tokenize(fold(item)) if w not in p.qstop))
        words = set(_stems(m, body))
        for s, text in entries:
            if set(s) <= words and ok(s):
                out.add(s)
                fb.text.setdefault(s, text)
        if opts.themes:
            for key in themes:
                s = (THEME_PREFIX + key,)
                out.add(s)
                theme = lex.themes.get(key)
                fb.text.setdefault(s, theme.label_nl if theme is not None else key)
        return out

    for i, d in m.documents("expert").items():
        assert isinstance(d, ExpertDoc)
        fb.experts[i] = of(d.expertise, " ".join((d.role, *d.expertise, d.bio)), d.themes)
    for i, d in m.documents("practice").items():
        assert isinstance(d, PracticeDoc)
        fb.practices[i] = of(d.tags, " ".join((d.title, *d.tags, d.summary)), d.themes)
    return fb


def expansion(m: Matcher, fb: Feedback, opts: Options, pq: ParsedQuery, experts: list[int], practices: list[int]) -> list[Group]:
    """The expansion groups for a question parsed as ``pq`` with these feedback documents (best first)."""
    docs = [fb.experts.get(i, set()) for i in experts]
    if not opts.experts_only:
        docs += [fb.practices.get(i, set()) for i in practices]
    if not docs:
        return []
    own = {t for g in pq.groups for v in g.variants for t in v.terms}
    count: Counter[tuple[str, ...]] = Counter()
    for cs in docs:
        count.update(cs)
    coll = m._kinds["expert"].collection
    top_idf = coll.max_idf() or 1.0

    def spec(s: tuple[str, ...]) -> float:
        if s[0].startswith(THEME_PREFIX):
            return 0.5
        return sum(coll.idf(t) if t in coll.postings else top_idf for t in s) / len(s) / top_idf

    chosen = sorted(
        ((n * spec(s), n, s) for s, n in count.items() if n >= opts.min_docs and not own.intersection(s)),
        key=lambda x: (-x[0], x[2]),
    )[: opts.top]
    out = []
    for _, n, s in chosen:
        share = n / len(docs)
        g = Group(original=MARK + fb.text[s], word=fb.text[s], concepts=0)
        theme = s[0].startswith(THEME_PREFIX)
        g.add(Variant(s, opts.weight * share, "theme" if theme else "related", fb.text[s], whole=len(s) > 1))
        out.append(g)
    return out


def install(m: Matcher, opts: Options) -> Callable[[str], tuple[object, object]]:
    """Wrap ``m``'s parser and normalisation; returns ``run(query) -> (first pass, expanded search)``."""
    fb = doc_concepts(m, opts)
    parser = m._parser
    parse: Callable[[str], ParsedQuery] = parser.parse
    ideals = m._group_ideals
    pending: list[list[Group]] = []

    def parse_expanded(query: str) -> ParsedQuery:
        pq = parse(query)
        if pending and pending[-1]:
            pq = ParsedQuery(
                groups=(*pq.groups, *pending[-1]),
                cities=pq.cities,
                organisations=pq.organisations,
                themes=pq.themes,
                terms=pq.terms,
                repairs=pq.repairs,
                cognates=pq.cognates,
                concepts=pq.concepts,
            )
        return pq

    def group_ideals(kind: object, pq: ParsedQuery, *, evidence: bool = False) -> list[float]:
        base = ideals(kind, pq, evidence=evidence)  # type: ignore[arg-type]
        return [0.0 if g.original.startswith(MARK) else x for g, x in zip(pq.groups, base, strict=True)]

    parser.parse = parse_expanded  # type: ignore[method-assign]
    m._group_ideals = group_ideals  # type: ignore[method-assign]

    def run(query: str, limit: int = 10) -> tuple[object, object]:
        first = m.search(query, limit=max(limit, opts.depth), now=em.EVAL_NOW)
        t0 = time.process_time()
        if first.gap_features.get("coverage", 0.0) >= opts.gate:
            STATS["cpu_ms"].append((time.process_time() - t0) * 1000)
            STATS["expanded"].append(0)
            return first, first
        if opts.source == "meaning" and m.semantic is not None:
            e_sim, p_sim = m.semantic.similarities(question_topic(query), ("expert", "practice"))
            experts = [d for d, _ in sorted(e_sim.boosts.items(), key=lambda x: (-x[1], x[0]))[: opts.depth]]
            practices = [d for d, _ in sorted(p_sim.boosts.items(), key=lambda x: (-x[1], x[0]))[: opts.depth]]
        else:
            experts = [h.doc.id for h in first.experts[: opts.depth]]
            practices = [h.doc.id for h in first.practices[: opts.depth]]
        groups = expansion(m, fb, opts, parse(query), experts, practices)
        STATS["cpu_ms"].append((time.process_time() - t0) * 1000)
        STATS["expanded"].append(len(groups))
        if not groups:
            return first, first
        LISTING.append(f"{query!r}: " + ", ".join(g.word for g in groups))
        pending.append(groups)
        try:
            second = m.search(query, limit=limit, now=em.EVAL_NOW)
        finally:
            pending.pop()
        return first, second

    return run


def options(args: argparse.Namespace) -> Options:
    return Options(
        source=args.source,
        depth=args.depth,
        min_docs=args.min_docs,
        top=args.top,
        weight=args.weight,
        gate=args.gate,
        themes=args.themes,
        gap_reads=args.gap_reads,
        experts_only=args.experts_only,
    )


def speed(opts: Options) -> None:
    """The expansion's added CPU per question on the speed bench's register and questions (``bench/latency_matching
    .py``: 10,000 experts, 10,000 practices, 50,000 answers, 500 questions, seed 7; words only): the second search
    and the concept counting, against the first search alone, both measured here."""
    import latency_matching as lm  # noqa: PLC0415

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reg = load_register()
    gen = lm.Generator(reg, 7)
    experts = [gen.expert(i) for i in range(1, 10_001)]
    practices = [gen.practice(i, 10_000) for i in range(1, 10_001)]
    answers = [gen.answer(i, 10_000) for i in range(1, 50_001)]
    queries = gen.queries(500)
    m = Matcher(themes=reg.themes, places=reg.places)
    m.build(experts=experts, practices=practices, answers=answers)
    run = install(m, opts)
    base: list[float] = []
    total: list[float] = []
    for q in queries:
        with contextlib.suppress(QueryError):
            m.search(q, limit=10, now=em.EVAL_NOW)  # warm
            t0 = time.process_time()
            m.search(q, limit=10, now=em.EVAL_NOW)
            t1 = time.process_time()
            run(q)
            t2 = time.process_time()
            base.append((t1 - t0) * 1000)
            total.append((t2 - t1) * 1000)
    added = sorted(t - b for t, b in zip(total, base, strict=True))
    base.sort()
    total.sort()

    def p(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * q))]

    expanded = sum(1 for x in STATS["expanded"] if x)
    print(
        f"speed bench (words only): {len(base)} questions, {expanded} expanded; search CPU p50 / p95 "
        f"{p(base, 0.5):.2f} / {p(base, 0.95):.2f} ms; with the expansion {p(total, 0.5):.2f} / {p(total, 0.95):.2f} ms; "
        f"added per question p50 {p(added, 0.5):.2f} ms, p95 {p(added, 0.95):.2f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=("fused", "meaning"), default="fused", help="where the feedback comes from")
    ap.add_argument("--depth", type=int, default=5, help="feedback documents of each kind")
    ap.add_argument("--min-docs", type=int, default=2, help="a concept shared by at least this many of them")
    ap.add_argument("--top", type=int, default=3, help="concepts added at most")
    ap.add_argument("--weight", type=float, default=0.3, help="an expansion group's weight (times its share)")
    ap.add_argument("--gate", type=float, default=1.0, help="expand only when the words cover less than this")
    ap.add_argument("--themes", action="store_true", help="the feedback documents' themes count as concepts")
    ap.add_argument("--gap-reads", action="store_true", help="the gap decision reads the expanded search")
    ap.add_argument("--experts-only", action="store_true", help="feedback from experts only")
    ap.add_argument("--concepts", action="store_true", help="list each expanded question's concepts (dev sets only)")
    ap.add_argument("--speed", action="store_true", help="only the added CPU per question on the speed bench")
    args = ap.parse_args(argv)
    opts = options(args)
    if args.speed:
        speed(opts)
        return

    def wieweet_system(m: Matcher) -> em.System:
        run = install(m, opts)

        def expanded(q: str) -> em.Ranking:
            try:
                first, second = run(q)
            except QueryError:
                return em.Ranking([], [], 0.0, True, 1.0)
            gap_from = second if opts.gap_reads else first
            return em.Ranking(
                [h.doc.email for h in second.experts[:10]],  # type: ignore[attr-defined]
                [em.practice_key(h.doc) for h in second.practices[:10]],  # type: ignore[attr-defined]
                gap_from.confidence,  # type: ignore[attr-defined]
                gap_from.gap,  # type: ignore[attr-defined]
                gap_from.gap_probability,  # type: ignore[attr-defined]
            )

        return expanded

    em.wieweet_system = wieweet_system
    em.main(["--sets", "dev"])
    cpu = sorted(STATS["cpu_ms"])
    if cpu:
        n = sum(1 for x in STATS["expanded"] if x)
        print(
            f"feedback: {len(cpu)} questions, {n} expanded; concept counting CPU p50 {cpu[len(cpu) // 2]:.2f} ms, "
            f"p95 {cpu[int(len(cpu) * 0.95)]:.2f} ms (the second search not counted; --speed measures it)"
        )
    if args.concepts:
        for line in LISTING:
            print("  ", line)


if __name__ == "__main__":
    main()
