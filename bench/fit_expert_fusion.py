"""A learned fusion of words and meaning for the expert ranking (issue #13; tried, not shipped): leave-one-register-out.

Usage::

    pip install -e '.[bench]'                       # scikit-learn (and the scipy it brings)
    python bench/fit_expert_fusion.py               # the signals (cached in bench/.cache/fusion.json), the LORO table
    python bench/fit_expert_fusion.py --refresh     # read the signals again (after an engine change)
    python bench/fit_expert_fusion.py --sweep       # every model / feature set / strength / depth, one line each

The expert ranking mixes the words' score with the meaning boost by hand-set rules (docs/matching-evaluation.md,
rounds 5-13). This asks whether a *learned* mix of the signals the engine already computes ranks better on a
register it was not fitted on.

Data: the *dev* queries of every tuning set over its own register (``eval_matching.tuning_registers``: the demo
register with queries.jsonl, queries_dev2.jsonl and dev3; dev4–dev7). Held-out queries, the blind set and the
real-text set are never read. For each dev query with graded experts (no gap) the engine's first ``DEPTH`` experts
are read with their signals, from one search through wrapped private methods (no engine change): the words' score
normalised by the question's ideal (after the contact floor, and before it), the share of the question's concepts the
expert's words cover, the city/organisation boost, the meaning boost as ranked (after the lean and practice meaning),
the whole-text, best-part and mixed cosines as z-scores over the register, the rank by the mixed cosine, the
practice-contact evidence, the final score (with the availability and staleness factors) and rank, and two
interactions with how little the words cover of the question (round 11's lean).

Models: a linear re-scorer of the first ``depth`` experts, fitted on three registers and applied to the fourth —
``pairwise``: L2 logistic regression on feature differences of (relevant, not relevant) experts of one query, each
query weighing 1; ``listwise``: the softmax likelihood of a relevant expert first, L2 on every weight but the final
score's, optionally monotone (the weights of signals that should only help held at ≥ 0). Practices and the gap
decision are not touched (the gap features are read before the experts are ranked), so practice MRR@10 and gap
P/R/F1 are those of today's engine by construction.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from eval_matching import EVAL_NOW, relevant, tuning_registers, wieweet_matcher

from bot.errors import QueryError
from bot.matching import Matcher
from bot.matching.analysis import question_topic

CACHE = Path(__file__).resolve().parent / ".cache" / "fusion.json"
DEPTH = 30  # experts read per query
LEAN_COVER = 0.3  # MatchConfig.meaning_lean_cover: below it the words cover "little"

Row = dict[str, Any]
Item = dict[str, Any]  # one query: id, kind, rel (relevant e-mails), rows (the engine's experts, best first)


# ---------------------------------------------------------------------------------------------------- signals
def extract(m: Matcher, query: str) -> list[Row]:
    """The engine's first ``DEPTH`` experts for ``query`` with their signals (none for an unusable question)."""
    got: dict[str, Any] = {}
    covers: list[dict[int, int]] = []
    orig_floor, orig_cand, orig_cover = m._contact_floor, m._expert_candidates, m._cover
    orig_gap = m._gap_features

    def floor(e_raw: Any, p_by_expert: Any, scale: float) -> Any:
        got["e_raw"] = dict(e_raw)
        got["p_by"] = {e: max(s for s, _ in items) * scale for e, items in p_by_expert.items()}
        return orig_floor(e_raw, p_by_expert, scale)

    def cand(raw: Any, sem: Any, ideal: float, pq: Any, limit: int) -> Any:
        got.update(e_rank=dict(raw), sem=dict(sem), ideal=ideal, pq=pq)
        return orig_cand(raw, sem, ideal, pq, limit)

    def cover(raw: Any, masks: Any, concepts: int, *, free: int = 0) -> None:
        covers.append(dict(masks))  # practices, answers, experts: the third call is the experts'
        orig_cover(raw, masks, concepts, free=free)

    def gap_features(*args: Any, **kw: Any) -> dict[str, float]:
        got["features"] = out = orig_gap(*args, **kw)
        return out

    m._contact_floor, m._expert_candidates, m._cover = floor, cand, cover  # type: ignore[method-assign]
    m._gap_features = gap_features  # type: ignore[method-assign]
    try:
        r = m.search(query, limit=DEPTH, now=EVAL_NOW)
    except QueryError:
        return []
    finally:
        del m._contact_floor, m._expert_candidates, m._cover, m._gap_features
    if not r.experts or "ideal" not in got:
        return []
    pq, ideal, feats = got["pq"], got["ideal"], got["features"]
    n = max(pq.concepts, 1)
    e_mask = covers[2] if len(covers) >= 3 else {}
    cosines: dict[str, dict[int, float]] = {"z_whole": {}, "z_part": {}, "z_mix": {}}
    rank_mix: dict[int, int] = {}
    index = m.semantic
    if index is not None and pq.groups:  # the cosines as the engine computes them (SemanticIndex.similarity)
        snapshot = index._kind_matrix("expert")
        assert snapshot is not None
        ids, matrix = snapshot
        q = np.asarray(index.embedder.query(question_topic(query)), dtype=np.float32)
        whole = matrix @ q
        mixed, _ = index._with_parts("expert", ids, whole, q)
        w = index.part_weight
        part = (mixed - (1 - w) * whole) / w
        for name, arr in (("z_whole", whole), ("z_part", part), ("z_mix", mixed)):
            mu, sd = float(arr.mean()), float(arr.std()) or 1.0
            cosines[name] = {d: (float(x) - mu) / sd for d, x in zip(ids, arr, strict=True)}
        rank_mix = {ids[int(i)]: k for k, i in enumerate(np.argsort(-mixed), start=1)}
    rows = []
    for rank, hit in enumerate(r.experts, start=1):
        eid = hit.doc.id
        factor = (1.0 if hit.available else m.config.unavailable_factor) * (m.config.stale_factor if hit.stale else 1.0)
        rows.append(
            {
                "email": hit.doc.email.lower(),
                "rank": rank,
                "score": hit.score * factor,  # what the engine sorts by
                "norm": got["e_rank"].get(eid, 0.0) / ideal,
                "raw_norm": got["e_raw"].get(eid, 0.0) / ideal,
                "cover": e_mask.get(eid, 0).bit_count() / n,
                "boost": m._boost(m._kinds["expert"], eid, pq),
                "sem": got["sem"].get(eid, 0.0),
                "p_ev": got["p_by"].get(eid, 0.0) / ideal,
                **{name: vals.get(eid, 0.0) for name, vals in cosines.items()},
                "rank_mix": rank_mix.get(eid, 1000),
                "q_coverage": feats.get("coverage", 0.0),
            }
        )
    return rows


