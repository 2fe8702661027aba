"""The evaluation sets with a register of their own (``bench/eval/dev4/``, ``bench/eval/dev5/``,
``bench/eval/dev6/``, ``bench/eval/dev7/``) stay well-formed and in step with their registers.

Each is a register (experts.csv, practices.csv, answers.csv) with queries graded by hand over it. If an expert's
e-mail or a practice's title or city changes there, the grades would silently stop counting. The first tests read
the files with the standard library only (no engine) and check the format ``bench/_data.load_queries`` reads, that
every graded id exists in the set's register, the minimum size per kind that the set's README promises, and that
no query is asked twice. One imports the register with the product's import code into a throwaway SQLite
database, as the evaluation does, so a file the import would refuse is caught here. The last ones check that the
evaluation (``bench/eval_matching.py``) and the gap model's fit (``bench/fit_gap_model.py``) read every wired set
(all four now) as a tuning register: a dev and a held-out column, ``--sets dev`` and
``--failures`` on its dev part, never its held-out part, and one register of the fit's leave-one-register-out; the
learned-fusion experiment (``bench/fit_expert_fusion.py``) reads dev queries only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.demo import load_answer_file
from bot.matching import loader
from bot.register import service
from bot.register.themes import ensure_default_themes
from storage.db import Database

from .scripts import load_script
from .setfiles import assert_asked_once, assert_graded_ids_exist, read_csv, read_jsonl

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EvalSet:
    """One set and what its README promises."""

    name: str
    id_prefix: str  # query ids: prefix + three digits
    slack_prefix: str  # fictitious Slack ids: prefix + four digits
    queries: int  # at least this many queries
    each_kind: int  # at least this many of every kind
    register: tuple[tuple[str, int], ...]  # at least this many rows per register file

    @property
    def directory(self) -> Path:
        return ROOT / "bench" / "eval" / self.name


SETS = (
    EvalSet("dev4", "w", "U4D", 170, 1, (("experts.csv", 70), ("practices.csv", 55), ("answers.csv", 20))),
    EvalSet("dev5", "v", "U5E", 200, 8, (("experts.csv", 75), ("practices.csv", 60), ("answers.csv", 20))),
    EvalSet("dev6", "x", "U6F", 200, 10, (("experts.csv", 75), ("practices.csv", 60), ("answers.csv", 20))),
    EvalSet("dev7", "y", "U7G", 200, 10, (("experts.csv", 75), ("practices.csv", 60), ("answers.csv", 20))),
)
# registers written but not wired into the evaluation yet: checked as files and as an import, not as evaluated sets
WRITTEN_ONLY: tuple[EvalSet, ...] = ()
REGISTERS = SETS + WRITTEN_ONLY

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


@pytest.fixture(scope="module", params=REGISTERS, ids=[s.name for s in REGISTERS])
def eval_set(request: pytest.FixtureRequest) -> EvalSet:
    spec: EvalSet = request.param
    return spec


def _csv(spec: EvalSet, name: str) -> list[dict[str, str]]:
    return read_csv(spec.directory / name)


@pytest.fixture(scope="module")
def queries(eval_set: EvalSet) -> list[dict[str, Any]]:
    return read_jsonl(eval_set.directory / "queries.jsonl")


def assert_loader_format(row: dict[str, Any], *, id_pattern: str, kinds: set[str]) -> None:
    """One query line in the format ``bench/_data.load_queries`` reads (shared with the dev3 set's test)."""
    where = row.get("id", row)
    assert set(row) == FIELDS, f"{where}: fields {sorted(row)}"
    assert re.fullmatch(id_pattern, row["id"]), where
    assert isinstance(row["query"], str) and row["query"].strip() == row["query"] and row["query"], where
    assert row["kind"] in kinds, where
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


def test_every_line_has_the_loader_format(eval_set: EvalSet, queries: list[dict[str, Any]]) -> None:
    for row in queries:
        assert_loader_format(row, id_pattern=rf"{eval_set.id_prefix}\d{{3}}", kinds=KINDS)


def test_every_graded_id_exists_in_the_sets_register(eval_set: EvalSet, queries: list[dict[str, Any]]) -> None:
    assert_graded_ids_exist(queries, eval_set.directory)


def test_ids_and_queries_are_unique(queries: list[dict[str, Any]]) -> None:
    assert_asked_once(queries)


def test_the_set_has_the_promised_size_per_kind(eval_set: EvalSet, queries: list[dict[str, Any]]) -> None:
    kinds = Counter(q["kind"] for q in queries)
    assert len(queries) >= eval_set.queries
    for kind, least in MINIMUM.items():
        assert kinds[kind] >= least, (kind, kinds[kind])
    assert set(kinds) == KINDS, "every kind is represented"
    assert all(kinds[kind] >= eval_set.each_kind for kind in KINDS), kinds


def test_the_register_has_the_promised_size_and_spread(eval_set: EvalSet) -> None:
    for name, least in eval_set.register:
        assert len(_csv(eval_set, name)) >= least, name
    experts = _csv(eval_set, "experts.csv")
    assert len({e["email"].lower() for e in experts}) == len(experts), "e-mail is the experts' key"
    slack_ids = [e["slack_user_id"] for e in experts if e["slack_user_id"]]
    assert len(set(slack_ids)) == len(slack_ids) and all(
        re.fullmatch(rf"{eval_set.slack_prefix}\d{{4}}", s) for s in slack_ids
    )
    assert {e["city"] for e in experts} >= CENTRE_CITIES, "all 13 centre cities have experts"
    practices = _csv(eval_set, "practices.csv")
    assert len({(p["title"], p["city"]) for p in practices}) == len(practices), "(title, city) is the practices' key"
    assert {"good", "mixed", "failed"} <= {p["outcome"] for p in practices}
    emails = {e["email"].lower() for e in experts}
    assert all(p["contact_email"].lower() in emails for p in practices), "every practice has a contact of this register"


def test_the_register_imports_with_the_products_import_code(
    eval_set: EvalSet, tmp_path: Path, queries: list[dict[str, Any]]
) -> None:
    directory = eval_set.directory
    db = Database(f"sqlite:///{tmp_path}/{eval_set.name}.db")
    try:
        with db.session() as session:
            ensure_default_themes(session, now=NOW)
            experts = service.import_experts(
                session, path=directory / "experts.csv", actor="test", now=NOW, consent_on_paper=True
            )
            practices = service.import_practices(session, path=directory / "practices.csv", actor="test", now=NOW)
            answers = load_answer_file(session, path=directory / "answers.csv", now=NOW)
        assert (experts.added, experts.warnings) == (len(_csv(eval_set, "experts.csv")), [])
        assert (practices.added, practices.warnings) == (len(_csv(eval_set, "practices.csv")), [])
        assert answers == len(_csv(eval_set, "answers.csv"))
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


def _eval_matching() -> ModuleType:
    return load_script(ROOT / "bench" / "eval_matching.py", "eval_matching_for_registers")


@pytest.mark.parametrize("wired", SETS, ids=[s.name for s in SETS])
def test_the_evaluation_reads_it_as_a_tuning_register_with_a_held_out_split(wired: EvalSet) -> None:
    module = _eval_matching()
    name = wired.name
    assert dict(module.OWN_REGISTER_SETS)[name] == wired.directory, "loaded over its own register"
    assert name in module.TUNING_SETS, "--sets dev evaluates its dev part"
    assert name not in module.UNSEEN_SETS | module.HELDOUT_SETS, f"--failures {name} lists its dev failures"
    assert f"{name}heldout" in module.HELDOUT_SETS, "its held-out part is reported, never listed"
    assert {module.SET_LABELS[name], module.SET_LABELS[f"{name}heldout"]} == {name, f"{name} held-out"}
    assert module.tuning_set_queries_file(name) == wired.directory / "queries.jsonl"
    loaded = module.own_register_queries(name, wired.directory)
    assert all(q.id.startswith(f"{name}/{wired.id_prefix}") for q in loaded)
    held_out = [q.id for q in loaded if q.split == "heldout"]
    assert held_out, "every 4th query is held out"
    assert all(int(i[-3:]) % 4 == 0 for i in held_out)
    assert {q.split for q in loaded} == {"dev", "heldout"}


def test_the_gap_fit_validates_over_every_register(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _eval_matching()
    read: list[Path | None] = []

    def no_import(directory: Path | None = None) -> str:  # the registers themselves are not needed here
        read.append(directory)
        return f"register {directory}"

    monkeypatch.setattr(module, "load_register_db", no_import)
    registers = module.tuning_registers()
    assert [name for name, _, _ in registers] == ["demo", *(s.name for s in SETS)]
    assert read == [None, *(s.directory for s in SETS)]
    for (name, _, dev), spec in zip(registers[1:], SETS, strict=True):
        assert dev and {q.split for q in dev} == {"dev"}, f"{name}: dev queries only (held-out never read)"
        assert all(q.id.startswith(f"{spec.name}/") for q in dev)


def test_the_fusion_experiment_reads_dev_queries_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``bench/fit_expert_fusion.py`` (round 14, tried) reads the signals of the dev queries with graded experts of
    every tuning register, never a held-out query nor a gap."""
    module = load_script(ROOT / "bench" / "fit_expert_fusion.py", "fit_expert_fusion_for_registers")
    query = sys.modules["_data"].EvalQuery  # bench/_data.py, on the path the script put bench/ on
    dev = query("dev4/w001", "wie kent de huurwaarborg?", "question", "nl", {"a@x.be": 2}, {}, False, "dev")
    held = query("dev4/w004", "wie kent het taxidecreet?", "question", "nl", {"b@x.be": 2}, {}, False, "heldout")
    gap = query("dev4/w005", "wie kent nachtburgemeesters?", "gap", "nl", {}, {}, True, "dev")
    asked: list[str] = []
    monkeypatch.setattr(module, "tuning_registers", lambda: [("dev4", "register", [dev, held, gap])])
    monkeypatch.setattr(module, "wieweet_matcher", lambda reg: reg)
    monkeypatch.setattr(module, "extract", lambda m, query: asked.append(query) or [])
    monkeypatch.setattr(module, "CACHE", tmp_path / "fusion.json")
    data = module.read_signals()
    assert asked == [dev.query]
    assert [it["id"] for it in data["dev4"]] == [dev.id]
    assert json.loads((tmp_path / "fusion.json").read_text()) == data
