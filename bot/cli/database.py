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
from bot.errors import ConfigError, Problem
from bot.i18n import DEFAULT_LANGUAGE, t
from storage.db import sqlite_file

DATABASE_OPTION = "--database"
DATABASE_VARIABLE = "WIEWEET_DATABASE_URL"
CREATE_HINT = (
    "create it with `wieweet db upgrade` (an empty database), `wieweet import experts FILE` or `wieweet demo`"
    " (the demo register), or check the path"
)


def database_origin(option_value: str | None, environ: Mapping[str, str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Where the database URL came from, as the messages say it in the operator's language ``lang``."""
    if option_value is not None:
        return t("cli.database_from_option", lang, option=DATABASE_OPTION)
    if environ.get(DATABASE_VARIABLE):
        return t("cli.database_from_variable", lang, variable=DATABASE_VARIABLE)
    return t("cli.database_from_default", lang, option=DATABASE_OPTION, variable=DATABASE_VARIABLE)


def _shown(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


def check_sqlite_file(url: str, origin: str, *, create: bool, lang: str = DEFAULT_LANGUAGE) -> None:
    """For a SQLite ``url`` whose file does not exist: refuse (``create`` false: a command that reads), or say that
    it will be created (a command that fills it; its folder must exist). Anything else passes unchanged."""
    path = sqlite_file(url)
    if path is None or path.exists():
        return
    shown = _shown(path)
    values = {"path": str(shown), "origin": origin}
    if not create:
        english = f"no database at {shown} ({origin}): nothing to read yet; {CREATE_HINT}"
        raise ConfigError("no_database", Problem(english, "no_database", values))
    if not shown.parent.is_dir():
        english = f"cannot create the database {shown} ({origin}): the folder {shown.parent} does not exist"
        raise ConfigError(
            "no_database", Problem(english, "no_database_folder", {**values, "folder": str(shown.parent)})
        )
    echo(f"note: {t('cli.database_creating', lang, path=str(shown), origin=origin)}", err=True)
