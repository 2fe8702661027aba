"""Fit the calibrated "nobody knows" model (``bot.matching.gapmodel``) on the dev queries, and write its coefficients.

Usage::

    pip install -e '.[bench]'                 # scikit-learn
    python bench/fit_gap_model.py             # prints the cross-validated choice, writes data/gap_model.json
    python bench/fit_gap_model.py --dry-run   # prints only

Data: the *dev* queries of ``bench/eval/queries.jsonl`` and ``bench/eval/queries_dev2.jsonl`` over the demo
register (imported as ``bench/eval_matching.py`` does). Held-out queries (every 4th), the blind set and the real-text
set are never read here. For each dev query the matcher's gap features are computed twice — with the semantic index
(``semantic`` model) and without it (``lexical`` model) — and an L2-regularised logistic regression is fitted on
standardised features, gap = positive class. The regularisation strength C is chosen by stratified 5-fold
cross-validation on dev (log-loss), without class weights, so the output is a calibrated probability and 0.5 the
decision that minimises expected errors. The model is
then refitted on all of dev with that C, and the decision threshold on its probability is chosen on out-of-fold
probabilities of dev (best F1).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import load_register_db
from eval_matching import EVAL_NOW, OWN_QUERIES, load_queries
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import LEXICAL_FEATURES, SEMANTIC_FEATURES, GapModel

OUT = Path(__file__).resolve().parent.parent / "bot" / "matching" / "data" / "gap_model.json"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def features(m: Matcher, queries: list[str], names: tuple[str, ...]) -> list[list[float]]:
    rows: list[list[float]] = []
    for q in queries:
        try:
            f = m.search(q, limit=10, now=EVAL_NOW).gap_features
        except QueryError:
            f = {}
        rows.append([f.get(n, 0.0) for n in names])
    return rows


def fit(x: list[list[float]], y: list[int], names: tuple[str, ...]) -> tuple[GapModel, float, float]:
    n = len(x)
    mean = [sum(r[j] for r in x) / n for j in range(len(names))]
    scale = [(sum((r[j] - mean[j]) ** 2 for r in x) / n) ** 0.5 or 1.0 for j in range(len(names))]
    z = [[(r[j] - mean[j]) / scale[j] for j in range(len(names))] for r in x]
    search = GridSearchCV(
        LogisticRegression(max_iter=1000),
        {"C": list(C_GRID)},
        scoring="neg_log_loss",
        cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=13),
    )
    search.fit(z, y)
    c = float(search.best_params_["C"])
    lr = LogisticRegression(max_iter=1000, C=c).fit(z, y)
    model = GapModel(
        names,
        tuple(round(float(w), 6) for w in lr.coef_[0]),
        round(float(lr.intercept_[0]), 6),
        tuple(round(v, 6) for v in mean),
        tuple(round(v, 6) for v in scale),
        decision_threshold(z, y, c),
    )
    return model, c, float(-search.best_score_)


def decision_threshold(z: list[list[float]], y: list[int], c: float) -> float:
    """The probability threshold for "nobody knows": the best F1 over out-of-fold probabilities on dev (5 folds,
    10 shuffles)."""
    pooled: list[tuple[float, int]] = []
    for seed in range(10):
        cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
        probs = cross_val_predict(LogisticRegression(max_iter=1000, C=c), z, y, cv=cv, method="predict_proba")[:, 1]
        pooled.extend(zip(probs.tolist(), y, strict=True))
    best: tuple[tuple[bool, float], float] | None = None
    for t in [i / 100 for i in range(10, 91)]:
        tp = sum(1 for p, g in pooled if p >= t and g)
        fp = sum(1 for p, g in pooled if p >= t and not g)
        fn = sum(1 for p, g in pooled if p < t and g)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        key = (True, f1)  # (a precision floor of 0.85 was tried: out-of-fold it leaves F1 at 0.5-0.65)
        if best is None or key > best[0]:
            best = (key, t)
    assert best is not None
    print(f"  threshold {best[1]:.2f}: out-of-fold F1 {best[0][1]:.3f}")
    return best[1]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)

    reg = load_register_db()
    dev = [q for path in OWN_QUERIES if path.exists() for q in load_queries(path) if q.split == "dev"]
    y = [1 if q.gap else 0 for q in dev]
    print(f"dev: {len(dev)} queries, {sum(y)} gaps (held-out, blind and real-text queries are not read)")
    cfg = MatchConfig(gap_model=False)
    m = Matcher(themes=reg.themes, places=reg.places, config=cfg)
    m.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
    models: dict[str, GapModel] = {}
    texts = [q.query for q in dev]
    lexical = features(m, texts, LEXICAL_FEATURES)
    models["lexical"], c, loss = fit(lexical, y, LEXICAL_FEATURES)
    print(f"lexical:  C={c}  cross-validated log-loss {loss:.3f}")
    try:
        from bench_semantic import attach_cached_embeddings, require  # noqa: PLC0415

        require()
        attach_cached_embeddings(m)
        sem = features(m, texts, SEMANTIC_FEATURES)
        models["semantic"], c, loss = fit(sem, y, SEMANTIC_FEATURES)
        print(f"semantic: C={c}  cross-validated log-loss {loss:.3f}")
    except ImportError as exc:
        print(f"semantic model not fitted: {exc}")
    for name, model in models.items():
        print(f"\n{name}: intercept {model.intercept:+.3f}")
        for f, w in zip(model.features, model.coef, strict=True):
            print(f"  {f:<12} {w:+.3f}")
    if not args.dry_run:
        OUT.write_text(
            json.dumps(
                {
                    "fitted_by": "bench/fit_gap_model.py",
                    "data": "dev queries of bench/eval/queries.jsonl and bench/eval/queries_dev2.jsonl",
                    "models": {k: v.to_json() for k, v in models.items()},
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"\nwrote {OUT.relative_to(OUT.parents[3])}")


if __name__ == "__main__":
    main()
