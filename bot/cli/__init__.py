"""The ``wieweet`` command line. Every command calls the same core services as the Slack handlers."""

from __future__ import annotations

import logging
import os

# One BLAS thread unless the operator sets another count: read by NumPy's OpenBLAS when NumPy is first imported, so
# set before any module below imports it. The only matrix products of a search are the meaning signal's cosines,
# and on a machine whose cores serve other requests and jobs too a second BLAS thread waits for a core by spinning:
# with two, a search with meaning took twice as long at p50 and p95 and its cosines three times (docs/speed.md,
# round 20; bench/blas_threads.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pwd
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError, ProgrammingError

from bot.actors import Actor
from bot.cli.database import DATABASE_OPTION, check_sqlite_file, database_origin
from bot.cli.logs import configure_logging
from bot.cli.output import echo
from bot.config import (
    Settings,
    environment_language,
    normalise_database_url,
    read_settings,
    settings_error,
    unknown_settings,
)
from bot.directory import known_name
from bot.error_texts import OPERATOR_CODES, error_text, not_found_text, problem_text
from bot.errors import ConfigError, ImportFailed, Problem, WieweetError
from bot.i18n import format_number, normalise_language, t, tn
from bot.operator_texts import OPERATOR_KEYS, operator_text, settings_text
from bot.text import drop_controls
from handlers.slack_settings import CLIENT_LOGGER, quiet_client_failures
from storage.db import Database, UnknownSchemaError
from storage.db_url import has_password, shown_url, url_secrets

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """What every command gets: the settings (read once) and a lazily opened database."""

    settings: Settings
    # Malformed settings not yet reported: only ``run`` gets here with some, to list them with its own checks.
    problems: tuple[str, ...] = ()
    # where ``settings.database_url`` came from, for messages (``bot.cli.database.database_origin``)
    database_origin: str = "the default"
    operator: str = ""  # ``--by NAME``: who says they run the command, recorded beside the account in the audit log
    _db: Database | None = field(default=None, repr=False)
    # what a command opened over the database (a knowledge base's ``close``): ended before the database is disposed
    closing: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def db(self) -> Database:
        """The database, for a command that reads: a SQLite file that does not exist is refused, not created."""
        return self.open_database(create_missing=False)

    def open_database(self, *, create_missing: bool) -> Database:
        """The database, opened (and upgraded) on first use. ``create_missing``: a command that fills the database
        creates a SQLite file that is not there yet (see ``bot.cli.database``)."""
        if self._db is None:
            self.check_database_file(create_missing=create_missing)
            try:
                self._db = Database(
                    self.settings.database_url,
                    echo=self.settings.echo_sql,
                    echo_parameters=self.settings.echo_sql_parameters,
                )
            except ArgumentError as exc:  # a URL make_url reads but the engine refuses: one line, not a traceback
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                shown = shown_url(self.settings.database_url)
                # "database" in every language; where it came from in the operator's (``database_origin``)
                raise ConfigError("bad_database_url", f"database {shown} ({self.database_origin}): {reason}") from None
        return self._db

    def check_database_file(self, *, create_missing: bool) -> None:
        """Refuse a missing SQLite file (or announce it, ``create_missing``) before anything opens it."""
        lang = operator_language(self)
        check_sqlite_file(self.settings.database_url, self.database_origin, create=create_missing, lang=lang)

    def close(self) -> None:
        while self.closing:
            self.closing.pop()()
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_cli = click.make_pass_decorator(CliContext)
OPERATOR_MAX = 60


