"""Reading the hand-made evaluation sets with the standard library only (no engine), and the checks every set with
graded queries shares: the tests of ``bench/eval/dev3``, ``dev4``-``dev6`` and ``bench/needs/dev4`` use them."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """One JSON object per line; a blank line or a line that is not an object fails with its line number."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"line {number}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number}: not an object"
        rows.append(row)
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    """A register file's rows, names and values stripped (as the product's import reads them)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]


def assert_graded_ids_exist(queries: Sequence[dict[str, Any]], register: Path) -> None:
    """Every graded expert (e-mail) and practice (``title|city``) is in the register in the folder ``register``."""
    emails = {r["email"].lower() for r in read_csv(register / "experts.csv")}
    practice_keys = {f"{r['title']}|{r['city']}" for r in read_csv(register / "practices.csv")}
    missing = [(q["id"], e) for q in queries for e in q["experts"] if e not in emails]
    missing += [(q["id"], p) for q in queries for p in q["practices"] if p not in practice_keys]
    assert not missing


def assert_asked_once(rows: Sequence[dict[str, Any]], *, text: str = "query") -> None:
    """No id twice, and no text twice (compared case-folded, with runs of white space as one space)."""
    ids = Counter(r["id"] for r in rows)
    assert [i for i, n in ids.items() if n > 1] == []
    texts = Counter(" ".join(r[text].casefold().split()) for r in rows)
    assert [t for t, n in texts.items() if n > 1] == []
