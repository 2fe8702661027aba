"""CPU per question of the current matching code against an earlier revision's version of a few of its functions,
in one process over one full-size index (the A/B loop of ``bench/_ab.py``).

Usage::

    python bench/function_ab.py --rev main --swap engine.Matcher._cover --swap dense.score
    python bench/function_ab.py --rev HEAD~1 --swap dense.score --rounds 4 --slowest 40 --repeat 15

Each ``--swap`` names a function of a module of ``bot.matching`` (``module.function`` or
``module.Class.method``); the way "before" runs that function as it is written at ``--rev`` (its source read with
``git show``, compiled in the current module's namespace), the way "now" the current one. Everything else is the
current code, so only what those functions do differs. The questions are the latency benchmark's less the held-out
evaluation questions; each is searched ``--rounds`` times a way, the ways alternated round by round, the best CPU
time counting, then the ``--slowest`` questions ``--repeat`` times more in random order (``bench/_ab.py``). Also:
how many results differ between the two (ids, unrounded scores, gap decision and features).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import statistics
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from _ab import add_args, alternate, build, pct

from bot.errors import QueryError

ROOT = Path(__file__).resolve().parent.parent


def _old_source(rev: str, module: str, qualname: list[str]) -> str:
    path = f"bot/matching/{module}.py"
    text = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.AST | None = None
    for name in qualname:
        node = next(
            (n for n in body if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name),
            None,
        )
        if node is None:
            raise SystemExit(f"{'.'.join(qualname)} not found in {path} at {rev}")
        body = getattr(node, "body", [])
    assert isinstance(node, ast.FunctionDef)
    lines = text.splitlines()
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
    return textwrap.dedent("\n".join(lines[start : node.end_lineno]))


def _swaps(rev: str, names: list[str]) -> list[tuple[Any, str, Any, Any]]:
    """Per ``--swap``: (owner, attribute, the current function, the one of ``rev``)."""
    out = []
    for spec in names:
        module, *qual = spec.split(".")
        mod = importlib.import_module(f"bot.matching.{module}")
        owner: Any = mod
        for name in qual[:-1]:
            owner = getattr(owner, name)
        current = owner.__dict__[qual[-1]]
        namespace = dict(vars(mod))
        exec(compile(_old_source(rev, module, qual), f"<{rev}:{spec}>", "exec"), namespace)
        old = namespace[qual[-1]]
        if isinstance(current, staticmethod) and not isinstance(old, staticmethod):
            old = staticmethod(old)
        out.append((owner, qual[-1], current, old))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(ap)
    ap.add_argument("--rev", required=True, help="the revision whose functions run as the way 'before'")
    ap.add_argument("--swap", action="append", required=True, help="module.function or module.Class.method")
    args = ap.parse_args()
    swaps = _swaps(args.rev, args.swap)
    m, queries = build(args)
    names = ["before", "now"]

    def use(name: str) -> None:
        for owner, attr, current, old in swaps:
            setattr(owner, attr, old if name == "before" else current)

    def dump(query: str) -> object:
        try:
            r = m.search(query)
        except QueryError:
            return ()
        hits = tuple(tuple((h.doc.id, h.score) for h in hs) for hs in (r.experts, r.practices, r.answers))
        return hits, r.gap, r.gap_probability, sorted(r.gap_features.items())

    got = {}
    for n in names:
        use(n)
        got[n] = [dump(q) for q in queries]
    same = sum(a == b for a, b in zip(got["before"], got["now"], strict=True))
    t = alternate(m, queries, names, use, args)
    use("now")
    print(f"{len(queries)} questions, best of {args.rounds}; the {len(t.order)} slowest best of {args.repeat} more")
    print(f"results the same (ids, scores, gap decision and features): {same} of {len(queries)}")
    print(f"{'way':<10}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'slowest':>9}{'vs before':>11}")
    base = statistics.mean(t.slow["before"])
    for n in names:
        xs, s = t.best[n], statistics.mean(t.slow[n])
        print(
            f"{n:<10}{pct(xs, 0.5):>9.2f}{pct(xs, 0.95):>9.2f}{statistics.mean(xs):>9.2f}{s:>9.2f}"
            f"{(s / base - 1) * 100:>+10.1f}%"
        )


if __name__ == "__main__":
    main()