def read_signals() -> dict[str, list[Item]]:
    data: dict[str, list[Item]] = {}
    for name, reg, queries in tuning_registers():
        m = wieweet_matcher(reg)
        data[name] = [
            {"id": q.id, "kind": q.kind, "rel": sorted(relevant(q.experts)), "rows": extract(m, q.query)}
            for q in queries
            if q.split == "dev" and not q.gap and q.experts
        ]
        print(f"{name}: {len(data[name])} dev queries with graded experts", file=sys.stderr)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(data))
    return data


# ---------------------------------------------------------------------------------------------------- features
def _low(r: Row) -> float:
    return max(0.0, 1.0 - r["q_coverage"] / LEAN_COVER)


# name -> (value, sign a monotone fit holds: +1 may only help, -1 only hurt, 0 free)
FEATURES: dict[str, tuple[Callable[[Row], float], int]] = {
    "score": (lambda r: r["score"], 1),
    "norm": (lambda r: r["norm"], 0),
    "raw_norm": (lambda r: r["raw_norm"], 0),
    "cover": (lambda r: r["cover"], 1),
    "log_boost": (lambda r: math.log(r["boost"]), 1),
    "sem": (lambda r: r["sem"], 0),
    "z_whole": (lambda r: r["z_whole"], 1),
    "z_part": (lambda r: r["z_part"], 1),
    "z_mix": (lambda r: r["z_mix"], 1),
    "p_ev": (lambda r: r["p_ev"], 1),
    "inv_rank": (lambda r: 1.0 / r["rank"], 1),
    "log_rank_mix": (lambda r: math.log(min(r["rank_mix"], 1000)), -1),
    "z_mix_low": (lambda r: r["z_mix"] * _low(r), 0),
    "norm_low": (lambda r: r["norm"] * _low(r), 0),
}
FEATURE_SETS = {
    "all": tuple(FEATURES),
    "small": ("score", "norm", "sem", "z_whole", "z_part", "cover", "p_ev"),
    "meaning": ("score", "z_whole", "z_part", "norm_low", "z_mix_low"),
    "mixrank": ("score", "z_mix", "z_mix_low", "cover", "log_rank_mix"),
    "lexsem": ("score", "norm", "sem", "cover"),
}


