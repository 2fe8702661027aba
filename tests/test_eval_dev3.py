"""The dev3 evaluation set (``bench/eval/dev3/queries.jsonl``) stays well-formed and in step with the demo register.

The set is graded by hand over ``bot/data/demo/``: if an expert's e-mail or a practice's title or city changes there,
the grades would silently stop counting. This test reads both with the standard library only (no engine, no
database) and checks the format ``bench/_data.load_queries`` reads, that every graded id exists, the minimum size
per kind that the set's README promises, and that no query is asked twice.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.setfiles import assert_asked_once, assert_graded_ids_exist, read_jsonl
from tests.test_eval_registers import assert_loader_format

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bench" / "eval" / "dev3" / "queries.jsonl"
DEMO = ROOT / "bot" / "data" / "demo"

KINDS = {"gap", "paraphrase", "french", "english", "question", "keyword", "typo", "compound", "abbreviation", "city"}
MINIMUM = {"gap": 60, "paraphrase": 30, "french": 25, "english": 25}


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    return read_jsonl(QUERIES)


def test_every_line_has_the_loader_format(queries: list[dict[str, Any]]) -> None:
    for row in queries:
        assert_loader_format(row, id_pattern=r"v\d{3}", kinds=KINDS)


def test_every_graded_id_exists_in_the_demo_register(queries: list[dict[str, Any]]) -> None:
    assert_graded_ids_exist(queries, DEMO)


def test_ids_and_queries_are_unique(queries: list[dict[str, Any]]) -> None:
    assert_asked_once(queries)


def test_the_set_has_the_promised_size_per_kind(queries: list[dict[str, Any]]) -> None:
    kinds = Counter(q["kind"] for q in queries)
    assert len(queries) >= 180
    for kind, least in MINIMUM.items():
        assert kinds[kind] >= least, (kind, kinds[kind])
    assert set(kinds) == KINDS, "every kind is represented"
