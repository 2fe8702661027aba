"""``wieweet demo``: the fictional demo register in the configured database, then the console."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli import CliContext, operator_language, pass_cli
from bot.cli.ask_cmds import LANG_OPTION, run_console
from bot.cli.output import echo
from bot.demo import load_demo, seed_demo_questions
from bot.i18n import format_number, normalise_language, t
from storage.db_url import shown_url


@click.command(name="demo")
@click.option("--no-console", is_flag=True, help="Only load the demo register; do not open the console.")
@LANG_OPTION
@pass_cli
def demo(cli: CliContext, no_console: bool, lang: str | None) -> None:
    """Set up the fictional demo register (default ./wieweet.db) and open the "who knows" console.

    All people and practices in the demo are invented. Running it again refreshes the demo records and keeps
    anything else in the database. No Slack tokens are needed. What it prints, and the console, speak --lang, else
    WIEWEET_LANGUAGE.

    \b
    Examples:
      wieweet demo
      wieweet demo --lang en
      wieweet --database sqlite:///./try.db demo --no-console
    """
    now = datetime.now(UTC)
    with cli.open_database(create_missing=True).session() as session:
        summary = load_demo(session, now=now, zone=ZoneInfo(cli.settings.timezone))
        asked = seed_demo_questions(session, now=now)
    shown_lang = normalise_language(lang) if lang else operator_language(cli)  # --lang, else WIEWEET_LANGUAGE
    counts = {
        "experts": summary.experts_total,
        "practices": summary.practices_total,
        "experts_added": summary.experts_added,
        "practices_added": summary.practices_added,
        "answers_added": summary.answers_added,
        "asked": asked,
    }
    shown = {name: format_number(n, shown_lang) for name, n in counts.items()}
    echo(t("cli.demo_ready", shown_lang, database=shown_url(cli.settings.database_url), **shown))
    if not no_console:
        run_console(cli, lang=shown_lang)


def register(group: click.Group) -> None:
    group.add_command(demo)
