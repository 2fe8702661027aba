"""Every count shown to a person groups its thousands as the reader's language does ("8.000", "8,000"): on the
command line (the operator's language), in Slack (the user's locale, a channel digest's language) and in what the
core services write for them. Each goes through ``bot.i18n.format_number`` before ``t()``/``tn()`` put it in a
sentence; the plural choice (``tn``'s ``n``) still takes the integer. A raw number (``count=len(rows)``) reads "8000"
in one line and "8.000" in the next. Ids (``question=12``) and years (``low=1990``) are no counts and stay as stored;
``--json`` and files are no sentences and keep plain numbers. A number put into text by an f-string or
``"…".format(…)`` is found the same way when that text reaches a person: a ``t()``/``tn()`` argument, or the text of a
Slack block or of a command line's output (``TEXT_SINKS``), also through a name bound to it in the function."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("bot", "handlers", "digests")  # every package that writes a sentence for a person
COUNT_ARGS = frozenset(
    {
        *("count", "n", "added", "changed", "unchanged", "total", "done", "posted", "minutes", "days", "hours"),
        *("asked", "answered", "prev_asked", "prev_answered", "askers", "questions", "organisations", "cities"),
        *("attempts", "length", "limit", "part", "parts"),
    }
)
RAW_NUMBERS = (ast.BinOp, ast.UnaryOp)  # arithmetic on numbers: ``seconds // 60`` (not on text: ``"⭐" * stars``)
TEXT_CALLS = frozenset(
    {"t", "tn", "format_number", "format_tenths", "format_decimal", "format_duration", "format_size", "local_time"}
)
# calls whose first argument is text a person reads as it is: a Slack block's or button's text, the Slack fallback,
# a line of the command line's output (``bot.cli.output.echo``)
TEXT_SINKS = frozenset({"section", "context", "header", "plain", "button", "fallback", "echo"})
# calls that return a dict of finished texts (``**counted_askers(…)``: each count already through ``format_number``)
TEXT_DICTS = frozenset({"counted_askers"})
# ``**values`` whose counts are formatted by their type, not by their name: ``bot.errors.Count`` in an error's or an
# import problem's values (``error_text``, ``problem_text``)
FORMATTED_BY_TYPE = {
    ("bot/error_texts.py", "error_text"),
    ("bot/error_texts.py", "problem_text"),
    ("bot/operator_texts.py", "_one"),  # a refused setting's values: a Count by type (``_value``)
    ("bot/error_texts.py", "not_found_text"),  # a record's id ("vraag 99999 bestaat niet"): an id, no count
}


class Scope(NamedTuple):
    """What a function's names are: ``bound`` to (local assignments), ``text`` (parameters typed ``str``) and the
    calls that make text (``TEXT_CALLS`` and the module's own functions that return ``str``)."""

    bound: dict[str, list[ast.expr]]
    text: frozenset[str]
    made: frozenset[str]


def _named(func: ast.expr, *names: str) -> bool:
    return isinstance(func, ast.Name) and func.id in names


def _formatted(value: ast.expr, scope: Scope) -> bool:
    """Text, no raw number: a call that makes text, ``", ".join(…)``, an f-string or a string."""
    if isinstance(value, ast.Call):
        joined = isinstance(value.func, ast.Attribute) and value.func.attr == "join"
        return joined or _named(value.func, *scope.made)
    if isinstance(value, ast.IfExp):  # ``f" · {shown}" if parts > 1 else ""``
        return _formatted(value.body, scope) and _formatted(value.orelse, scope)
    return isinstance(value, ast.JoinedStr) or (isinstance(value, ast.Constant) and isinstance(value.value, str))


def _returns_text(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return isinstance(function.returns, ast.Name) and function.returns.id == "str"


def _text_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The parameters typed ``str`` (``**values: str`` too): text the caller made, no raw number."""
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a)]
    return frozenset(a.arg for a in every if isinstance(a.annotation, ast.Name) and a.annotation.id == "str")


def _arithmetic(value: ast.expr) -> bool:
    """Arithmetic on numbers (``total - limit``, ``-n``); repeating text (``"⭐" * stars``) is none."""
    if isinstance(value, ast.BinOp):
        sides = (value.left, value.right)
        return not any(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in sides)
    return isinstance(value, ast.UnaryOp)


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


def _raw_count(name: str | None, value: ast.expr, scope: Scope) -> bool:
    if isinstance(value, ast.Call) and _named(value.func, "len"):
        return True
    if isinstance(value, ast.Constant) and isinstance(value.value, int):
        return True
    if isinstance(value, RAW_NUMBERS):
        return _arithmetic(value)
    if name not in COUNT_ARGS or _formatted(value, scope):
        return False
    if isinstance(value, ast.Name) and scope.bound.get(value.id):
        return not all(_formatted(v, scope) for v in scope.bound[value.id])
    return not (isinstance(value, ast.Name) and value.id in scope.text)


def _term(value: ast.expr) -> str | None:
    """The name a value goes by: ``n``, or the attribute read (``topic.total``: ``total``)."""
    if isinstance(value, ast.Name):
        return value.id
    return value.attr if isinstance(value, ast.Attribute) else None


def _str_format(value: ast.expr) -> bool:
    """``"{} vragen".format(n)``."""
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "format"
        and isinstance(value.func.value, ast.Constant)
        and isinstance(value.func.value.value, str)
    )


def _raw_in_text(value: ast.expr, scope: Scope, seen: frozenset[str] = frozenset()) -> list[ast.expr]:
    """The raw numbers an f-string or ``"…".format(…)`` puts in its text, each part read as ``_raw_count`` reads a
    ``t()`` argument (by its name or the attribute it reads); through a name bound to such text in the function,
    either branch of ``a if c else b``, and text made of text (``f"{part}"``, ``part = f"({n})"``)."""
    if isinstance(value, ast.IfExp):
        return [*_raw_in_text(value.body, scope, seen), *_raw_in_text(value.orelse, scope, seen)]
    if isinstance(value, ast.Name):
        if value.id in seen:
            return []
        return [r for bound in scope.bound.get(value.id, []) for r in _raw_in_text(bound, scope, seen | {value.id})]
    parts: list[tuple[str | None, ast.expr]] = []
    if isinstance(value, ast.JoinedStr):
        parts = [(_term(p.value), p.value) for p in value.values if isinstance(p, ast.FormattedValue)]
    elif _str_format(value):
        assert isinstance(value, ast.Call)
        parts = [(_term(a), a) for a in value.args] + [(k.arg or None, k.value) for k in value.keywords]
    found: list[ast.expr] = []
    for name, part in parts:
        branches = [part.body, part.orelse] if isinstance(part, ast.IfExp) else [part]
        for branch in branches:
            named = _term(branch) if branch is not part else name
            if _raw_count(named, branch, scope):
                found.append(branch)
            else:
                found.extend(_raw_in_text(branch, scope, seen))
    return found


def _arguments(call: ast.Call, scope: Scope) -> list[ast.expr]:
    """The values a ``t()``/``tn()`` call puts in its sentence: named, and those of a ``**`` dict it can read."""
    named = [k.value for k in call.keywords if k.arg is not None]
    splatted = [_splatted(k.value, scope) or {} for k in call.keywords if k.arg is None]
    return named + [v for values in splatted for v in values.values()]


def _sinks(function: ast.AST) -> list[tuple[ast.Call, ast.expr]]:
    """The text each ``TEXT_SINKS`` call shows as it is (its first argument)."""
    calls = (c for c in ast.walk(function) if isinstance(c, ast.Call) and c.args)
    return [(c, c.args[0]) for c in calls if _named(c.func, *TEXT_SINKS)]


def _splatted(value: ast.expr, scope: Scope) -> dict[str, ast.expr] | None:
    """The keys and values of ``**value`` when it is a dict literal (or a name bound once to one in the function),
    ``**values: str`` (nothing to check) or such joined by ``|``; else None (unchecked)."""
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        left, right = _splatted(value.left, scope), _splatted(value.right, scope)
        return None if left is None or right is None else left | right
    if isinstance(value, ast.Name) and value.id in scope.text and value.id not in scope.bound:
        return {}
    if isinstance(value, ast.Name) and len(scope.bound.get(value.id, [])) == 1:
        (value,) = scope.bound[value.id]
    if isinstance(value, ast.Call) and _named(value.func, *TEXT_DICTS):
        return {}
    if isinstance(value, ast.DictComp):  # ``{name: format_number(n, lang) for name, n in counts.items()}``
        return {} if _formatted(value.value, scope) else None
    if not isinstance(value, ast.Dict):
        return None
    keys = [k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None for k in value.keys]
    if None in keys:
        return None
    return {str(k): v for k, v in zip(keys, value.values, strict=True)}


def _translations(function: ast.AST) -> list[ast.Call]:
    return [c for c in ast.walk(function) if isinstance(c, ast.Call) and _named(c.func, "t", "tn")]


def unformatted_counts(root: Path = ROOT) -> list[str]:
    """Each ``t()``/``tn()`` argument in ``CHECKED`` that puts a number in a sentence without ``format_number``."""
    found = []
    for folder in CHECKED:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
            made = TEXT_CALLS | {f.name for f in functions if _returns_text(f)}
            for function in functions:
                scope = Scope(_assigned(function), _text_parameters(function), made)
                by_type = (path.relative_to(root).as_posix(), function.name) in FORMATTED_BY_TYPE
                for call in _translations(function):
                    where = f"{path.relative_to(root)}:{call.lineno}"
                    number = ast.unparse(call.args[2]) if _named(call.func, "tn") and len(call.args) > 2 else None
                    for keyword in call.keywords:
                        if keyword.arg is not None:
                            plural = ast.unparse(keyword.value) == number  # the number the plural follows, raw
                            if plural or _raw_count(keyword.arg, keyword.value, scope):
                                found.append(f"{where}: {keyword.arg}={ast.unparse(keyword.value)}")
                            continue
                        values = _splatted(keyword.value, scope)  # ``**shown``, a dict built in the function
                        if values is None and not by_type:
                            found.append(f"{where}: **{ast.unparse(keyword.value)}")
                        for name, value in (values or {}).items():
                            if _raw_count(name, value, scope):
                                found.append(f"{where}: **{{{name!r}: {ast.unparse(value)}}}")
                    for text in _arguments(call, scope):
                        found.extend(f"{where}: {ast.unparse(raw)} in text" for raw in _raw_in_text(text, scope))
                for call, text in _sinks(function):
                    where = f"{path.relative_to(root)}:{call.lineno}"
                    found.extend(f"{where}: {ast.unparse(raw)} in text" for raw in _raw_in_text(text, scope))
    return sorted(set(found))


def test_every_count_a_person_reads_is_grouped_as_their_language_does() -> None:
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
    slack = tmp_path / "handlers" / "blocks" / "example.py"
    slack.parent.mkdir(parents=True)
    slack.write_text(
        "def _day(when) -> str: ...\n"
        "def g(now, stars, lang, people: str, **values: str):\n"
        "    asked, questions = _day(now), ', '.join(now.questions)\n"
        "    t('f', lang, asked=now.asked, prev_asked=format_number(now.before, lang), people=people)\n"
        "    t('g', lang, stars='⭐' * stars, hours=now.hours, low=str(1990), **({'staff': people} | values))\n"
        "    t('h', lang, n=now.n, questions=tn('q', 'q_plural', 2, lang, n=format_number(2, lang)))\n"
        "    t('i', lang, asked=asked, questions=questions)\n"
        "    tn('j', 'j_plural', now.k, lang, people=now.k, names=format_number(now.k, lang))\n",
        encoding="utf-8",
    )
    assert unformatted_counts(tmp_path) == [
        "bot/cli/example.py:3: count=n",
        "bot/cli/example.py:5: count=len(rows)",
        "bot/cli/example.py:6: added=result.added",
        "bot/cli/example.py:7: **counts",
        "bot/cli/example.py:7: minutes=300 // 60",
        "bot/cli/example.py:9: **{'total': n}",
        "handlers/blocks/example.py:4: asked=now.asked",
        "handlers/blocks/example.py:5: hours=now.hours",
        "handlers/blocks/example.py:6: n=now.n",
        "handlers/blocks/example.py:8: people=now.k",
    ]


def test_the_check_finds_a_number_put_in_text_by_an_f_string(tmp_path: Path) -> None:
    """An f-string or ``str.format`` whose text reaches a person — a ``t()`` argument, a block's text, a line of
    output — is read part by part; ids and text made of grouped counts are no raw numbers."""
    module = tmp_path / "handlers" / "blocks" / "example.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "def f(rows, topic, lang, question_id, title, parts):\n"
        "    t('a', lang, label=f'{len(rows)} vragen')\n"
        "    t('b', lang, label='{} vragen'.format(topic.total))\n"
        "    words = f'{topic.questions} vragen' if rows else '-'\n"
        "    section(words)\n"
        "    echo(f'#{question_id}: {title}')\n"
        "    shown = format_number(len(rows), lang)\n"
        "    context(f'{shown} vragen')\n"
        "    part = f' · {shown}' if rows else ''\n"
        "    header(f'_{title}{part}_')\n"
        "    inner = f'({len(rows)})'\n"
        "    echo(f'{title} {inner}')\n"
        "    t('c', lang, **{'label': f'{parts - 1} more'})\n"
        "    button(f'{topic.count:>5}', 'a', 'v')\n"
        "    log.info(f'{len(rows)} rows')\n",
        encoding="utf-8",
    )
    assert unformatted_counts(tmp_path) == [
        "handlers/blocks/example.py:12: len(rows) in text",
        "handlers/blocks/example.py:13: parts - 1 in text",
        "handlers/blocks/example.py:14: topic.count in text",
        "handlers/blocks/example.py:2: len(rows) in text",
        "handlers/blocks/example.py:3: topic.total in text",
        "handlers/blocks/example.py:5: topic.questions in text",
    ]
