"""The repository rule, checked on the source: every public function of a storage query module (``storage/*.py``
except the engine/session set-up in ``db.py`` and ``write_lock.py``, the URL handling in ``db_url.py`` and the schema
in ``base.py``, ``models.py``) is named for what it does —
``get_``, ``list_``, ``count_``, ``create_``, ``update_``, ``delete_``, ``claim_`` or ``upsert_`` (an atomic
insert-or-update) — and takes the session as its only positional argument, everything else by keyword (or no
argument at all: a function that reads the mapped schema); no two modules define the same name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parents[1] / "storage"
# addresses.py: a text rule; db_url.py: reading and masking database URLs (split off db.py); write_lock.py: the engine
# hook taking SQLite's write lock before a read "for update" (set up with the engine in db.py)
NOT_REPOSITORIES = {"__init__.py", "base.py", "db.py", "db_url.py", "models.py", "addresses.py", "write_lock.py"}
VERBS = ("get_", "list_", "count_", "create_", "update_", "delete_", "claim_", "upsert_")
MODULES = sorted(p for p in STORAGE.glob("*.py") if p.name not in NOT_REPOSITORIES)


def public_functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def test_there_are_repository_modules_to_check() -> None:
    assert len(MODULES) >= 8 and sum(len(public_functions(p)) for p in MODULES) > 80


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_repository_functions_follow_the_naming_rule(path: Path) -> None:
    wrong = [f.name for f in public_functions(path) if not f.name.startswith(VERBS)]
    assert wrong == [], f"{path.name}: name these get_/list_/count_/create_/update_/delete_/claim_/upsert_"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_repository_functions_take_the_session_then_keywords_only(path: Path) -> None:
    wrong = []
    for function in public_functions(path):
        args = function.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        reads_schema = not positional  # reads the mapped schema, not the database (options keyword-only, if any)
        if (positional != ["session"] and not reads_schema) or args.vararg is not None:
            wrong.append(f"{function.name}({', '.join(positional)})")
    assert wrong == [], f"{path.name}: only the session is positional"


def test_no_two_repository_modules_define_the_same_function() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for path in MODULES:
        for function in public_functions(path):
            if function.name in seen:
                duplicates.append(f"{function.name}: {seen[function.name]} and {path.name}")
            seen[function.name] = path.name
    assert duplicates == []
