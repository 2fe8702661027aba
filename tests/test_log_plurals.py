"""Log lines are English, and say "1 question" and "3 questions", never "question(s)": a log call's text (its
format string, an f-string, or a string named by it — a module constant, a variable the module assigns) has no
``(s)`` glued to a word. Logs stay English, without the catalogue: ``bot.text.counted`` says a count."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.text import counted

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("bot", "digests", "handlers", "storage", "scripts")
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})
GLUED = "(s)"


def _is_log_call(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in LOG_METHODS:
        return False
    receiver = func.value
    name = (
        receiver.attr if isinstance(receiver, ast.Attribute) else receiver.id if isinstance(receiver, ast.Name) else ""
    )
    return "log" in name.lower()  # log, logger, request_log, self._log, logging


def _texts(node: ast.AST, assigned: dict[str, list[ast.AST]], *, follow: bool = True) -> list[str]:
    """The string pieces of a log call's argument: a string, an f-string's text, a concatenation, a choice of two,
    and (``follow``, one step) what the module assigns to a name it gives."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.JoinedStr):
        return [text for value in node.values for text in _texts(value, assigned, follow=False)]
    if isinstance(node, ast.BinOp):
        return [*_texts(node.left, assigned, follow=follow), *_texts(node.right, assigned, follow=follow)]
    if isinstance(node, ast.IfExp):
        return [*_texts(node.body, assigned, follow=follow), *_texts(node.orelse, assigned, follow=follow)]
    if isinstance(node, ast.Name) and follow:
        return [text for value in assigned.get(node.id, []) for text in _texts(value, assigned, follow=False)]
    return []


def glued_plurals(root: Path = ROOT, folders: tuple[str, ...] = CHECKED) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assigned: dict[str, list[ast.AST]] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    assigned.setdefault(node.target.id, []).append(node.value)
            for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_log_call(n)):
                for argument in [*call.args, *(k.value for k in call.keywords)]:
                    if any(GLUED in text for text in _texts(argument, assigned)):
                        found.append(f"{path.relative_to(root).as_posix()}:{call.lineno}: {ast.unparse(argument)}")
    return found


def test_no_log_line_glues_a_plural() -> None:
    assert glued_plurals() == []


def test_the_check_finds_a_glued_plural(tmp_path: Path) -> None:
    """It can fail: in the format string, in an f-string, through a constant or a variable; a count said is fine."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "import logging\n"
        "log = logging.getLogger(__name__)\n"
        'HINT = "%d request(s) refused"\n'
        "def f(n, count):\n"
        '    log.warning("%d question(s) left out", n)\n'
        '    log.info(f"{n} channel(s)")\n'
        "    log.error(HINT, n)\n"
        '    last = f"{n} minute(s) ago"\n'
        '    log.warning("last: %s", last)\n'
        '    log.warning("%s left out", count(n, "question"))\n',
        encoding="utf-8",
    )
    assert [line.split(":")[1] for line in glued_plurals(tmp_path, ("pkg",))] == ["5", "6", "7", "9"]


def test_a_count_is_said_singular_or_plural() -> None:
    assert [counted(n, "channel") for n in (0, 1, 2)] == ["0 channels", "1 channel", "2 channels"]
    assert counted(3, "person", "people") == "3 people" and counted(1, "person", "people") == "1 person"
