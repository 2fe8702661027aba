"""A Babel extraction method that reads Python with ``ast``, named ``python_ast`` in ``babel.cfg``.

Babel's own Python extractor works on tokens: on Python 3.11 an f-string is one token, so a ``t("key", lang)``
inside ``f"*{t('answer.experts', lang)}*"`` is invisible to it, and ``t("a" if x else "b", lang)`` comes out as one
glued id ``"ab"``. This one walks the syntax tree instead: every call of a keyword function, wherever it is (f-strings
included), gives its string-literal arguments; a conditional first argument gives one message per branch. Arguments
that are not literals (a variable holding a key from an ``N_`` table) give ``None``, which Babel skips.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _branches(node: ast.expr) -> list[str | None]:
    """The string literals a (possibly conditional) first argument can be: ``"a" if x else "b"`` -> a, b."""
    if isinstance(node, ast.IfExp):
        return _branches(node.body) + _branches(node.orelse)
    return [_literal(node)]


def extract(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str, tuple[str | None, ...], list[str]]]:
    """Babel's extraction-method protocol: ``(lineno, funcname, messages, comments)`` per keyword call."""
    source = fileobj.read().decode(str(options.get("encoding") or "utf-8"))
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in keywords
    ]
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        if not call.args:
            continue
        name = call.func.id if isinstance(call.func, ast.Name) else ""
        rest = tuple(_literal(arg) for arg in call.args[1:])
        for first in _branches(call.args[0]):
            yield call.lineno, name, (first, *rest), []
