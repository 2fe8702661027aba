"""``wieweet ask`` and ``wieweet console``: "who knows" without Slack."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO

import click

from bot.cli import CliContext, pass_cli
from bot.error_texts import error_text
from bot.errors import QueryError
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language, t
from bot.knowledge import KnowledgeBase
from bot.presenter import build_answer_view, render_text, result_to_json

LANG_OPTION = click.option(
    "--lang", type=click.Choice(LANGUAGES), default=None, help=f"Language of the answer (default: {DEFAULT_LANGUAGE})."
)


def query_error_text(exc: QueryError, lang: str) -> str:
    return error_text(exc, lang) or t("query.error", lang) + f" ({exc.message})"


def open_knowledge(cli: CliContext) -> KnowledgeBase:
    kb = KnowledgeBase(
        cli.db,
        timezone=cli.settings.timezone,
        reconfirm_days=cli.settings.reconfirm_days,
        semantic=cli.settings.semantic,
    )
    kb.load()
    return kb


@click.command(name="ask")
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (JSON Lines when reading queries from stdin).")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True, help="Results per list.")
@click.option("--no-gap", is_flag=True, help="Do not record unmatched queries as knowledge gaps (for evaluations).")
@LANG_OPTION
@pass_cli
def ask(cli: CliContext, query: str | None, as_json: bool, limit: int, no_gap: bool, lang: str | None) -> None:
    """Ask who knows about a topic: experts, practices and earlier answers, with the reasons they matched.

    With no QUERY, reads one query per line from standard input and answers each line as soon as it arrives (with
    --json: one JSON object per line). With --json, ``took_ms`` is how long the answer took, in milliseconds.

    \b
    Examples:
      wieweet ask "wie weet iets over leegstandsheffing op winkelpanden?"
      wieweet ask --lang en "who knows about EU funding for housing?"
      wieweet ask --json --limit 3 "wijkwerking Gent"
      wieweet ask --json --no-gap < queries.txt > answers.jsonl
    """
    language = normalise_language(lang or cli.settings.default_language)
    kb = open_knowledge(cli)
    # from stdin: each line is answered as soon as it arrives (a pipe, not a batch)
    queries: Iterable[str] = [query] if query is not None else (line.rstrip("\r\n") for line in _lines(sys.stdin))
    asked = failures = 0
    for text in queries:
        if query is None and not text.strip():
            continue
        asked += 1
        started = time.perf_counter()
        try:
            with cli.db.session() as session:
                outcome = kb.ask(
                    session, query=text, now=datetime.now(UTC), limit=limit, source="cli", record_gap=not no_gap
                )
        except QueryError as exc:
            failures += 1
            message = query_error_text(exc, language)
            if as_json:
                took = _took_ms(started)
                line = {"query": text, "error": exc.code, "message": message, "took_ms": took}
                click.echo(json.dumps(line, ensure_ascii=False))
            else:
                click.echo(f"error: {message}", err=True)
            sys.stdout.flush()
            continue
        if as_json:
            data = result_to_json(outcome.result, limit=limit, lang=language)
            data["took_ms"] = _took_ms(started)  # search, gap record and search log, in milliseconds
            click.echo(json.dumps(data, ensure_ascii=False))
        else:
            if query is None and asked > 1:
                click.echo("")
            click.echo(render_text(build_answer_view(outcome.result, lang=language, limit=limit)))
        sys.stdout.flush()
    if failures and (query is not None or failures == asked):
        raise SystemExit(2)


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` as they arrive (``readline``: no read-ahead waiting for more input)."""
    return iter(stream.readline, "")


def _took_ms(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 1)


CONSOLE_COMMANDS = (":nl", ":en", ":help", ":quit")


def run_console(cli: CliContext, *, lang: str, kb: KnowledgeBase | None = None) -> None:
    """The interactive prompt: type questions as in Slack, see the answers as in chat."""
    kb = kb or open_knowledge(cli)
    interactive = sys.stdin.isatty()
    click.echo(t("console.welcome", lang))
    while True:
        try:
            line = input("wieweet> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            click.echo("")
            break
        text = line.strip()
        if not text:
            continue
        if text in {":q", ":quit", ":exit", "exit", "quit"}:
            break
        if text.startswith(":") and text[1:] in LANGUAGES:
            lang = text[1:]
            click.echo(t("console.lang", lang))
            continue
        if text in {":help", "?"}:
            click.echo(t("console.welcome", lang))
            continue
        if text.startswith(":") and len(text.split()) == 1:  # a mistyped command is not a question
            click.echo(f"unknown command {text} (nothing searched); the commands are {', '.join(CONSOLE_COMMANDS)}")
            continue
        if not interactive:
            click.echo(f"wieweet> {text}")
        try:
            with cli.db.session() as session:
                outcome = kb.ask(session, query=text, now=datetime.now(UTC), source="console")
        except QueryError as exc:
            click.echo(query_error_text(exc, lang))
            continue
        click.echo(render_text(build_answer_view(outcome.result, lang=lang, limit=3)))
        click.echo("")
    click.echo(t("console.bye", lang))


@click.command(name="console")
@LANG_OPTION
@pass_cli
def console(cli: CliContext, lang: str | None) -> None:
    """Interactive "who knows" prompt: the main job without Slack, answers rendered as in chat.

    \b
    Examples:
      wieweet console
      wieweet console --lang en
      echo "wie weet iets over wijkwerking?" | wieweet console
    """
    run_console(cli, lang=normalise_language(lang or cli.settings.default_language))


def register(group: click.Group) -> None:
    group.add_command(ask)
    group.add_command(console)
