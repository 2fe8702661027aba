"""Every count the command line shows a person groups its thousands as the operator's language does ("8.000",
"8,000"): each goes through ``bot.i18n.format_number`` before ``t()``/``tn()`` put it in a sentence. A raw number
(``count=len(rows)``) reads "8000" in one line and "8.000" in the next. Ids (``question=12``) are no counts and stay
as stored; ``--json`` and files are no sentences and keep plain numbers."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("bot/cli", "bot/register")  # what the command line says to its operator
COUNT_ARGS = frozenset({"count", "n", "added", "changed", "unchanged", "total", "done", "posted", "minutes"})
RAW_NUMBERS = (ast.BinOp, ast.UnaryOp)  # arithmetic on numbers: ``seconds // 60``


def _named(func: ast.expr, *names: str) -> bool:
    return isinstance(func, ast.Name) and func.id in names


def _formatted(value: ast.expr) -> bool:
    return isinstance(value, ast.Call) and _named(value.func, "format_number")


def _assigned(function: ast.AST) -> dict[str, list[ast.expr]]:
    """What each local name is bound to in ``function`` (pairs unpacked: ``n, count = len(x), format_number(…)``)."""
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                bound.setdefault(target.id, []).append(node.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for name, value in zip(target.elts, node.value.elts, strict=False):
                    if isinstance(name, ast.Name):
                        bound.setdefault(name.id, []).append(value)
    return bound


def _raw_count(name: str | None, value: ast.expr, bound: dict[str, list[ast.expr]]) -> bool:
    if isinstance(value, ast.Call) and _named(value.func, "len"):
        return True
    if (isinstance(value, ast.Constant) and isinstance(value.value, int)) or isinstance(value, RAW_NUMBERS):
        return True
    if name not in COUNT_ARGS or _formatted(value):
        return False
    if isinstance(value, ast.Name) and bound.get(value.id):
        return not all(_formatted(v) for v in bound[value.id])
    return True


def _splatted(value: ast.expr, bound: dict[str, list[ast.expr]]) -> dict[str, ast.expr] | None:
    """The keys and values of ``**name`` when ``name`` is a dict literal of the function, else None (unchecked)."""
    if not (isinstance(value, ast.Name) and len(bound.get(value.id, [])) == 1):
        return None
    (literal,) = bound[value.id]
    if not isinstance(literal, ast.Dict):
        return None
    keys = [k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None for k in literal.keys]
    if None in keys:
        return None
    return {str(k): v for k, v in zip(keys, literal.values, strict=True)}


def unformatted_counts(root: Path = ROOT) -> list[str]:
    """Each ``t()``/``tn()`` argument in ``CHECKED`` that puts a number in a sentence without ``format_number``."""
    found = []
    for folder in CHECKED:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            for function in functions:
                bound = _assigned(function)
                for call in ast.walk(function):
                    if not (
                        isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in ("t", "tn")
                    ):
                        continue
                    for keyword in call.keywords:
                        where = f"{path.relative_to(root)}:{call.lineno}"
                        if keyword.arg is not None:
                            if _raw_count(keyword.arg, keyword.value, bound):
                                found.append(f"{where}: {keyword.arg}={ast.unparse(keyword.value)}")
                            continue
                        values = _splatted(keyword.value, bound)  # ``**shown``, a dict built in the function
                        if values is None:
                            found.append(f"{where}: **{ast.unparse(keyword.value)}")
                        for name, value in (values or {}).items():
                            if _raw_count(name, value, bound):
                                found.append(f"{where}: **{{{name!r}: {ast.unparse(value)}}}")
    return sorted(set(found))


def test_every_count_the_command_line_shows_is_grouped_as_the_language_does() -> None:
    assert unformatted_counts() == []


def test_the_check_finds_a_raw_count(tmp_path: Path) -> None:
    """The check can fail: each way of passing a raw number is found, a formatted count and an id are not."""
    module = tmp_path / "bot" / "cli" / "example.py"
    module.parent.mkdir(parents=True)
    (tmp_path / "bot" / "register").mkdir()
    module.write_text(
        "def f(rows, result, lang, question_id, counts):\n"
        "    n, shown = len(rows), format_number(len(rows), lang)\n"
        "    tn('a', 'a_plural', n, lang, count=n)\n"
        "    tn('a', 'a_plural', n, lang, count=shown)\n"
        "    t('b', lang, count=len(rows), question=question_id)\n"
        "    t('c', lang, added=result.added, changed=format_number(result.changed, lang))\n"
        "    t('d', lang, minutes=300 // 60, **counts)\n"
        "    words = {'count': format_number(n, lang), 'total': n}\n"
        "    t('e', lang, **words)\n",
        encoding="utf-8",
    )
    assert unformatted_counts(tmp_path) == [
        "bot/cli/example.py:3: count=n",
        "bot/cli/example.py:5: count=len(rows)",
        "bot/cli/example.py:6: added=result.added",
        "bot/cli/example.py:7: **counts",
        "bot/cli/example.py:7: minutes=300 // 60",
        "bot/cli/example.py:9: **{'total': n}",
    ]