def os_account() -> str:
    """The operating-system account running this process, from its user id (``pwd``) — not ``$LOGNAME``/``$USER``,
    which whoever runs the command sets as they like."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid without a passwd entry (a container started with --user 1234)
        return f"uid{uid}"


def cli_actor() -> Actor:
    """Who the audit log names for a command-line action: ``cli:<os account>``, and ``by <name>`` when the operator
    gave ``wieweet --by NAME`` (shared accounts: root in a container). Staff: the command line runs on the server."""
    ctx = click.get_current_context(silent=True)
    cli = ctx.find_object(CliContext) if ctx is not None else None
    return Actor.cli(os_account(), by=cli.operator if cli is not None else "")


def _operator(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    raw = value or ""
    name = " ".join(raw.split())  # "Anna  Smet" is "Anna Smet"
    if len(name) > OPERATOR_MAX or not raw.isprintable():  # no line breaks, tabs or escape sequences in the log
        lang = environment_language()  # read before the settings: WIEWEET_LANGUAGE alone
        count = format_number(OPERATOR_MAX, lang)
        raise click.BadParameter(tn("cli.by_plain_name", "cli.by_plain_name_plural", OPERATOR_MAX, lang, count=count))
    return name


EXIT_REFUSED = 1  # understood, but it cannot be done: nothing changed (or only what the refusal records)
EXIT_BAD_INPUT = 2  # the command line is wrong: usage, a malformed value, a record or id that does not exist


def exit_code(error: WieweetError) -> int:
    """The exit code of a command stopped by ``error`` (see the README's "Exit codes"): ``EXIT_REFUSED`` for a
    refusal (``WieweetError.refusal``: the record's state, another's change, a rule), ``EXIT_BAD_INPUT`` for the
    rest — a ``NotFoundError`` (an id or record that does not exist), bad input, a setting."""
    return EXIT_REFUSED if error.refusal else EXIT_BAD_INPUT


# how a --lang option's help names its default: the configured language, not a fixed one
LANGUAGE_DEFAULT_HELP = "default: WIEWEET_LANGUAGE, Dutch unless set"


def operator_language(cli: CliContext | None) -> str:
    """The language the command line speaks to its operator: ``WIEWEET_LANGUAGE`` (Dutch unless set), also before the
    settings are read or when they are refused (``bot.config.environment_language``)."""
    return normalise_language(cli.settings.default_language) if cli is not None else environment_language()


def refusal_text(error: WieweetError, cli: CliContext | None) -> str:
    """What the command line says for ``error``, in the operator's language (``operator_language``): a refusal
    (``WieweetError.refusal``) or an error naming someone in the words staff read in Slack, with each person's name
    where Slack shows a mention (``bot.directory.known_name``); an error of the command line's own
    (``bot.error_texts.OPERATOR_CODES``: discarding queued work) in its catalogue text, as is a record it was given
    that does not exist (``bot.error_texts.NOT_FOUND_KEYS``); the error's own message for the rest (bad input, a
    record not given on the command line: their texts speak of Slack's buttons), for an error with other values (a
    channel is Slack markup) and for a code without a text. Refused settings, a file that cannot be written and the
    digest's refusals are said by ``bot.operator_texts``."""
    lang = operator_language(cli)
    problems = error.values.get("problems")
    if error.code == "bad_settings" and isinstance(problems, tuple):  # every setting refused at start
        return settings_text(problems, lang)
    line = error.args[0] if error.args else None
    if isinstance(line, Problem) and line.code in OPERATOR_KEYS:  # a setting, a file not written (bot.operator_texts)
        return operator_text(line, lang)
    if isinstance(error, ImportFailed) and len(error.errors) == 1:  # a register file refused before it is read
        return problem_text(error.errors[0], lang)
    if error.code in OPERATOR_CODES:
        return error_text(error, lang) or error.message
    if (missing := not_found_text(error, lang)) is not None:  # a record given that does not exist
        return missing
    if not (error.refusal or error.people) or not set(error.values) <= error.people:
        return error.message
    if not error.values or cli is None:  # nobody named, or no database to name them from: their Slack id
        return error_text(error, lang, person=str) or error.message
    with cli.db.session() as session:
        return error_text(error, lang, person=lambda user_id: known_name(session, user_id=user_id)) or error.message