def matrix(rows: Sequence[Row], names: Sequence[str]) -> Any:
    return np.array([[FEATURES[n][0](r) for n in names] for r in rows], dtype=float).reshape(len(rows), len(names))


def _queries(items: Sequence[Item], names: Sequence[str], depth: int) -> list[tuple[Any, Any]]:
    """Per query with a relevant and a non-relevant expert among the first ``depth``: (features, relevant mask)."""
    out = []
    for it in items:
        rows, rel = it["rows"][:depth], set(it["rel"])
        y = np.array([r["email"] in rel for r in rows], dtype=bool)
        if y.any() and not y.all():
            out.append((matrix(rows, names), y))
    return out


def fit_pairwise(items: Sequence[Item], names: Sequence[str], c: float, depth: int) -> Any:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - bench extra

    diffs, weights = [], []
    for x, y in _queries(items, names, depth):
        pos, neg = x[y], x[~y]
        d = (pos[:, None, :] - neg[None, :, :]).reshape(-1, len(names))
        diffs.append(d)
        weights.append(np.full(len(d), 1.0 / len(d)))
    a, w = np.vstack(diffs), np.concatenate(weights)
    sd = a.std(0)
    sd[sd == 0] = 1.0
    a = a / sd
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000)
    model.fit(np.vstack([a, -a]), np.r_[np.ones(len(a)), np.zeros(len(a))], sample_weight=np.r_[w, w])
    return model.coef_[0] / sd


def fit_listwise(items: Sequence[Item], names: Sequence[str], lam: float, depth: int, *, monotone: bool) -> Any:
    from scipy.optimize import minimize  # noqa: PLC0415 - bench extra

    qs = _queries(items, names, depth)
    sd = np.vstack([x for x, _ in qs]).std(0)
    sd[sd == 0] = 1.0
    qs = [(x / sd, y) for x, y in qs]
    k = len(names)
    penalised = np.array([n != "score" for n in names], dtype=float)

    def loss(w: Any) -> tuple[float, Any]:
        total, grad = 0.0, np.zeros(k)
        for x, y in qs:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pr = p[y].sum()
            total -= math.log(pr + 1e-300)
            grad -= (p[y] @ x[y]) / pr - p @ x
        return total + lam * float(np.sum(penalised * w * w)), grad + 2 * lam * penalised * w

    w0 = np.where(penalised > 0, 0.0, 5.0)
    signs = [FEATURES[n][1] for n in names]
    bounds = [
        ((0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None)) if monotone else (None, None) for s in signs
    ]
    return minimize(loss, w0, jac=True, method="L-BFGS-B", bounds=bounds).x / sd


# ---------------------------------------------------------------------------------------------------- evaluation
def rerank(it: Item, coef: Any, names: Sequence[str], depth: int) -> list[str]:
    rows = it["rows"]
    head = rows[:depth]
    if not head:
        return []
    s = matrix(head, names) @ coef
    order = sorted(range(len(head)), key=lambda i: (-s[i], head[i]["rank"]))  # ties: today's order
    return [head[i]["email"] for i in order] + [r["email"] for r in rows[depth:]]


def today(it: Item) -> list[str]:
    return [r["email"] for r in it["rows"]]


def _mrr(ranked: list[str], rel: set[str]) -> float:
    return next((1.0 / i for i, x in enumerate(ranked[:10], start=1) if x in rel), 0.0)


KIND_GROUPS = {"paraphrase": ("paraphrase", "synonym"), "English": ("english",), "French": ("french",)}


def column(item_id: str, register: str) -> str:
    """The evaluation column of a query: the demo register's split into dev and dev3 as in eval_matching."""
    return ("dev3" if item_id.startswith("dev3/") else "dev") if register == "demo" else register


