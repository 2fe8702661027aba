"""Stored text never reaches a terminal raw: escape sequences in a name, title or question are shown as visible
``\\uXXXX`` text by every ``wieweet`` command (and ``--json`` output stays valid JSON with the same values)."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli.output import terminal_text
from storage.db import Database
from tests import factories

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
# clear the screen, set the window title, a one-character CSI (C1), a bell, a carriage return that lets the rest of
# the line overwrite the start, a right-to-left override
EVIL = "An\x1b[2J\x1b]0;pwned\x07 Peeters\x9b31m\r\u202egnp.exe"
ACTING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u061c]")


def wieweet(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", database_url, *args], catch_exceptions=False)


def test_terminal_text_shows_controls_visibly() -> None:
    assert terminal_text("a\x1b[31mb\tc\nd\x9b\u202e") == "a\\u001b[31mb\tc\nd\\u009b\\u202e"
    assert json.loads(terminal_text(json.dumps({"n": "\x9b\u202ex"}, ensure_ascii=False))) == {"n": "\x9b\u202ex"}


def test_register_and_privacy_commands_never_print_controls(database: Database, database_url: str) -> None:
    with database.session() as session:
        factories.add_expert(
            session, EVIL, created_at=NOW, organisation=EVIL, city=EVIL, expertise=[EVIL], slack="U0EVIL"
        )
        factories.add_practice(session, EVIL, created_at=NOW, city=EVIL)
    outputs = [
        wieweet(database_url, "register", "list", "experts"),
        wieweet(database_url, "register", "list", "practices"),
        wieweet(database_url, "privacy", "export", "--slack-id", "U0EVIL"),
        wieweet(database_url, "audit", "--json"),
        wieweet(database_url, "audit"),
    ]
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert not ACTING.search(result.output), repr(result.output)
    assert "\\u001b]0;pwned\\u0007" in outputs[0].output  # shown, visibly
    exported = json.loads(outputs[2].output)
    assert exported["expert_profile"]["name"] == EVIL  # the same values


def test_every_command_prints_through_the_terminal_filter() -> None:
    # the class: a new command that calls click.echo/print directly would print stored text raw
    for path in Path("bot/cli").glob("*.py"):
        if path.name == "output.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                assert name not in {"click.echo", "click.secho", "print", "sys.stdout.write"}, f"{path}: {name}"
