"""``wieweet db``: schema management."""

from __future__ import annotations

import click

from bot.cli import CliContext, operator_language, pass_cli
from bot.cli.output import echo
from bot.i18n import t
from storage.db import Database, check_known_revision, current_revision, head_revision, upgrade


@click.group(name="db")
def db_group() -> None:
    """Database schema: upgrade and status.

    \b
    Examples:
      wieweet db upgrade
      WIEWEET_DATABASE_URL=postgresql://wieweet@db/wieweet wieweet db upgrade
      wieweet db status
    """


@db_group.command(name="upgrade")
@pass_cli
def db_upgrade(cli: CliContext) -> None:
    """Create the database or upgrade it to the latest schema (also done automatically by the commands that fill
    it: demo, import, themes import, digest subscribe, run).

    Several replicas may run it at once on PostgreSQL (the upgrade is serialised with an advisory lock).

    \b
    Examples:
      wieweet db upgrade
      wieweet --database postgresql://wieweet@db/wieweet db upgrade
    """
    cli.check_database_file(create_missing=True)
    database = Database(cli.settings.database_url, auto_upgrade=False)
    try:
        upgrade(database.engine)
        with database.engine.connect() as conn:
            revision = current_revision(conn)
        echo(t("cli.db_upgraded", operator_language(cli), revision=revision, dialect=database.dialect))
    finally:
        database.dispose()


@db_group.command(name="status")
@pass_cli
def db_status(cli: CliContext) -> None:
    """Show the schema revision of the database and the latest one this version of wieweet knows.

    \b
    Examples:
      wieweet db status
      WIEWEET_DATABASE_URL=postgresql://wieweet@db/wieweet wieweet db status
    """
    cli.check_database_file(create_missing=False)  # a status check creates nothing
    database = Database(cli.settings.database_url, auto_upgrade=False)
    try:
        with database.engine.connect() as conn:
            current = current_revision(conn)
        check_known_revision(current)  # a database a newer wieweet upgraded: `db upgrade` would not help
        head, lang = head_revision(), operator_language(cli)
        echo(t("cli.db_status", lang, current=current or t("cli.db_empty", lang), latest=head))
        if current != head:
            echo(t("cli.db_upgrade_hint", lang))
    finally:
        database.dispose()


def register(group: click.Group) -> None:
    group.add_command(db_group)
