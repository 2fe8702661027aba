"""The real-dev evaluation set (``bench/eval/realdev/``) stays well-formed, in step with its sources, and fair.

The set is real public government text (see its README): one practice per published question-and-answer page and
one query per page, the page's question as published. ``bench/eval/realdev/build.py`` makes the three files from
the copies in ``raw/``. These tests read the files with the standard library (no engine) and check the format
``bench/_data.load_queries`` reads, the size and spread the README promises, that every graded title exists, that
no query text occurs in any practice (a query must not find its page by being copied into it), that the files are
what the build script makes from ``raw/`` (no hand edits), and that the product's import code takes the register.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.matching import loader
from bot.register import service
from bot.register.themes import ensure_default_themes
from storage.db import Database

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "bench" / "eval" / "realdev"
FIELDS = {"id", "query", "kind", "lang", "experts", "practices", "gap"}
MIN_PAGES = 120
MIN_PER_SUBJECT = 50  # the two websites; many pages per subject are the hard distractors
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _csv(name: str) -> list[dict[str, str]]:
    with (DIRECTORY / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    lines = (DIRECTORY / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def practices() -> list[dict[str, str]]:
    return _csv("practices.csv")


def _build_module() -> ModuleType:
    return load_script(DIRECTORY / "build.py", "realdev_build")


def test_every_line_has_the_loader_format(queries: list[dict[str, Any]]) -> None:
    for q in queries:
        assert set(q) == FIELDS, q["id"]
        assert re.fullmatch(r"v\d{3}", q["id"]), q["id"]
        assert (q["kind"], q["lang"], q["experts"], q["gap"]) == ("question", "nl", {}, False), q["id"]
        assert q["query"].strip() == q["query"] and q["query"], q["id"]
        assert set(q["practices"].values()) <= {2, 3}, q["id"]
        assert list(q["practices"].values()).count(3) == 1, f"{q['id']}: exactly one page is the answer"


def test_ids_and_queries_are_unique(queries: list[dict[str, Any]]) -> None:
    ids = [q["id"] for q in queries]
    assert ids == [f"v{i:03d}" for i in range(1, len(ids) + 1)]
    assert not [t for t, n in Counter(_norm(q["query"]) for q in queries).items() if n > 1]


def test_the_set_has_the_promised_size_and_spread(
    queries: list[dict[str, Any]], practices: list[dict[str, str]]
) -> None:
    assert len(queries) == len(practices) >= MIN_PAGES, "one query per page"
    subjects = Counter(p["tags"] for p in practices)
    assert sum(n >= MIN_PER_SUBJECT for n in subjects.values()) >= 2, subjects
    assert all(p["summary"] and len(p["summary"]) <= 2500 for p in practices)
    assert all(len(p["title"]) <= 140 for p in practices), "a title is one sentence of at most 120 characters"
    assert {p["city"] for p in practices} == {""}
    assert {p["organisation"] for p in practices} == {"Ministerie van Volksgezondheid, Welzijn en Sport"}


def test_every_graded_title_exists_and_each_page_is_graded_once(
    queries: list[dict[str, Any]], practices: list[dict[str, str]]
) -> None:
    keys = [f"{p['title']}|{p['city']}" for p in practices]
    assert len(set(keys)) == len(keys), "(title, city) is the practices' key"
    assert {k for q in queries for k in q["practices"]} <= set(keys)
    answers = [k for q in queries for k, g in q["practices"].items() if g == 3]
    assert sorted(answers) == sorted(keys), "every page answers exactly one query"


def test_no_query_text_occurs_in_any_practice(queries: list[dict[str, Any]], practices: list[dict[str, str]]) -> None:
    texts = [_norm(f"{p['title']}\n{p['summary']}") for p in practices]
    copied = [(q["id"], i) for q in queries for i, text in enumerate(texts) if _norm(q["query"]) in text]
    assert not copied


def test_the_files_are_what_the_build_script_makes_from_raw(
    queries: list[dict[str, Any]], practices: list[dict[str, str]]
) -> None:
    build = _build_module()
    pages = build.build(build.load_pages())
    assert [(p.title, p.summary, p.url, p.subject) for p in pages] == [
        (r["title"], r["summary"], r["url"], r["tags"]) for r in practices
    ]
    assert [p.question for p in pages] == [q["query"] for q in queries]


def test_the_register_imports_with_the_products_import_code(
    tmp_path: Path, queries: list[dict[str, Any]], practices: list[dict[str, str]]
) -> None:
    db = Database(f"sqlite:///{tmp_path}/realdev.db")
    try:
        with db.session() as session:
            ensure_default_themes(session, now=NOW)
            experts = service.import_experts(
                session, path=DIRECTORY / "experts.csv", actor="test", now=NOW, consent_on_paper=True
            )
            imported = service.import_practices(session, path=DIRECTORY / "practices.csv", actor="test", now=NOW)
        assert (experts.added, experts.warnings) == (1, [])
        assert (imported.added, imported.warnings) == (len(practices), [])
        with db.session() as session:
            keys = {f"{p.title}|{p.city}" for p in loader.iter_practices(session)}
    finally:
        db.dispose()
    assert {k for q in queries for k in q["practices"]} <= keys


def _eval_matching() -> ModuleType:
    return load_script(ROOT / "bench" / "eval_matching.py", "eval_matching_for_test")


@pytest.mark.parametrize(
    "name", ["blind", "realtext", "heldout", "dev4heldout", "dev5heldout", "dev6heldout", "dev7heldout"]
)
def test_the_unseen_and_held_out_sets_are_never_listed_query_by_query(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _eval_matching()

    def no_loading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a refused set must be refused before any set is loaded")

    monkeypatch.setattr(module, "load_sets", no_loading)
    with pytest.raises(SystemExit) as refused:
        module.main(["--failures", name])
    assert refused.value.code == 2
    assert "never shown query by query" in capsys.readouterr().err


def test_listing_failures_loads_the_tuning_sets_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--failures` is tuning: it must not load (and so print aggregates of) held-out, blind or real-text columns."""
    module = _eval_matching()
    seen: list[bool] = []

    class Loaded(Exception):
        pass

    def record(*_args: object, only_dev: bool = False, **_kwargs: object) -> None:
        seen.append(only_dev)
        raise Loaded

    monkeypatch.setattr(module, "load_sets", record)
    with pytest.raises(Loaded):
        module.main(["--failures", "dev"])
    with pytest.raises(Loaded):
        module.main([])
    assert seen == [True, False]


