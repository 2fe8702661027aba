"""The fourth development set for grouping knowledge needs (``bench/needs/dev4``) keeps the shape its README promises.

The set is scored by ``bench/needs.py --quality`` (pairwise precision / recall against the ``topic`` labels), so a
wrong label or a broken line silently changes the numbers. These tests read the file with the standard library only
(no engine): the loader's format, unique ids and texts, the languages, every topic's size (4–9 wordings, each by a
different organisation; lone questions once), the minimum size per kind, and that ``bench/needs.py`` registers the
set as a development set.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.setfiles import assert_asked_once, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
SET_DIR = ROOT / "bench" / "needs" / "dev4"
QUESTIONS = SET_DIR / "questions.jsonl"

FIELDS = {"id", "text", "lang", "topic", "organisation", "city"}
LANGS = {"nl", "en", "fr"}
ALONE = re.compile(r"alone-\d{2}")
# What the set's README states (update both together).
TOTAL, TOPICS, LONE = 346, 44, 46
LANG_COUNTS = {"nl": 255, "en": 51, "fr": 40}
SIZES = {4: 2, 5: 2, 6: 8, 7: 24, 8: 6, 9: 2}  # wordings per topic -> how many topics


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return read_jsonl(QUESTIONS)


def _topics(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_topic[row["topic"]].append(row)
    return by_topic


def test_every_line_has_the_loader_format(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        where = row.get("id", row)
        assert set(row) == FIELDS, f"{where}: fields {sorted(row)}"
        for field in FIELDS:
            value = row[field]
            assert isinstance(value, str) and value and value == value.strip(), (where, field)
        assert row["lang"] in LANGS, where
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", row["topic"]), where


def test_ids_run_from_g001_in_file_order(rows: list[dict[str, Any]]) -> None:
    assert [r["id"] for r in rows] == [f"g{n:03d}" for n in range(1, len(rows) + 1)]


def test_no_question_is_asked_twice(rows: list[dict[str, Any]]) -> None:
    assert_asked_once(rows, text="text")


def test_the_set_has_the_promised_size_and_languages(rows: list[dict[str, Any]]) -> None:
    assert len(rows) == TOTAL >= 260
    assert Counter(r["lang"] for r in rows) == LANG_COUNTS
    by_topic = _topics(rows)
    shared = {t: g for t, g in by_topic.items() if not ALONE.fullmatch(t)}
    lone = {t: g for t, g in by_topic.items() if ALONE.fullmatch(t)}
    assert len(shared) == TOPICS >= 35
    assert len(lone) == LONE >= 40
    assert Counter(len(g) for g in shared.values()) == SIZES


def test_every_topic_is_asked_4_to_9_times_by_different_organisations(rows: list[dict[str, Any]]) -> None:
    for topic, group in _topics(rows).items():
        organisations = [r["organisation"] for r in group]
        if ALONE.fullmatch(topic):
            assert len(group) == 1, topic
            continue
        assert 4 <= len(group) <= 9, (topic, len(group))
        assert len(set(organisations)) == len(organisations), topic
        langs = {r["lang"] for r in group}
        assert "nl" in langs and "en" in langs, (topic, langs)


def test_lone_topics_are_numbered_without_gaps(rows: list[dict[str, Any]]) -> None:
    lone = sorted(r["topic"] for r in rows if r["topic"].startswith("alone"))
    assert lone == [f"alone-{n:02d}" for n in range(1, len(lone) + 1)]


def test_an_organisation_always_has_one_city(rows: list[dict[str, Any]]) -> None:
    cities: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        cities[row["organisation"]].add(row["city"])
        for prefix in ("Stad ", "OCMW "):
            if row["organisation"].startswith(prefix):
                assert row["city"] == row["organisation"].removeprefix(prefix), row["id"]
    assert {o: c for o, c in cities.items() if len(c) > 1} == {}


def test_the_file_order_is_shuffled(rows: list[dict[str, Any]]) -> None:
    """Grouping runs in file order (the order questions arrive in): a topic's wordings must not come in a row."""
    neighbours = sum(a["topic"] == b["topic"] for a, b in itertools.pairwise(rows))
    assert neighbours < len(rows) // 20
    first = {t: min(int(r["id"][1:]) for r in g) for t, g in _topics(rows).items() if not ALONE.fullmatch(t)}
    assert max(first.values()) > len(rows) // 4, "some topic first appears late in the file"


def test_the_set_is_registered_as_a_development_set() -> None:
    """``bench/needs.py`` reads the set under the name ``dev4`` with its own loader (as ``--sets ...,dev4`` does)."""
    script = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('bench_needs', sys.argv[1])\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "rows = module.load(module.SETS['dev4'])\n"
        "print(json.dumps([str(module.SETS['dev4']), len(rows), list(module.SETS)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "bench" / "needs.py")],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    path, count, names = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(path) == QUESTIONS
    assert count == TOTAL
    assert names.index("dev4") < names.index("held-out")  # listed with the development sets


def test_the_readme_states_the_authoring_rules_and_the_shuffle_seed() -> None:
    readme = (SET_DIR / "README.md").read_text(encoding="utf-8")
    for promise in (f"{TOTAL} questions", f"{TOPICS} topics", f"{LONE} questions alone", "random.Random(4)"):
        assert promise in readme, promise
    assert "Not read" in readme and "Hard cases" in readme
