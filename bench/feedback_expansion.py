"""Pseudo-relevance feedback for paraphrases, measured on the development sets only (issue #13; round 16).

A paraphrase fails when the question's words are not the register's words, while its right experts are often among
the first pass's top documents, or among the profiles closest in meaning. The register's own concepts that several
of those feedback documents share — their expertise items and tags of 1–3 content words, the glossary entries whose
words they all hold, and (``themes=1``) their themes — are added to the question as weak expansion groups (RM3 style,
on the engine's concepts rather than raw tokens), and the question is searched again. Other variants: concepts chosen
by their closeness in meaning to the question (``select=meaning``, the concepts' vectors cached with round 15's), and
the question's vector moved towards the feedback documents' mean vector (``rocchio=β``, dense Rocchio).

An expansion group stands for no word of the question: it counts for no concept (the coverage factor and the gap
features read the question's own words only) and adds nothing to the normalisation ideal, so a document matching a
feedback concept gains ``weight × share`` of that concept's BM25 on top of its normalised score. By default the gap
decision reads the first pass (``gap_reads=1``: the expanded search's).

Nothing in the engine changes: the expansion is installed on each matcher the evaluation builds (wrapping its query
parser, its normalisation and its question embedder), and ``bench/eval_matching.py --sets dev`` runs as usual —
held-out, blind and real text are never loaded. Both wieweet rows (with meaning and words only) get the expansion.

Usage (a variant is a comma-separated list of ``Options`` fields, e.g. ``"experts_only=1,gate=0.3"``)::

    python bench/feedback_expansion.py                          # fused top 5 experts + practices, 2+ docs, 3 concepts
    python bench/feedback_expansion.py --variant experts_only=1 # any variant, through eval_matching.py --sets dev
    python bench/feedback_expansion.py --variant gate=0.3 --concepts  # also list each question's feedback concepts
    python bench/feedback_expansion.py --grid                   # the built-in grid in one process (dev, dev3–dev7)
    python bench/feedback_expansion.py --grid "top=1" "source=meaning,rocchio=0.3"   # these variants side by side
    python bench/feedback_expansion.py --diagnose               # where the first pass leaves failing dev paraphrases
    python bench/feedback_expansion.py --speed --variant gate=0.3   # added CPU per question on the speed bench

docs/matching-evaluation.md, "Round 16, pseudo-relevance feedback", gives each run's numbers.
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
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_matching as em
from _data import load_register

from bot.errors import QueryError
from bot.matching import Matcher
from bot.matching.analysis import fold, question_topic, tokenize
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.groups import THEME_PREFIX, Group, ParsedQuery, Variant

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
    skip_first: bool = False  # the first expert and practice are no feedback (concepts of the runners-up only)
    rank_weight: bool = False  # a feedback document counts 1 / its rank (of its kind), not 1
    select: str = "count"  # count: concepts by feedback mass x specificity; meaning: by their cosine to the question
    min_cos: float = 0.0  # select=meaning: a concept at least this close to the question
    share: bool = True  # an expansion group's weight times the concept's share of the feedback (else the weight alone)
    rocchio: float = 0.0  # > 0: the question's vector moved towards the feedback documents' mean vector by this much


@dataclass
class Feedback:
    """One matcher's per-document concepts (stems -> text shown), made once per matcher."""

    experts: dict[int, set[tuple[str, ...]]] = field(default_factory=dict)
    practices: dict[int, set[tuple[str, ...]]] = field(default_factory=dict)
    text: dict[tuple[str, ...], str] = field(default_factory=dict)


def _stems(m: Matcher, text: str) -> tuple[str, ...]:
    p = m._parser
    return tuple(p.stem(w) for w in tokenize(fold(text)) if w not in p.qstop)


