"""The command line as an operator runs it, on a test's database (in process, through click's runner)."""

from __future__ import annotations

from click.testing import CliRunner, Result

from bot.cli import main
from storage.db import Database


def wieweet(db: Database, *args: str) -> Result:
    """``wieweet --database <db> args...``: its output and exit code."""
    return CliRunner().invoke(main, ["--database", db.url, *args])


def wieweet_in(db: Database, language: str, *args: str) -> Result:
    """The command line of an operator whose ``WIEWEET_LANGUAGE`` is ``language``."""
    return CliRunner().invoke(main, ["--database", db.url, *args], env={"WIEWEET_LANGUAGE": language})
