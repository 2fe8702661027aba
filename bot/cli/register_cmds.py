"""``wieweet import``, ``export``, ``register`` and ``themes``: the registers from the command line."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli import CliContext, pass_cli
from bot.errors import ImportFailed, NotFoundError
from bot.register import service
from bot.register.files import read_register_file
from bot.register.themes import ThemeResolver, ensure_default_themes
from storage import repositories as repo

KINDS = click.Choice(["experts", "practices"])


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def progress_bar(path: Path, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal (stderr), nothing when output is redirected."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        total = len(read_register_file(path).rows)
    except ImportFailed:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        last = 0

        def advance(done: int) -> None:
            nonlocal last
            bar.update(done - last)
            last = done

        yield advance


def print_report(report: service.ImportReport) -> None:
    verb = "would be" if report.dry_run else "were"
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.dry_run:
        for change in report.changes:
            detail = f" ({', '.join(change.fields)})" if change.fields else ""
            click.echo(f"  {change.action}: {change.key}{detail}")
    click.echo(
        f"{report.file}: {report.added} added, {report.changed} changed, {report.unchanged} unchanged"
        + (" — dry run, nothing written" if report.dry_run else "")
    )
    if report.dry_run and not report.changes:
        click.echo(f"nothing {verb} changed")


def fail_import(exc: ImportFailed) -> None:
    for line in exc.errors:
        click.echo(f"error: {line}", err=True)
    if len(exc.errors) != 1 or exc.errors[0] != exc.message:
        click.echo(f"error: {exc.message}", err=True)
    raise SystemExit(1)


@click.command(name="import")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change without writing anything.")
@pass_cli
def import_cmd(cli: CliContext, kind: str, path: Path, dry_run: bool) -> None:
    """Load a register file (.csv or .xlsx) into the database: all or nothing.

    Records are added or updated by key (experts: email; practices: title + city); records missing from the
    file are left alone (an import never deletes). Any bad row stops the whole import and every problem is
    listed with its row and column. Columns: see the README.

    \b
    Examples:
      wieweet import experts experts.csv
      wieweet import practices practices.xlsx --dry-run
    """
    importer = service.import_experts if kind == "experts" else service.import_practices
    try:
        with progress_bar(path, f"importing {kind}") as progress, cli.db.session() as session:
            report = importer(
                session, path=path, dry_run=dry_run, actor=cli_actor(), now=datetime.now(UTC), progress=progress
            )
    except ImportFailed as exc:
        fail_import(exc)
        return
    print_report(report)


@click.command(name="export")
@click.argument("kind", type=KINDS)
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@pass_cli
def export_cmd(cli: CliContext, kind: str, path: Path) -> None:
    """Write a register to a file (.csv or .xlsx), in a stable order, in the import format.

    \b
    Examples:
      wieweet export experts experts.csv
      wieweet export practices practices.xlsx
    """
    exporter = service.export_experts if kind == "experts" else service.export_practices
    with cli.db.session() as session:
        count = exporter(session, path=path)
    click.echo(f"{count} {kind} written to {path}")


@click.group(name="register")
def register_group() -> None:
    """Look at the registers.

    \b
    Examples:
      wieweet register list experts --theme wonen
      wieweet register list practices --city Kortrijk
      wieweet register show an.peeters@gent.be
    """


@register_group.command(name="list")
@click.argument("kind", type=KINDS)
@click.option("--theme", metavar="KEY", help="Only records with this theme (key or label).")
@click.option("--city", metavar="CITY", help="Only records of this city.")
@pass_cli
def register_list(cli: CliContext, kind: str, theme: str | None, city: str | None) -> None:
    """List experts or practices, optionally filtered by theme and city."""
    with cli.db.session() as session:
        ensure_default_themes(session, now=datetime.now(UTC))
        theme_key = None
        if theme:
            resolver = ThemeResolver.from_session(session)
            theme_key = resolver.resolve(theme)
            if theme_key is None:
                suggestion = resolver.suggest(theme)
                hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
                raise NotFoundError("unknown_theme", f"unknown theme {theme!r}{hint}")
        if kind == "experts":
            experts = repo.list_experts(session, theme=theme_key, city=city)
            for e in experts:
                themes = ",".join(t.key for t in e.themes)
                click.echo(f"{e.email:<40} {e.name:<28} {e.organisation:<30} {e.city:<14} {themes}")
            click.echo(f"{len(experts)} experts")
        else:
            practices = repo.list_practices(session, theme=theme_key, city=city)
            for p in practices:
                outcome = p.outcome.value if p.outcome else "-"
                click.echo(f"{p.city or '-':<14} {outcome:<7} {p.year or '':<5} {p.title}")
            click.echo(f"{len(practices)} practices")


@register_group.command(name="show")
@click.argument("email")
@pass_cli
def register_show(cli: CliContext, email: str) -> None:
    """Show one expert's full profile."""
    with cli.db.session() as session:
        expert = repo.get_expert_by_email(session, email=email)
        if expert is None:
            raise NotFoundError("no_expert", f"no expert with email {email.strip().lower()!r} in the register")
        practices = repo.list_practices_for_expert(session, expert_id=expert.id)
        away = f" until {expert.away_until.isoformat()}" if expert.away_until else ""
        confirmed = expert.last_confirmed_at.date().isoformat() if expert.last_confirmed_at else "never"
        lines = [
            f"{expert.name} <{expert.email}>",
            f"  organisation:  {expert.organisation}" + (f" ({expert.city})" if expert.city else ""),
            f"  role:          {expert.role or '-'}",
            f"  slack:         {expert.slack_user_id or '- (not in Slack)'}",
            f"  expertise:     {'; '.join(expert.expertise) or '-'}",
            f"  themes:        {', '.join(t.key for t in expert.themes) or '-'}",
            f"  languages:     {', '.join(expert.languages) or '-'}",
            f"  availability:  {expert.availability.value}{away}",
            f"  consent:       {expert.consent.value} (last confirmed: {confirmed})",
            f"  open questions limit: {expert.max_open_questions}",
            f"  bio:           {expert.bio or '-'}",
            f"  practices ({len(practices)}):",
        ]
        lines += [f"    - {p.title} ({p.city or p.organisation})" for p in practices]
    click.echo("\n".join(lines))


