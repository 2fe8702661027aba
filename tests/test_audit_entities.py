"""The audit log's known entity types (``storage.enums.AUDIT_ENTITIES``, offered by ``wieweet audit --entity``) are a
fixed list: every ``entity_type=`` the code passes anywhere (writes through ``create_audit_log`` and the helpers
around it, and reads) must be in it, so that a new kind of audit entry cannot be left out of the list unnoticed."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from storage.enums import AUDIT_ENTITIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "digests", "handlers", "storage")


def _parameters(tree: ast.AST) -> dict[ast.AST, set[str]]:
    """For every node inside a function: the names of that function's parameters (and of those around it)."""
    scope: dict[ast.AST, set[str]] = {}

    def visit(node: ast.AST, names: set[str]) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            names = names | {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        for child in ast.iter_child_nodes(node):
            scope[child] = names
            visit(child, names)

    visit(tree, set())
    return scope


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def entity_types_used() -> tuple[dict[str, list[str]], list[str]]:
    """Every entity type given as ``entity_type=`` in the code: {type: [where]}, and the places whose value could not
    be read (neither a string, nor a module constant, nor a parameter passed through by a helper)."""
    found: dict[str, list[str]] = {}
    unreadable: list[str] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            scope = _parameters(tree)
            module = None
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg != "entity_type":
                        continue
                    value, where = keyword.value, f"{path.relative_to(ROOT)}:{keyword.value.lineno}"
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.setdefault(value.value, []).append(where)
                    elif isinstance(value, ast.Name) and value.id in scope.get(node, set()):
                        continue  # a helper passing its caller's type on: the caller is read
                    elif isinstance(value, ast.Name):
                        module = module or importlib.import_module(_module_name(path))
                        constant = getattr(module, value.id, None)
                        if isinstance(constant, str):
                            found.setdefault(constant, []).append(where)
                        else:
                            unreadable.append(where)
                    else:
                        unreadable.append(where)
    return found, unreadable


def test_every_entity_type_the_code_uses_is_a_known_audit_kind() -> None:
    found, unreadable = entity_types_used()
    assert not unreadable, f"entity types the check cannot read (use a string or a constant): {unreadable}"
    missing = {kind: where for kind, where in found.items() if kind not in AUDIT_ENTITIES}
    assert not missing, f"add these to storage.enums.AUDIT_ENTITIES: {missing}"
    assert {"refused_pick", "theme", "person"} <= set(found)  # the scan sees constants and strings alike


def test_every_known_audit_kind_is_still_written_somewhere() -> None:
    """The list holds no kind the code no longer uses (it is offered to people looking for entries)."""
    found, _ = entity_types_used()
    assert set(AUDIT_ENTITIES) <= set(found)