def scores(items: Sequence[Item], rank: Callable[[Item], list[str]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"mrr": [], "hit3": [], **{k: [] for k in KIND_GROUPS}}
    for it in items:
        ranked, rel = rank(it), set(it["rel"])
        mrr = _mrr(ranked, rel)
        out["mrr"].append(mrr)
        out["hit3"].append(1.0 if rel & set(ranked[:3]) else 0.0)
        for group, kinds in KIND_GROUPS.items():
            if it["kind"] in kinds:
                out[group].append(mrr)
    return out


def leave_one_register_out(
    data: dict[str, list[Item]], fit: Callable[[list[Item]], Any], names: Sequence[str], depth: int
) -> dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]]:
    """Per column: (today's scores, the left-out re-scorer's), each register scored by the fit on the others."""
    out: dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]] = {}
    for left, items in data.items():
        coef = fit([it for name, other in data.items() if name != left for it in other])
        for col in dict.fromkeys(column(it["id"], left) for it in items):
            part = [it for it in items if column(it["id"], left) == col]
            out[col] = (scores(part, today), scores(part, lambda it, c=coef: rerank(it, c, names, depth)))
    return out


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summary(table: dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]]) -> dict[str, float]:
    pooled_b = [x for b, _ in table.values() for x in b["mrr"]]
    pooled_a = [x for _, a in table.values() for x in a["mrr"]]
    worst = min(min(_mean(a["mrr"]) - _mean(b["mrr"]), _mean(a["hit3"]) - _mean(b["hit3"])) for b, a in table.values())
    para = [(_mean(b["paraphrase"]), _mean(a["paraphrase"])) for b, a in table.values() if b["paraphrase"]]
    return {
        "pooled_before": _mean(pooled_b),
        "pooled_after": _mean(pooled_a),
        "worst": worst,
        "para_before": _mean([p for p, _ in para]),
        "para_after": _mean([p for _, p in para]),
    }


def print_table(title: str, table: dict[str, tuple[dict[str, list[float]], dict[str, list[float]]]]) -> None:
    cols = list(table)
    print(f"\n{title}\n| measure | " + " | ".join(cols) + " |")
    print("| --- |" + " --- |" * len(cols))
    for key, label in (("mrr", "expert MRR@10"), ("hit3", "expert hit@3"), *((k, f"{k} MRR@10") for k in KIND_GROUPS)):
        cells = []
        for col in cols:
            b, a = table[col]
            cells.append(f"{_mean(b[key]):.3f} → {_mean(a[key]):.3f}" if b[key] else "—")
        print(f"| {label} | " + " | ".join(cells) + " |")
    s = summary(table)
    print(
        f"pooled expert MRR@10 {s['pooled_before']:.4f} → {s['pooled_after']:.4f} "
        f"({s['pooled_after'] - s['pooled_before']:+.4f}); worst column change {s['worst']:+.3f}; "
        f"paraphrase mean {s['para_before']:.3f} → {s['para_after']:.3f}"
    )


def fitter(model: str, names: Sequence[str], strength: float, depth: int) -> Callable[[list[Item]], Any]:
    if model == "pairwise":
        return lambda items: fit_pairwise(items, names, strength, depth)
    return lambda items: fit_listwise(items, names, strength, depth, monotone=model == "monotone")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refresh", action="store_true", help="read the signals from the engine again")
    ap.add_argument("--sweep", action="store_true", help="every model, feature set, strength and depth")
    args = ap.parse_args(argv)
    data = read_signals() if args.refresh or not CACHE.exists() else json.loads(CACHE.read_text())
    if args.sweep:
        grid = [
            (model, fs, strength, depth)
            for model, strengths in (
                ("pairwise", (0.01, 0.1, 1.0, 10.0)),
                ("listwise", (0.1, 1.0, 10.0)),
                ("monotone", (0.1, 1.0, 10.0)),
            )
            for fs in FEATURE_SETS
            for strength in strengths
            for depth in (5, 10, 30)
        ]
        for model, fs, strength, depth in grid:
            names = FEATURE_SETS[fs]
            s = summary(leave_one_register_out(data, fitter(model, names, strength, depth), names, depth))
            print(
                f"{model:9s}{fs:8s}{strength:6}{depth:4d}  pooled {s['pooled_after'] - s['pooled_before']:+.4f}  "
                f"worst column {s['worst']:+.3f}  paraphrase {s['para_after'] - s['para_before']:+.3f}",
                flush=True,
            )
        return
    # the two planned fits, and the sweep's best line (chosen on the left-out result itself: an optimistic reading)
    for model, fs, strength, depth in (
        ("pairwise", "all", 1.0, 30),
        ("monotone", "all", 1.0, 10),
        ("listwise", "lexsem", 1.0, 5),
    ):
        names = FEATURE_SETS[fs]
        table = leave_one_register_out(data, fitter(model, names, strength, depth), names, depth)
        print_table(f"{model}, {fs} signals ({len(names)}), strength {strength}, first {depth} experts", table)


if __name__ == "__main__":
    main()