class WieweetGroup(click.Group):
    """Turns domain errors into one clear line and a non-zero exit code (``exit_code``) instead of a traceback, and
    reads every command's arguments without control characters (``bot.text.drop_controls``, the rule a Slack payload
    goes through): a NUL in a query or a reason never reaches PostgreSQL, which refuses it. The group's own options
    are read as given (``--by`` refuses an escape sequence rather than dropping it)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        return super().resolve_command(ctx, [drop_controls(arg) for arg in args])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except WieweetError as exc:
            echo(f"error: {refusal_text(exc, ctx.find_object(CliContext))}", err=True)
            ctx.exit(exit_code(exc))
        except UnknownSchemaError as exc:  # in the operator's words, not the developer's message
            lang = operator_language(ctx.find_object(CliContext))
            echo(f"error: {t('cli.unknown_schema', lang, revision=exc.revision, latest=exc.latest)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (OperationalError, InterfaceError) as exc:  # the database cannot be reached, or failed mid-way
            cli = ctx.find_object(CliContext)
            url = cli.settings.database_url if cli is not None else ""
            origin = f" ({cli.database_origin})" if cli is not None else ""
            echo(f"error: database {shown_url(url)}{origin}: {database_reason(exc, url)}", err=True)
            ctx.exit(EXIT_REFUSED)
        except ProgrammingError as exc:
            if exc.statement is not None:  # a statement refused: our bug, with its traceback
                raise
            # refused before any statement: the driver did not take the URL ("bad value for connect_timeout"), a
            # setting to fix like a malformed one (``normalise_database_url`` refuses an unknown option earlier)
            cli = ctx.find_object(CliContext)
            url = cli.settings.database_url if cli is not None else ""
            origin = f" ({cli.database_origin})" if cli is not None else ""
            echo(f"error: database {shown_url(url)}{origin}: {database_reason(exc, url)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def database_reason(error: DBAPIError, url: str) -> str:
    """The driver's own first line ("connection refused", "password authentication failed for user …"), never the
    SQL statement, and never the password even if a driver were to quote the URL."""
    lines = str(error.orig or error).strip().splitlines() or ["unknown error"]
    reason = lines[0]
    for secret in url_secrets(url):  # the password, also one in the URL's query (``storage.db_url.url_secrets``)
        reason = reason.replace(secret, "***")
    return reason


@click.group(cls=WieweetGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--database",
    "database_url",
    metavar="URL",
    help="Database URL (default: $WIEWEET_DATABASE_URL or sqlite:///./wieweet.db).",
)
@click.option(
    "--by",
    "operator",
    metavar="NAME",
    callback=_operator,
    help="Your name, recorded in the audit log beside the system account (cli:root by anna).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.version_option(package_name="wieweet")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, operator: str, verbose: bool) -> None:
    """Wie weet? — find who knows about a topic in the network of Flemish cities.

    \b
    Examples:
      wieweet demo                               # demo register in ./wieweet.db, then the console
      wieweet import experts experts.csv         # load the expert register
      wieweet ask "wie weet iets over leegstandsheffing?"
      wieweet run                                # the Slack bot (Socket Mode)
    """
    configure_logging(verbose=verbose, stream=sys.stderr)  # one physical line per record (bot.cli.logs)
    overrides: dict[str, object] = {}
    if database_url is not None:
        url = normalise_database_url(database_url, source=DATABASE_OPTION)  # checked with SQLAlchemy's make_url
        if has_password(url):  # a command line is visible to every user of the machine (ps): warned, not refused
            echo(f"warning: {t('cli.password_on_command_line', environment_language())}", err=True)
        overrides["database_url"] = url
    settings, problems = read_settings(overrides=overrides)
    lang = normalise_language(settings.default_language)
    for warning in unknown_settings():
        echo(f"warning: {operator_text(warning, lang)}", err=True)
    if problems and ctx.invoked_subcommand != "run":  # `run` lists them together with the Slack settings it needs
        raise settings_error(problems)
    if ctx.invoked_subcommand != "run":  # a command that asks Slack says a failure in one line of its own; the bot
        # logs slack_sdk's lines (masked, ``bot.cli.logs``)
        ctx.with_resource(quiet_client_failures(logging.getLogger(CLIENT_LOGGER)))
    cli = CliContext(
        settings=settings,
        problems=tuple(problems),
        database_origin=database_origin(database_url, os.environ, lang),
        operator=operator,
    )
    ctx.obj = cli
    ctx.call_on_close(cli.close)


def _register_commands() -> None:
    # Imported here so each command module can import ``main``/``pass_cli`` from this package.
    from bot.cli import (  # noqa: PLC0415 (import cycle)
        ask_cmds,
        db_cmds,
        demo_cmds,
        digest_cmds,
        needs_cmds,
        privacy_cmds,
        question_cmds,
        queued_cmds,
        register_cmds,
        routing_cmds,
        run_cmds,
    )

    modules = (
        ask_cmds,
        db_cmds,
        demo_cmds,
        digest_cmds,
        needs_cmds,
        privacy_cmds,
        question_cmds,
        queued_cmds,
        register_cmds,
        routing_cmds,
        run_cmds,
    )
    for module in modules:
        module.register(main)


_register_commands()