@pytest.mark.parametrize("name", ["dev3", "dev4", "dev5", "dev6", "dev7", "realdev"])
def test_listing_the_failures_of_a_missing_tuning_set_is_a_clean_error(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _eval_matching()
    missing = tmp_path / "nowhere"
    monkeypatch.setattr(module, "DEV3_QUERIES", missing / "dev3" / "queries.jsonl")
    own = tuple((name, missing / name) for name in ("dev4", "dev5", "dev6", "dev7"))
    monkeypatch.setattr(module, "OWN_REGISTER_SETS", own)
    monkeypatch.setattr(module, "REALDEV_DIR", missing / "realdev")

    def no_loading(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a missing set must be refused before any set is loaded")

    monkeypatch.setattr(module, "load_sets", no_loading)
    with pytest.raises(SystemExit) as refused:
        module.main(["--failures", name])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert f"--failures {name}" in err
    assert f"set at {missing / name} (no queries.jsonl there)" in err  # the folder the set is read from


def test_the_evaluation_reads_it_as_a_tuning_set() -> None:
    module = _eval_matching()
    assert "realdev" in module.TUNING_SETS, "--sets dev evaluates it"
    assert "realdev" not in module.UNSEEN_SETS | module.HELDOUT_SETS, "--failures realdev is allowed"
    loaded = module.realdev_queries()
    assert len(loaded) >= MIN_PAGES
    assert {q.split for q in loaded} == {"realdev"}, "every query counts: no held-out split"
    assert all(q.id.startswith("realdev/v") and q.practices and not q.gap for q in loaded)
