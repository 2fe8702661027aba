"""The dev5 evaluation set (``bench/eval/dev5/``) stays well-formed and in step with its own register.

dev5 is a register of its own (experts.csv, practices.csv, answers.csv) with queries graded by hand over it. If an
expert's e-mail or a practice's title or city changes there, the grades would silently stop counting. The first
tests read the files with the standard library only (no engine) and check the format ``bench/_data.load_queries``
reads, that every graded id exists in dev5's register, the minimum size per kind that the set's README promises,
and that no query is asked twice. The last one imports the register with the product's import code into a
throwaway SQLite database, as the evaluation does, so a file the import would refuse is caught here.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.demo import load_answer_file
from bot.matching import loader
from bot.register import service
from bot.register.themes import ensure_default_themes
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
DEV5 = ROOT / "bench" / "eval" / "dev5"
QUERIES = DEV5 / "queries.jsonl"

KINDS = {
    "gap",
    "paraphrase",
    "french",
    "english",
    "question",
    "keyword",
    "typo",
    "compound",
    "abbreviation",
    "city",
    "context",
}
LANGS = {"nl", "fr", "en"}
FIELDS = {"id", "query", "kind", "lang", "experts", "practices", "gap"}
MINIMUM = {"gap": 55, "paraphrase": 30, "french": 20, "english": 20}
KIND_LANG = {"french": "fr", "english": "en"}
REGISTER_MINIMUM = {"experts.csv": 75, "practices.csv": 60, "answers.csv": 20}
CENTRE_CITIES = {
    "Aalst",
    "Antwerpen",
    "Brugge",
    "Genk",
    "Gent",
    "Hasselt",
    "Kortrijk",
    "Leuven",
    "Mechelen",
    "Oostende",
    "Roeselare",
    "Sint-Niklaas",
    "Turnhout",
}
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _csv(name: str) -> list[dict[str, str]]:
    with (DEV5 / name).open(encoding="utf-8", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(QUERIES.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"line {number}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"line {number}: not an object"
        rows.append(row)
    return rows


def test_every_line_has_the_loader_format(queries: list[dict[str, Any]]) -> None:
    for row in queries:
        where = row.get("id", row)
        assert set(row) == FIELDS, f"{where}: fields {sorted(row)}"
        assert re.fullmatch(r"v\d{3}", row["id"]), where
        assert isinstance(row["query"], str) and row["query"].strip() == row["query"] and row["query"], where
        assert row["kind"] in KINDS, where
        assert row["lang"] in LANGS, where
        assert row["lang"] == KIND_LANG.get(row["kind"], row["lang"]), where
        assert isinstance(row["gap"], bool), where
        for field in ("experts", "practices"):
            assert isinstance(row[field], dict), where
            assert all(isinstance(k, str) and v in (1, 2) for k, v in row[field].items()), where
        graded = {**row["experts"], **row["practices"]}
        if row["gap"]:
            assert row["kind"] == "gap" and not graded, f"{where}: a gap query has no relevant item"
        else:
            assert row["kind"] != "gap", where
            assert 2 in graded.values(), f"{where}: a non-gap query needs at least one clearly right item"


def test_every_graded_id_exists_in_the_dev5_register(queries: list[dict[str, Any]]) -> None:
    emails = {r["email"].lower() for r in _csv("experts.csv")}
    practice_keys = {f"{r['title']}|{r['city']}" for r in _csv("practices.csv")}
    missing = [(q["id"], e) for q in queries for e in q["experts"] if e not in emails]
    missing += [(q["id"], p) for q in queries for p in q["practices"] if p not in practice_keys]
    assert not missing


def test_ids_and_queries_are_unique(queries: list[dict[str, Any]]) -> None:
    ids = Counter(q["id"] for q in queries)
    assert [i for i, n in ids.items() if n > 1] == []
    texts = Counter(" ".join(q["query"].casefold().split()) for q in queries)
    assert [t for t, n in texts.items() if n > 1] == []


def test_the_set_has_the_promised_size_per_kind(queries: list[dict[str, Any]]) -> None:
    kinds = Counter(q["kind"] for q in queries)
    assert len(queries) >= 200
    for kind, least in MINIMUM.items():
        assert kinds[kind] >= least, (kind, kinds[kind])
    assert set(kinds) == KINDS, "every kind is represented"
    assert all(kinds[kind] >= 8 for kind in KINDS), kinds


def test_the_register_has_the_promised_size_and_spread() -> None:
    for name, least in REGISTER_MINIMUM.items():
        assert len(_csv(name)) >= least, name
    experts = _csv("experts.csv")
    assert len({e["email"].lower() for e in experts}) == len(experts), "e-mail is the experts' key"
    slack_ids = [e["slack_user_id"] for e in experts if e["slack_user_id"]]
    assert len(set(slack_ids)) == len(slack_ids) and all(re.fullmatch(r"U5E\d{4}", s) for s in slack_ids)
    assert {e["city"] for e in experts} >= CENTRE_CITIES, "all 13 centre cities have experts"
    practices = _csv("practices.csv")
    assert len({(p["title"], p["city"]) for p in practices}) == len(practices), "(title, city) is the practices' key"
    assert {"good", "mixed", "failed"} <= {p["outcome"] for p in practices}
    emails = {e["email"].lower() for e in experts}
    assert all(p["contact_email"].lower() in emails for p in practices), "every practice has a contact of this register"


def test_the_register_imports_with_the_products_import_code(tmp_path: Path, queries: list[dict[str, Any]]) -> None:
    db = Database(f"sqlite:///{tmp_path}/dev5.db")
    try:
        with db.session() as session:
            ensure_default_themes(session, now=NOW)
            experts = service.import_experts(
                session, path=DEV5 / "experts.csv", actor="test", now=NOW, consent_on_paper=True
            )
            practices = service.import_practices(session, path=DEV5 / "practices.csv", actor="test", now=NOW)
            answers = load_answer_file(session, path=DEV5 / "answers.csv", now=NOW)
        assert (experts.added, experts.warnings) == (len(_csv("experts.csv")), [])
        assert (practices.added, practices.warnings) == (len(_csv("practices.csv")), [])
        assert answers == len(_csv("answers.csv"))
        with db.session() as session:
            searchable = {e.email for e in loader.iter_experts(session)}
            keys = {f"{p.title}|{p.city}" for p in loader.iter_practices(session)}
            linked = [a for a in loader.iter_answers(session) if a.expert_id is not None]
    finally:
        db.dispose()
    # every graded expert is searchable and every graded practice is found under its key after the import
    assert {e for q in queries for e in q["experts"]} <= searchable
    assert {p for q in queries for p in q["practices"]} <= keys
    assert len(linked) == answers, "every earlier answer is linked to its expert"
