"""Which database a command opens, where that choice came from, and a SQLite file that is not there yet.

The URL comes from the ``--database`` option, else from ``WIEWEET_DATABASE_URL``, else it is the default
(``./wieweet.db``); every error about it says which. A command that only reads (``register list``, ``report``,
``db status``, ``ask`` …) refuses a SQLite file that does not exist: opening it would create an empty database
(and its inbox and lock files) and answer "0 experts", which hides a mistyped path. A command that fills the
database (``demo``, ``import``, ``themes import``, ``db upgrade``, ``digest subscribe``, ``run``) creates it and
says so on standard error. PostgreSQL databases are created by their administrator: the server says when one is
missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.cli.output import echo
from bot.errors import ConfigError
from storage.db import sqlite_file

DATABASE_OPTION = "--database"
DATABASE_VARIABLE = "WIEWEET_DATABASE_URL"
CREATE_HINT = (
    "create it with `wieweet db upgrade` (an empty database), `wieweet import experts FILE` or `wieweet demo`"
    " (the demo register), or check the path"
)


def database_origin(option_value: str | None, environ: Mapping[str, str]) -> str:
    """Where the database URL came from, as the messages say it."""
    if option_value is not None:
        return f"set with {DATABASE_OPTION}"
    if environ.get(DATABASE_VARIABLE):
        return f"set in {DATABASE_VARIABLE}"
    return f"the default: neither {DATABASE_OPTION} nor {DATABASE_VARIABLE} is set"


def _shown(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


def check_sqlite_file(url: str, origin: str, *, create: bool) -> None:
    """For a SQLite ``url`` whose file does not exist: refuse (``create`` false: a command that reads), or say that
    it will be created (a command that fills it; its folder must exist). Anything else passes unchanged."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    shown = _shown(path)
    if not create:
        raise ConfigError("no_database", f"no database at {shown} ({origin}): nothing to read yet; {CREATE_HINT}")
    if not shown.parent.is_dir():
        raise ConfigError(
            "no_database", f"cannot create the database {shown} ({origin}): the folder {shown.parent} does not exist"
        )
    echo(f"note: creating a new database at {shown} ({origin})", err=True)
