"""``wieweet import``, ``export``, ``register`` and ``themes``: the registers from the command line.

Thin commands: parse the arguments, open one ``cli.db.session()`` (one transaction), call a register service,
print. Everything they do is in ``bot.register``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import click

from bot.cli import CliContext, cli_actor, operator_language, pass_cli
from bot.cli.output import echo
from bot.cli.register_view import expert_table, practice_table, profile_lines
from bot.cli.slack_check import confirm_lines as slack_check_confirm
from bot.cli.slack_check import report_lines as slack_check_lines
from bot.config import Settings
from bot.error_texts import problem_text
from bot.errors import ConfigError, ImportFailed, Problem
from bot.i18n import DEFAULT_LANGUAGE, MIB, N_, format_number, local_day, t, tn
from bot.needs import reachability
from bot.register import identity, marked, profiles, service
from bot.register.file_guards import LIMITS
from bot.register.files import check_register_path
from bot.register.report import ImportReport
from bot.register.themes import ensure_default_themes
from storage import register_repo as repo
from storage.models import Availability

KINDS = click.Choice(["experts", "practices"])
FILE = click.Path(path_type=Path, dir_okay=False)


# from this many records an import whose stderr is no terminal says what it does, a line a quarter: writing a large
# register takes minutes, and a silent command looks hung (standard output keeps only the summary)
PROGRESS_LINES_FROM = 2000


class TerminalProgress:
    """A progress bar on stderr when it is a terminal; otherwise a few plain lines on stderr for a large import
    (``PROGRESS_LINES_FROM``), and nothing for a small one (or in tests)."""

    def __init__(self, label: str, lang: str = DEFAULT_LANGUAGE) -> None:
        self.label, self.lang = label, lang
        self._bar: Any = None
        self._shown = 0

    @property
    def callback(self) -> Callable[[int, int], None] | None:
        return self.update if sys.stderr.isatty() else self.lines

    def lines(self, done: int, total: int) -> None:
        if total < PROGRESS_LINES_FROM:
            return
        lang, shown_total = self.lang, format_number(total, self.lang)
        if self._shown == 0:
            echo(t("cli.import_writing", lang, label=self.label, total=shown_total), err=True)
        quarter = -(-total // 4)
        if done == total or done // quarter > self._shown // quarter:
            echo(
                t("cli.import_written", lang, label=self.label, done=format_number(done, lang), total=shown_total),
                err=True,
            )
        self._shown = done

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def slack_email_lookup(settings: Settings, *, reachable: bool = False) -> identity.SlackEmailLookup | None:
    """Asks Slack for an account's e-mail address (``users.info``), when the bot token is set; None otherwise. A
    malformed token is refused (``ConfigError``) as `wieweet run` refuses it, before Slack is asked. ``reachable``:
    Slack out of reach (no connection, no answer in time, a 5xx, an answer not Slack's) is a ``ConfigError`` too,
    one line, rather than each account listed as not asked."""
    if not settings.slack_bot_token:
        return None
    from handlers.accounts import email_lookup  # noqa: PLC0415 (the Web API client only when there is a token)
    from handlers.app import create_web_client  # noqa: PLC0415
    from handlers.slack_settings import check_bot_token  # noqa: PLC0415

    check_bot_token(settings)

    return email_lookup(create_web_client(settings), reachable=reachable)


def print_report(report: ImportReport, lang: str) -> None:
    """The import's warnings, notes, conflicts and erased rows in the operator's language (``lang``), then what it
    changed (with ``--dry-run`` record by record) and its counts. The line markers (``warning:``, ``CONFLICT:``,
    ``ERASED:``) stay as they are, for a script that looks for them."""
    for warning in report.warnings:
        echo(f"warning: {problem_text(warning, lang)}", err=True)
    for note in report.notes:
        echo(f"note: {problem_text(note, lang)}")
    for conflict in report.conflicts:
        echo(f"CONFLICT: {problem_text(conflict, lang)}", err=True)
    for erased in report.erased:
        echo(f"ERASED: {problem_text(erased, lang)}", err=True)
    if report.dry_run:
        for change in report.changes:
            if change.action == "changed":
                echo("  " + t("cli.import_changed", lang, key=change.key, fields=", ".join(change.fields)))
            else:
                echo("  " + t("cli.import_added", lang, key=change.key))
    echo(import_summary(report, lang))


def import_summary(report: ImportReport, lang: str) -> str:
    """An import's last line: the records added, changed and unchanged, the conflicts and erased rows listed above,
    and whether it was a dry run."""
    counts = {  # grouped as the progress lines are: "8.000 toegevoegd"
        "added": format_number(report.added, lang),
        "changed": format_number(report.changed, lang),
        "unchanged": format_number(report.unchanged, lang),
    }
    parts = [t("cli.import_counts", lang, file=report.file, **counts)]
    if n := len(report.conflicts):
        parts.append(tn("cli.import_conflicts", "cli.import_conflicts_plural", n, lang, count=format_number(n, lang)))
    if n := report.erased_people:
        count = format_number(n, lang)
        parts.append(tn("cli.import_erased_people", "cli.import_erased_people_plural", n, lang, count=count))
    if n := report.erased_slack_ids:
        count = format_number(n, lang)
        parts.append(tn("cli.import_erased_ids", "cli.import_erased_ids_plural", n, lang, count=count))
    line = ", ".join(parts)
    return line + " — " + t("cli.import_dry_run", lang) if report.dry_run else line


def fail_import(exc: ImportFailed, cli: CliContext) -> None:
    """Every problem on its own line (stderr; each names the file, and its row and column when it has one), then
    the outcome in the operator's language (``operator_language``): how many problems, nothing imported; exit
    code 1."""
    lang = operator_language(cli)
    for line in exc.errors:
        echo(f"error: {problem_text(line, lang)}", err=True)
    if exc.message not in exc.errors:  # the rows' problems, listed above
        n = len(exc.errors)
        outcome = tn("cli.import_problems", "cli.import_problems_plural", n, lang, count=format_number(n, lang))
    else:
        outcome = t("cli.import_failed", lang)
    echo(f"error: {outcome}", err=True)
    raise click.exceptions.Exit(1)


IMPORT_HELP = f"""Load a register file (.csv or .xlsx) into the database: all or nothing.

KIND is experts or practices. Row 1 of the file holds the column names:

\b
  experts:   name, email, slack_user_id, organisation, city, role,
             expertise, themes, languages, bio
             required: name, email (the key, any case), organisation
  practices: title, summary, city, organisation, themes, tags, outcome,
             lessons, contact_email, url, year
             required: title, summary; key: title + city (any case)

List cells (expertise, themes, languages, tags) hold items separated by ; or
|. Themes are keys, labels or synonyms (see `wieweet themes list`; a synonym
of one theme is stored as its key and listed in the report); languages are
ISO 639-1 codes (nl, en, fr, ...); outcome is good, mixed or failed (or goed,
gemengd, mislukt). A contact_email of an expert in the register links the
practice to that expert; other addresses (team mailboxes) are kept as plain
contact addresses and listed in the report. CSV must be UTF-8 (Excel: "CSV
UTF-8"); a BOM and ; as the delimiter are fine, and the ' that `wieweet
export` puts before a formula-like cell is removed.

Limits: {LIMITS.max_file_bytes // MIB} MB per file (an .xlsx at most
{LIMITS.max_unpacked_bytes // MIB} MB unpacked), {LIMITS.max_rows:,} rows, {LIMITS.max_columns} columns,
{LIMITS.max_cell_chars:,} characters per cell.

Records are added or updated by key and the counts added / changed /
unchanged are printed. An import never deletes: records missing from the file
stay as they are. Optional columns may be left out of the header; those fields
of existing records are then left untouched (the city column is needed for
practices, being part of the key). New experts get consent "pending": they
are asked in Slack to confirm their listing and are not routed questions until
they do (--consent-on-paper when you hold their written consent). Otherwise
the consent of existing experts is never changed. Every added or changed
record is written to the audit log.

Without a slack_user_id column, a row whose address belongs to a profile made
in Slack keeps that Slack account only when Slack holds the same address for
it (asked with SLACK_BOT_TOKEN; without it, it cannot be checked). Otherwise
the row is imported without that account, its consent starts again and a
CONFLICT line names the row and the account: nobody takes an official's entry
by typing their address first. An expert whose Slack account changes starts
at consent "pending" again: consent belongs to the account that gave it.

A person who asked to be forgotten is not listed again by a file: a new
expert's row with their e-mail address or Slack id is skipped and an ERASED
line names the row, also with --dry-run; an expert already listed whose row
gives them that Slack id is updated without it (the ERASED line names the
field left out). Only --relist-erased imports such rows in full (each one
audited), e.g. when the person asks in writing to be listed again.

Any bad row stops the whole import: nothing is written, every problem is listed
with file, row and column, and the exit code is 1.

\b
Examples:
  wieweet import experts experts.csv
  wieweet import practices practices.xlsx --dry-run
  wieweet import experts signed-consent-forms.xlsx --consent-on-paper
  wieweet --database postgresql://wieweet@db/wieweet import experts experts.csv
"""


@click.command(name="import", help=IMPORT_HELP)
@click.argument("kind", type=KINDS, metavar="KIND")
@click.argument("path", type=FILE, metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Show what would be added or changed (and which fields); write nothing.")
@click.option(
    "--consent-on-paper",
    is_flag=True,
    help="Experts only: you hold their written consent, so new (and still pending) experts of the file are "
    "confirmed today and routed questions at once, without the confirm-your-listing DM.",
)
@click.option(
    "--relist-erased",
    is_flag=True,
    help="Experts only: also import the rows of people who asked to be forgotten (audited); skipped otherwise.",
)
@pass_cli
def import_cmd(
    cli: CliContext, kind: str, path: Path, dry_run: bool, consent_on_paper: bool, relist_erased: bool
) -> None:
    if consent_on_paper and kind != "experts":
        raise click.UsageError(t("cli.experts_only", operator_language(cli), option="--consent-on-paper"))
    if relist_erased and kind != "experts":
        raise click.UsageError(t("cli.experts_only", operator_language(cli), option="--relist-erased"))
    check_register_path(path)  # a usage error (exit code 2), before the database is opened or created
    lang = operator_language(cli)
    progress = TerminalProgress(t(IMPORTING_KEYS[kind], lang), lang)
    try:
        with cli.open_database(create_missing=True).session() as session:
            now = datetime.now(UTC)
            if kind == "experts":
                report = service.import_experts(
                    session,
                    path=path,
                    dry_run=dry_run,
                    actor=cli_actor().audit_label,
                    now=now,
                    progress=progress.callback,
                    consent_on_paper=consent_on_paper,
                    slack_emails=slack_email_lookup(cli.settings, reachable=True),  # unreachable: one line
                    relist_erased=relist_erased,
                )
            else:
                report = service.import_practices(
                    session,
                    path=path,
                    dry_run=dry_run,
                    actor=cli_actor().audit_label,
                    now=now,
                    progress=progress.callback,
                    zone=ZoneInfo(cli.settings.timezone),
                )
    except ImportFailed as exc:
        progress.close()
        fail_import(exc, cli)
        return
    except BaseException:  # e.g. Slack out of reach: a bar on the terminal ends before the error's one line
        progress.close()
        raise
    progress.close()
    print_report(report, lang)


IMPORTING_KEYS = {"experts": N_("cli.importing_experts"), "practices": N_("cli.importing_practices")}


@click.command(name="export")
@click.argument("kind", type=KINDS, metavar="KIND")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True), metavar="FILE")
@click.option(
    "--excel",
    is_flag=True,
    help="CSV for Excel in a Dutch/Belgian locale: ; as the delimiter, a UTF-8 BOM and CRLF line endings.",
)
@pass_cli
def export_cmd(cli: CliContext, kind: str, path: Path, excel: bool) -> None:
    """Write a register (KIND: experts or practices) to FILE (.csv or .xlsx, or - for standard output).

    The order is stable (experts by email; practices by city, then title), so exporting twice gives
    identical files and importing an export changes nothing. An existing file is replaced.

    \b
    Two CSV formats:
      default   RFC 4180 for tools and scripts: "," between cells, "\\n" line
                endings, UTF-8 without a BOM.
      --excel   what Excel in a Dutch or Belgian locale opens as columns with
                the accents intact: ";" between cells, a UTF-8 BOM, "\\r\\n".
    Both are read back by `wieweet import`. .xlsx needs neither.

    A cell that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return)
    gets a leading ' in CSV; the import removes it again. In .xlsx every text is stored as text.

    \b
    Examples:
      wieweet export experts experts.csv
      wieweet export experts --excel experts-excel.csv
      wieweet export practices practices.xlsx
      wieweet export experts - | head
    """
    to_stdout = str(path) == "-"
    target: Path | BinaryIO = sys.stdout.buffer if to_stdout else path
    with cli.db.session() as session:
        if kind == "experts":
            count = service.export_experts(session, path=target, excel=excel)
        else:
            count = service.export_practices(session, path=target, excel=excel)
    lang = operator_language(cli)
    where = t("cli.export_stdout", lang) if to_stdout else str(path)
    shown = {"count": format_number(count, lang), "target": where}  # the records written, and where to
    if kind == "experts":
        line = tn("cli.export_experts", "cli.export_experts_plural", count, lang, **shown)
    else:
        line = tn("cli.export_practices", "cli.export_practices_plural", count, lang, **shown)
    echo(line, err=to_stdout)


@click.group(name="register")
def register_group() -> None:
    """Look at the expert and practice registers.

    \b
    Examples:
      wieweet register list experts
      wieweet register list experts --theme wonen --city Gent
      wieweet register list practices --theme "Europe and EU funding"
      wieweet register show nathalie.rombaut@ocmwgent.be
      wieweet register available nathalie.rombaut@ocmwgent.be
      wieweet register check-slack
    """


@register_group.command(name="list")
@click.argument("kind", type=KINDS, metavar="KIND")
@click.option("--theme", metavar="THEME", help="Only records with this theme (key or label, any case).")
@click.option("--city", metavar="CITY", help="Only records of this city (any case).")
@pass_cli
def register_list(cli: CliContext, kind: str, theme: str | None, city: str | None) -> None:
    """List the experts or the practices (KIND), optionally only those with a theme and/or in a city.

    \b
    Examples:
      wieweet register list experts --theme wonen
      wieweet register list practices --city Kortrijk
    """
    lang, filtered = operator_language(cli), theme is not None or city is not None
    with cli.db.session() as session:
        if kind == "experts":
            lines = expert_table(service.list_experts(session, theme=theme, city=city), lang, filtered=filtered)
        else:
            lines = practice_table(service.list_practices(session, theme=theme, city=city), lang, filtered=filtered)
        for line in lines:
            echo(line)


@register_group.command(name="show")
@click.argument("email", metavar="EMAIL")
@pass_cli
def register_show(cli: CliContext, email: str) -> None:
    """Show one expert's full profile: contact, expertise, themes, availability, consent and practices.

    \b
    Examples:
      wieweet register show nathalie.rombaut@ocmwgent.be
    """
    with cli.db.session() as session:
        profile = service.get_expert_profile(session, email=email)
        mark = marked.get_away_mark(session, expert=profile.expert)  # a kept mark too: its reason, not a bare "away"
        lines = profile_lines(profile, mark, operator_language(cli), ZoneInfo(cli.settings.timezone))
    echo("\n".join(lines))


@register_group.command(name="check-slack")
@pass_cli
def register_check_slack(cli: CliContext) -> None:
    """Check that the e-mail address Slack holds for each expert's Slack account is the register's address.

    Questions are routed to the Slack account; a member who made a profile with someone else's address (before
    wieweet checked it) would get that person's questions. Every expert whose account's Slack address differs,
    is absent or cannot be read is listed; nothing is changed for them. Exit code 1 when any is listed. Fix one with
    an import that gives the right slack_user_id (or an empty one), or remove the expert. Needs SLACK_BOT_TOKEN
    (scope users:read.email).

    An expert whose account Slack confirms, whose last recruiting DM Slack refused as an unknown id (e.g. while the
    token was another workspace's), may be asked again: listed, and recorded in the audit log (slack_id_confirmed),
    once the report is printed (on a read-only database it is listed as not recorded). Not one Slack refused twice
    although it said the account is active: confirming the address tells nothing new there.

    \b
    Examples:
      wieweet register check-slack
    """
    lookup = slack_email_lookup(cli.settings, reachable=True)  # unreachable: one line, exit 2
    if lookup is None:
        english = "set SLACK_BOT_TOKEN to the app's bot token (xoxb-…) to ask Slack"
        raise ConfigError("missing_token", Problem(english, "setting_no_token_check"))
    lang = operator_language(cli)
    with cli.db.session() as session:  # read only: the report is printed before anything is written
        checked, problems = identity.check_slack_emails(session, lookup=lookup)
        # an account Slack confirms: a recruiting DM refused for its id (e.g. a token since corrected) may go again
        confirmable = reachability.list_unknown_ids_confirmed(session, unconfirmed=[p.email for p in problems])
    *report, summary = slack_check_lines(checked, problems, lang)
    for line in [*report, *slack_check_confirm(cli, confirmable, lang), summary]:
        echo(line)
    if problems:
        raise click.exceptions.Exit(1)


@register_group.command(name="available")
@click.argument("email", metavar="EMAIL")
@pass_cli
def register_available(cli: CliContext, email: str) -> None:
    """Make an expert available for routed questions again: after they were away, or marked away because Slack could
    not reach them (`wieweet audit --entity expert` shows why; the expert can also do it on their Home tab).

    Also confirms their Slack id (audited): a recruiting DM Slack refused as an unknown id (`needs recruit --ask`)
    is sent again at the next ask — also when they are already available. Use it once the id is known to be right.

    \b
    Examples:
      wieweet register available nathalie.rombaut@ocmwgent.be
    """
    lang = operator_language(cli)
    with cli.db.session() as session:
        expert = service.get_expert_profile(session, email=email).expert
        if expert.availability is Availability.AVAILABLE and expert.away_until is None:
            # staff vouch for the Slack id: a recruiting DM refused for it (``user_not_found``) may go again
            if reachability.confirm_slack_id(session, expert_id=expert.id, actor=cli_actor(), now=datetime.now(UTC)):
                echo(t("cli.available_id_confirmed", lang, name=expert.name))
            else:
                echo(t("cli.available_already", lang, name=expert.name))
            return
        profiles.set_availability(
            session,
            actor=cli_actor(),
            expert_id=expert.id,
            availability=Availability.AVAILABLE,
            now=datetime.now(UTC),
            today=local_day(datetime.now(UTC), ZoneInfo(cli.settings.timezone)),
        )
        name = expert.name
    echo(t("cli.available_again", lang, name=name))


@click.group(name="themes")
def themes_group() -> None:
    """The themes vocabulary: keys (a contract), Dutch and English labels, synonyms.

    \b
    Examples:
      wieweet themes list
      wieweet themes import extra-themes.csv --dry-run
      wieweet themes import extra-themes.csv
    """


@themes_group.command(name="list")
@pass_cli
def themes_list(cli: CliContext) -> None:
    """List the themes (the shipped vocabulary is set up on first use).

    \b
    Examples:
      wieweet themes list
    """
    lang = operator_language(cli)
    with cli.db.session() as session:
        ensure_default_themes(session, now=datetime.now(UTC))
        themes = repo.list_themes(session)
        for theme in themes:  # keys and labels as stored: a key is what a file and a subscription name
            synonyms = "; ".join(theme.synonyms[:6]) + (" …" if len(theme.synonyms) > 6 else "")
            echo(f"{theme.key:<16} {theme.label_nl} / {theme.label_en}" + (f"  [{synonyms}]" if synonyms else ""))
    count = len(themes)
    echo(tn("cli.themes_count", "cli.themes_count_plural", count, lang, count=format_number(count, lang)))


@themes_group.command(name="import")
@click.argument("path", type=FILE, metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Show what would be added or changed; write nothing.")
@pass_cli
def themes_import(cli: CliContext, path: Path, dry_run: bool) -> None:
    """Add or update themes from a .csv or .xlsx file with the columns key,label_nl,label_en,synonyms.

    Themes are matched by key: new keys are added, existing ones get the file's labels (and synonyms, when
    the file has that column). Keys are lower-case letters, digits and dashes; both labels are required and
    every key and label must name one theme only. synonyms holds items separated by ; (they help
    suggestions). Nothing is deleted; any bad row stops the whole import (exit code 1).

    \b
    Examples:
      wieweet themes import themes.csv
      wieweet themes import themes.xlsx --dry-run
    """
    check_register_path(path)  # a usage error (exit code 2), before the database is opened or created
    try:
        with cli.open_database(create_missing=True).session() as session:
            report = service.import_themes(
                session, path=path, actor=cli_actor().audit_label, now=datetime.now(UTC), dry_run=dry_run
            )
    except ImportFailed as exc:
        fail_import(exc, cli)
        return
    print_report(report, operator_language(cli))


def register(group: click.Group) -> None:
    group.add_command(import_cmd)
    group.add_command(export_cmd)
    group.add_command(register_group)
    group.add_command(themes_group)
