"""The texts an operator or a user reads say "1 cell" and "3 cells", never "cell(s)": no string in the code (an
import's or a setting's English problem line, the line logs and the audit keep) and no translation in the
catalogues glues "(s)" to a word; Dutch has no "kolom(men)" either. A count is said with the catalogue's plural
forms (``bot.i18n.tn``) or, in English without the catalogue, ``bot.text.counted``. Docstrings are not read.
``http(s)://`` is a URL scheme, not a plural."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR
from bot.text import counted, noun

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("bot", "digests", "handlers", "storage", "scripts")
# a word with its plural ending in brackets: "cell(s)", "kolom(men)", "cel(len)", "teken(s)", "regel(s)"
GLUED = re.compile(r"[^\W\d_]\((?:s|es|en|n|men|len|nen|ten)\)")
NOT_A_PLURAL = re.compile(r"https?\(s\)|http\(s\)")


def _glued(text: str) -> bool:
    return bool(GLUED.search(NOT_A_PLURAL.sub("", text)))


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def glued_in_code(root: Path = ROOT, folders: tuple[str, ...] = CHECKED) -> list[str]:
    """Every string (a constant, an f-string's text) that is not a docstring and glues a plural to a word."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docs = _docstrings(tree)
            strings = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            for node in sorted(strings, key=lambda n: (n.lineno, n.col_offset)):
                if id(node) not in docs and _glued(node.value):
                    found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}: {node.value!r}")
    return found


def glued_in_catalogues(locale_dir: Path = LOCALE_DIR) -> list[str]:
    found = []
    for lang in LANGUAGES:
        with (locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
            catalog = read_po(file, locale=lang)
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            found += [f"{lang}: {message.id!r}: {s}" for s in strings if s and _glued(s)]
    return found


def test_no_string_in_the_code_glues_a_plural() -> None:
    assert glued_in_code() == []


def test_no_translation_glues_a_plural() -> None:
    assert glued_in_catalogues() == []


def test_the_checks_find_a_glued_plural(tmp_path: Path) -> None:
    """They can fail: a constant, an f-string, a tuple's string; a docstring, a URL scheme and a count said are fine."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        '"""A module about cell(s)."""\n'
        'KIND = ("line break(s)", "code")\n'
        "def f(n, counted):\n"
        '    """Says quote(s)."""\n'
        '    a = f"{n} column(s) missing"\n'
        '    b = "an http(s):// URL"\n'
        "    c = f\"{counted(n, 'cell')} too many\"\n"
        '    return "3 kolom(men)"\n',
        encoding="utf-8",
    )
    assert [line.split(":")[1] for line in glued_in_code(tmp_path, ("pkg",))] == ["2", "5", "8"]
    po = tmp_path / "nl" / "LC_MESSAGES" / f"{DOMAIN}.po"
    po.parent.mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES").mkdir(parents=True)
    po.write_text('msgid "a"\nmsgstr "{count} cel(len)"\n\nmsgid "b"\nmsgstr "een http(s)://-URL"\n', encoding="utf-8")
    (tmp_path / "en" / "LC_MESSAGES" / f"{DOMAIN}.po").write_text(
        'msgid "c"\nmsgid_plural "c_plural"\nmsgstr[0] "{count} cell"\nmsgstr[1] "{count} cell(s)"\n', encoding="utf-8"
    )
    assert sorted(line.split(":")[0] for line in glued_in_catalogues(tmp_path)) == ["en", "nl"]


def test_a_noun_is_said_for_its_count() -> None:
    assert [noun(n, "column") for n in (0, 1, 2)] == ["columns", "column", "columns"]
    assert noun(2, "person", "people") == "people" and counted(1, "cell") == "1 cell"