@click.group(name="themes")
def themes_group() -> None:
    """The themes vocabulary (keys, Dutch and English labels, synonyms).

    \b
    Examples:
      wieweet themes list
      wieweet themes import extra-themes.csv
    """


@themes_group.command(name="list")
@pass_cli
def themes_list(cli: CliContext) -> None:
    """List the themes."""
    with cli.db.session() as session:
        ensure_default_themes(session, now=datetime.now(UTC))
        for theme in repo.list_themes(session):
            synonyms = "; ".join(theme.synonyms[:8]) + (" …" if len(theme.synonyms) > 8 else "")
            click.echo(f"{theme.key:<16} {theme.label_nl} / {theme.label_en}  [{synonyms}]")


@themes_group.command(name="import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change without writing anything.")
@pass_cli
def themes_import(cli: CliContext, path: Path, dry_run: bool) -> None:
    """Add or update themes from a CSV/XLSX file with columns key,label_nl,label_en,synonyms.

    \b
    Examples:
      wieweet themes import themes.csv
    """
    try:
        with cli.db.session() as session:
            report = service.import_themes(
                session, path=path, actor=cli_actor(), now=datetime.now(UTC), dry_run=dry_run
            )
    except ImportFailed as exc:
        fail_import(exc)
        return
    print_report(report)


def register(group: click.Group) -> None:
    group.add_command(import_cmd)
    group.add_command(export_cmd)
    group.add_command(register_group)
    group.add_command(themes_group)