def doc_concepts(m: Matcher, *, themes_too: bool = True, max_words: int = 3) -> Feedback:
    """Each expert's and practice's concepts: its expertise items or tags of 1–3 content words, the glossary entries
    whose stems its text holds, and its themes (read only with ``Options.themes``); every stem in the index, not all
    generic."""
    p, lex = m._parser, m._lexicon
    fb = Feedback()
    entries = [(e.stems, e.text) for group in lex.groups for e in group if e.stems and len(e.stems) <= max_words]

    def ok(stems: tuple[str, ...]) -> bool:
        return (
            0 < len(stems) <= max_words and all(p.in_index(s) for s in stems) and not all(p.generic(s) for s in stems)
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
        if themes_too:
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


def expansion(
    m: Matcher,
    fb: Feedback,
    opts: Options,
    pq: ParsedQuery,
    experts: list[int],
    practices: list[int],
    closeness: Callable[[list[tuple[str, ...]]], list[float]] | None = None,
) -> list[Group]:
    """The expansion groups for a question parsed as ``pq`` with these feedback documents (best first);
    ``closeness``: the cosines of concepts to the question (``select=meaning``)."""

    def weight(rank: int) -> float:
        return 1.0 / (rank + 1) if opts.rank_weight else 1.0

    docs = [(fb.experts.get(i, set()), weight(r)) for r, i in enumerate(experts)]
    if not opts.experts_only:
        docs += [(fb.practices.get(i, set()), weight(r)) for r, i in enumerate(practices)]
    if not docs or opts.top <= 0:
        return []
    own = {t for g in pq.groups for v in g.variants for t in v.terms}
    count: Counter[tuple[str, ...]] = Counter()
    mass: Counter[tuple[str, ...]] = Counter()
    for cs, w in docs:
        count.update(cs)
        for c in cs:
            mass[c] += w
    total = sum(w for _, w in docs)
    coll = m._kinds["expert"].collection
    top_idf = coll.max_idf() or 1.0

    def spec(s: tuple[str, ...]) -> float:
        if s[0].startswith(THEME_PREFIX):
            return 0.5
        return sum(coll.idf(t) if t in coll.postings else top_idf for t in s) / len(s) / top_idf

    pool = [
        s
        for s, n in count.items()
        if n >= opts.min_docs and not own.intersection(s) and (opts.themes or not s[0].startswith(THEME_PREFIX))
    ]
    if opts.select == "meaning" and closeness is not None:
        cos = closeness(pool)
        ranked = [(c, mass[s], s) for s, c in zip(pool, cos, strict=True) if c >= opts.min_cos]
    else:
        ranked = [(mass[s] * spec(s), mass[s], s) for s in pool]
    chosen = sorted(ranked, key=lambda x: (-x[0], x[2]))[: opts.top]
    out = []
    for _, n, s in chosen:
        share = n / total if opts.share else 1.0
        g = Group(original=MARK + fb.text[s], word=fb.text[s], concepts=0)
        theme = s[0].startswith(THEME_PREFIX)
        g.add(Variant(s, opts.weight * share, "theme" if theme else "related", fb.text[s], whole=len(s) > 1))
        out.append(g)
    return out


class _Moved:
    """An embedder that answers the moved question vector while a feedback search is under way."""

    def __init__(self, inner: Any, vectors: list[Any]) -> None:
        self.inner, self.vectors = inner, vectors
        self.model_id = inner.model_id

    def passages(self, texts: Sequence[str]) -> Any:
        return self.inner.passages(texts)

    def query(self, text: str) -> Any:
        return self.vectors[-1] if self.vectors else self.inner.query(text)


def install(m: Matcher, opts: Options) -> Callable[[str], tuple[object, object]]:
    """Wrap ``m``'s parser and normalisation; returns ``run(query) -> (first pass, expanded search)``."""
    fb = doc_concepts(m)
    firsts: dict[tuple[str, int], object] = {}  # the first pass does not depend on the options: made once
    parser = m._parser
    parse: Callable[[str], ParsedQuery] = parser.parse
    weights = m._weights
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

    def group_weights(pq: ParsedQuery) -> Any:
        # an expansion group adds nothing to the normalisation ideals of any kind (it stands for no word of the
        # question; it comes after the question's concept groups, so known words and specificity are untouched)
        base = weights(pq)
        feedback = [g.original.startswith(MARK) for g in pq.groups]

        def zeroed(ideals: list[float]) -> list[float]:
            return [0.0 if fb else x for fb, x in zip(feedback, ideals, strict=True)]

        return base._replace(expert=zeroed(base.expert), practice=zeroed(base.practice), answer=zeroed(base.answer))

    parser.parse = parse_expanded  # type: ignore[method-assign]
    m._weights = group_weights  # type: ignore[method-assign]
    concept_vecs: dict[tuple[str, ...], Any] = {}

    def closeness_of(query: str) -> Callable[[list[tuple[str, ...]]], list[float]] | None:
        if m.semantic is None:
            return None
        q = np.asarray(m.semantic.embedder.query(question_topic(query)), dtype=np.float32)
        q = q / np.linalg.norm(q)

        def cos(concepts: list[tuple[str, ...]]) -> list[float]:
            if not concept_vecs:  # every concept of the register once ("query: " + text, cached with round 15's)
                import word_bridge  # noqa: PLC0415

                every = sorted(fb.text)
                for c, v in zip(every, word_bridge.embed_queries([fb.text[c] for c in every]), strict=True):
                    concept_vecs[c] = v
            return [float(concept_vecs[c] @ q) for c in concepts]

        return cos

    vectors: list[Any] = []  # the moved question vector of the search under way (Rocchio), if any
    if m.semantic is not None:
        m.semantic.embedder = _Moved(m.semantic.embedder, vectors)

    def moved(query: str, experts: list[int], practices: list[int]) -> Any:
        """The question's vector moved towards the feedback documents' mean (whole-text vectors, both kinds)."""
        assert m.semantic is not None
        rows = []
        for kind, chosen in (("expert", experts), ("practice", practices)):
            snap = m.semantic._kind_matrix(kind)
            if snap is None:
                continue
            at = {d: i for i, d in enumerate(snap[0])}
            rows += [snap[1][at[d]] for d in chosen if d in at]
        q = np.asarray(m.semantic.embedder.query(question_topic(query)), dtype=np.float32)
        if not rows:
            return q
        centre = np.mean(rows, axis=0)
        out = q + opts.rocchio * centre / (np.linalg.norm(centre) or 1.0)
        return out / np.linalg.norm(out)

    def run(query: str, limit: int = 10) -> tuple[object, object]:
        key = (query, max(limit, opts.depth))
        first = firsts.get(key)
        if first is None:
            first = firsts[key] = m.search(query, limit=key[1], now=em.EVAL_NOW)
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
        if opts.skip_first:
            experts, practices = experts[1:], practices[1:]
        near = closeness_of(query) if opts.select == "meaning" else None
        groups = expansion(m, fb, opts, parse(query), experts, practices, near)
        vector = moved(query, experts, practices) if opts.rocchio > 0.0 and m.semantic is not None else None
        STATS["cpu_ms"].append((time.process_time() - t0) * 1000)
        STATS["expanded"].append(len(groups) + (vector is not None))
        if not groups and vector is None:
            return first, first
        if groups:
            LISTING.append(f"{query!r}: " + ", ".join(g.word for g in groups))
        pending.append(groups)
        if vector is not None:
            vectors.append(vector)
        try:
            second = m.search(query, limit=limit, now=em.EVAL_NOW)
        finally:
            pending.pop()
            vectors.clear()
        return first, second

    return run


PARAPHRASE = ("synonym", "paraphrase")  # the demo dev set's kind, the other dev sets'


def _variant(spec: str) -> Options:
    """``"source=meaning,depth=10,gate=0.3"`` -> Options (unnamed fields at their defaults)."""
    opts = Options()
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        old = getattr(opts, name)
        setattr(opts, name, value in ("1", "true", "yes") if isinstance(old, bool) else type(old)(value))
    return opts


GRID = (  # the round 16 rows of docs/matching-evaluation.md
    "",
    "top=1",
    "top=5",
    "weight=0.15",
    "weight=0.6",
    "min_docs=3",
    "depth=3",
    "depth=10,min_docs=3",
    "rank_weight=1",
    "themes=1",
    "source=meaning",
    "source=meaning,depth=10,min_docs=3",
    "experts_only=1",
    "experts_only=1,weight=0.6",
    "experts_only=1,top=5",
    "gate=0.3",
    "experts_only=1,gate=0.3",
    "min_docs=3,gate=0.3",
    "gap_reads=1",
    "skip_first=1",
    "select=meaning,min_docs=1,top=1",
    "select=meaning,min_docs=1,share=0,weight=0.3,top=1",
    "top=0,rocchio=0.3",
    "top=0,rocchio=1.0",
    "top=0,rocchio=0.3,source=meaning",
    "top=0,rocchio=0.3,depth=3",
)


def grid(specs: Sequence[str]) -> None:
    """Every variant of ``specs`` over the dev sets with experts (dev, dev3–dev7; meaning on), in one process: the
    first pass made once per question, the expanded search once per variant. Prints per set expert MRR@10 / hit@3,
    paraphrase MRR@10 and gap F1, and the mean paraphrase MRR@10, against the first pass (the engine as it is)."""
    import bench_semantic  # noqa: PLC0415

    emb = bench_semantic.embedder()
    emb._cache_size = 1_000_000  # every dev question's vector kept: one model call per question in the whole grid
    sets = [s for s in em.load_sets(em.BLIND_DIR, em.REALTEXT_DIR, only_dev=True) if s.name != "realdev"]
    current = Options()
    runs = []
    for s in sets:
        m = em.wieweet_matcher(s.register, semantic=True)
        runs.append((s, install(m, current)))
    header = "".join(f"{em.SET_LABELS[s.name]:>34}" for s in sets)
    print(f"{'variant':<56}{'paraphrase mean':>16}{header}")
    print(f"{'':<56}{'':>16}" + "".join(f"{'MRR / hit@3 / para / gap F1':>34}" for _ in sets))
    for spec in ("(first pass)", *specs):
        opts = Options(gate=-1.0) if spec == "(first pass)" else _variant(spec)
        for name in vars(current):
            setattr(current, name, getattr(opts, name))
        cells, paras = [], []
        for s, run in runs:
            mrr, hit, para, gold, pred = [], [], [], [], []
            for q in s.queries:
                try:
                    first, second = run(q.query)
                except QueryError:
                    gold.append(q.gap)
                    pred.append(True)
                    continue
                gap_from = second if opts.gap_reads else first
                gold.append(q.gap)
                pred.append(bool(gap_from.gap))  # type: ignore[attr-defined]
                if q.gap or not q.experts:
                    continue
                got = [h.doc.email for h in second.experts[:10]]  # type: ignore[attr-defined]
                rel = em.relevant(q.experts)
                mrr.append(em.mrr_at(got, rel))
                hit.append(1.0 if rel & set(got[:3]) else 0.0)
                if q.kind in PARAPHRASE:
                    para.append(mrr[-1])
            f1 = em.prf(pred, gold)[2]
            paras.append(em._mean(para))
            cells.append(f"{em._mean(mrr):.4f} / {em._mean(hit):.3f} / {em._mean(para):.4f} / {f1:.3f}")
        print(f"{spec or '(default)':<56}{em._mean(paras):>16.4f}" + "".join(f"{c:>34}" for c in cells), flush=True)


def diagnose() -> None:
    """Where the first pass leaves the right expert of each dev paraphrase it does not rank first (dev, dev3–dev7;
    meaning on): its rank among the first 30 by the engine and by meaning alone, and how many of the default
    variant's feedback concepts it holds against the wrong first expert."""
    sets = [s for s in em.load_sets(em.BLIND_DIR, em.REALTEXT_DIR, only_dev=True) if s.name != "realdev"]
    opts = Options()
    rows: list[tuple[str, int | None, int | None, int, int, int]] = []
    for s in sets:
        m = em.wieweet_matcher(s.register, semantic=True)
        fb = doc_concepts(m)
        ids = {d.email: i for i, d in m.documents("expert").items() if isinstance(d, ExpertDoc)}
        for q in s.queries:
            if q.gap or not q.experts or q.kind not in PARAPHRASE:
                continue
            try:
                r = m.search(q.query, limit=30, now=em.EVAL_NOW)
            except QueryError:
                continue
            got = [h.doc.id for h in r.experts]
            rel = {ids[e] for e in em.relevant(q.experts) if e in ids}
            if got and got[0] in rel:
                continue
            rank = next((i + 1 for i, d in enumerate(got) if d in rel), None)
            e_sim = m.semantic.similarities(question_topic(q.query), ("expert",))[0] if m.semantic else None
            by_meaning = [d for d, _ in sorted(e_sim.boosts.items(), key=lambda x: (-x[1], x[0]))] if e_sim else []
            mrank = next((i + 1 for i, d in enumerate(by_meaning) if d in rel), None)
            groups = expansion(m, fb, opts, m._parser.parse(q.query), got[:5], [h.doc.id for h in r.practices[:5]])
            chosen = {tuple(g.variants[0].terms) for g in groups}
            right = max((len(chosen & fb.experts.get(d, set())) for d in rel), default=0)
            wrong = len(chosen & fb.experts.get(got[0], set())) if got else 0
            rows.append((s.name, rank, mrank, len(chosen), right, wrong))
            print(
                f"  {s.name} {q.query!r}: rank {rank}, by meaning {mrank}; {len(chosen)} concepts, "
                f"the right expert holds {right}, the first {wrong}"
            )

    def n(test: Callable[[tuple[str, int | None, int | None, int, int, int]], bool]) -> int:
        return sum(1 for r in rows if test(r))

    print(
        f"{len(rows)} dev paraphrases with a wrong first expert; the right one ranked 2–5: "
        f"{n(lambda r: 0 < (r[1] or 0) <= 5)}, "
        f"6–30: {n(lambda r: (r[1] or 0) > 5)}, below 30: {n(lambda r: r[1] is None)}; among the 100 closest by "
        f"meaning: {n(lambda r: r[2] is not None)} (the first 5: {n(lambda r: 0 < (r[2] or 0) <= 5)}); of the "
        f"feedback concepts the right expert holds more than the wrong first one: {n(lambda r: r[4] > r[5])}, as "
        f"many: {n(lambda r: r[4] == r[5])}, fewer: {n(lambda r: r[4] < r[5])}"
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
        f"{p(base, 0.5):.2f} / {p(base, 0.95):.2f} ms; with the expansion "
        f"{p(total, 0.5):.2f} / {p(total, 0.95):.2f} ms; "
        f"added per question p50 {p(added, 0.5):.2f} ms, p95 {p(added, 0.95):.2f} ms"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--variant", default="", metavar="SPEC", help='the variant, e.g. "experts_only=1,gate=0.3" (Options\' fields)'
    )
    ap.add_argument("--concepts", action="store_true", help="list each expanded question's concepts (dev sets only)")
    ap.add_argument("--speed", action="store_true", help="only the added CPU per question on the speed bench")
    ap.add_argument(
        "--grid", nargs="*", metavar="SPEC", help="variants side by side in one process (no SPEC: the built-in grid)"
    )
    ap.add_argument("--diagnose", action="store_true", help="where the first pass leaves failing dev paraphrases")
    args = ap.parse_args(argv)
    if args.diagnose:
        diagnose()
        return
    if args.grid is not None:
        grid(args.grid or GRID)
        return
    opts = _variant(args.variant)
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
