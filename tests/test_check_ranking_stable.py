"""``bench/check_ranking_stable.py`` dumps every ranking of the demo register's question set to a file (compared
byte for byte between two versions of the code): the development questions only, never the held-out ones."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

import bot.matching.engine as engine

from .scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = list(sys.path)
    try:
        return load_script(ROOT / "bench" / "check_ranking_stable.py", "check_ranking_stable_for_test")
    finally:  # the script puts bench/ first on the path, where a script named like a package would shadow it
        sys.path[:] = path


def test_only_development_questions_are_dumped(
    bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = sys.modules["_data"].EvalQuery  # (bench/_data.py, as the script imported it)
    questions = [
        query("q001", "wie weet iets over wonen", "question", "nl", {}, {}, False, "dev"),
        query("q004", "wie weet iets over afval", "question", "nl", {}, {}, False, "heldout"),
        query("q005", "wie kent het klimaatplan", "question", "nl", {}, {}, False, "dev"),
    ]
    dumped: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(bench, "load_queries", lambda: questions)
    monkeypatch.setattr(bench, "dump", lambda _m, queries, _out, label, **_kw: dumped.append((label, list(queries))))
    monkeypatch.setattr(engine, "round", round, raising=False)  # the script unrounds the engine's scores: undone
    for name, value in (("PYTHONHASHSEED", "0"), ("OPENBLAS_NUM_THREADS", "1")):  # else it re-executes itself
        monkeypatch.setenv(name, value)
    bench.main(["--out", str(tmp_path / "rankings.txt"), "--generated", "0"])
    assert dumped == [("eval", ["wie weet iets over wonen", "wie kent het klimaatplan"])]
