"""``wieweet ask`` and ``wieweet console``: "who knows" without Slack."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

import click

from bot.cli import LANGUAGE_DEFAULT_HELP, CliContext, pass_cli
from bot.cli.output import echo
from bot.error_texts import error_text
from bot.errors import QueryError
from bot.i18n import LANGUAGES, normalise_language, t
from bot.knowledge import BackgroundEmbedding, KnowledgeBase
from bot.matching.results import SearchResult
from bot.presenter import build_answer_view, render_text, result_to_json
from bot.text import drop_controls

LANG_OPTION = click.option(
    "--lang", type=click.Choice(LANGUAGES), default=None, help=f"Language of the answer ({LANGUAGE_DEFAULT_HELP})."
)


def query_error_text(exc: QueryError, lang: str) -> str:
    return error_text(exc, lang) or t("query.error", lang) + f" ({exc.message})"


def read_undecodable_too(stream: TextIO) -> None:
    """Read ``stream`` (standard input) so that a line with bytes that are not text in its encoding (a file in
    Latin-1 piped in, a cut UTF-8 character) arrives as that line with each such byte kept as a lone surrogate, as
    Python reads the command's arguments, instead of ending the command with a traceback (a strict UTF-8 locale) or
    reaching the database (where it fails). ``not_text`` then refuses that one line and the lines after it are still
    read and answered."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="surrogateescape")


def not_text(text: str) -> QueryError | None:
    """The refusal of a query holding bytes that are not text (a lone surrogate: an undecodable byte of an argument
    or of a line read by ``read_undecodable_too``); None for text. The message names the first such byte."""
    bad = next((ord(c) for c in text if 0xD800 <= ord(c) <= 0xDFFF), None)
    if bad is None:
        return None
    shown = f"0x{bad - 0xDC00:02X}" if 0xDC80 <= bad <= 0xDCFF else f"U+{bad:04X}"
    return QueryError("not_text", "the query holds bytes that are not text", values={"byte": shown})


def shown_query(text: str) -> str:
    """``text`` as it can be printed: each undecodable byte (a lone surrogate) as U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def open_knowledge(cli: CliContext) -> KnowledgeBase:
    kb = KnowledgeBase(
        cli.db,
        timezone=cli.settings.timezone,
        reconfirm_days=cli.settings.reconfirm_days,
        semantic=cli.settings.semantic,
        gap_levels=cli.settings.gap_levels,
        theme_names_once=cli.settings.theme_names_once,
    )
    kb.load()
    cli.closing.append(kb.close)  # when the command ends (``CliContext.close``)
    return kb


@click.command(name="ask")
@click.argument("query", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (JSON Lines when reading queries from stdin).")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True, help="Results per list.")
@click.option(
    "--gap/--no-gap",
    "record_gap",
    default=False,
    help="Record the query as a member's question (staff typing it in): its search is logged and counted in the "
    "report, and when nobody fits it is a knowledge gap (counted in needs and reports, never shown in a digest). "
    "Default: nothing is recorded, so trying queries leaves nothing behind.",
)
@LANG_OPTION
@pass_cli
def ask(cli: CliContext, query: str | None, as_json: bool, limit: int, record_gap: bool, lang: str | None) -> None:
    """Ask who knows about a topic: experts, practices and earlier answers, with the reasons they matched.

    With no QUERY, reads one query per line from standard input and answers each line as soon as it arrives (with
    --json: one JSON object per line). With --json, `gap` says nobody fits, `gap_recorded` whether it was recorded
    as a knowledge gap (--gap), and `took_ms` is how long the answer took, in milliseconds. A line that is not
    UTF-8 text is refused like any query that cannot be searched (an error line), and the next lines are answered.

    \b
    Examples:
      wieweet ask "wie weet iets over leegstandsheffing op winkelpanden?"
      wieweet ask --lang en "who knows about EU funding for housing?"
      wieweet ask --json --limit 3 "wijkwerking Gent"
      wieweet ask --json < queries.txt > answers.jsonl
      wieweet ask --gap "wie weet iets over bijenkasten op daken?"   # a member's question by phone: a gap
    """
    language = normalise_language(lang or cli.settings.default_language)
    kb = open_knowledge(cli)
    if query is None:
        read_undecodable_too(sys.stdin)
    # from stdin: each line is answered as soon as it arrives (a pipe, not a batch)
    queries: Iterable[str] = [query] if query is not None else (line.rstrip("\r\n") for line in _lines(sys.stdin))
    asked = failures = 0
    for text in queries:
        if query is None and not text.strip():
            continue
        asked += 1
        started = time.perf_counter()
        try:
            if (refused := not_text(text)) is not None:
                raise refused
            result, recorded = _answer(cli, kb, text, limit=limit, record=record_gap)
        except QueryError as exc:
            failures += 1
            message = query_error_text(exc, language)
            if as_json:
                took = _took_ms(started)
                line = {"query": shown_query(text), "error": exc.code, "message": message, "took_ms": took}
                echo(json.dumps(line, ensure_ascii=False))
            else:
                echo(f"error: {message}", err=True)
            sys.stdout.flush()
            continue
        if as_json:
            data = result_to_json(result, limit=limit, lang=language, gap_recorded=recorded)
            data["took_ms"] = _took_ms(started)  # search (and with --gap what is recorded), in milliseconds
            echo(json.dumps(data, ensure_ascii=False))
        else:
            if query is None and asked > 1:
                echo("")
            zone = ZoneInfo(cli.settings.timezone)  # the days shown are the network's
            view = build_answer_view(result, lang=language, limit=limit, gap_recorded=recorded, tz=zone)
            echo(render_text(view))
        sys.stdout.flush()
    if failures and (query is not None or failures == asked):
        raise SystemExit(2)


def _answer(cli: CliContext, kb: KnowledgeBase, text: str, *, limit: int, record: bool) -> tuple[SearchResult, bool]:
    """The answer to ``text`` and whether a knowledge gap was recorded. Only ``record`` (``--gap``: a member's
    question) writes: the search log (counted in the report) and, when nobody fits, the knowledge gap. Otherwise
    the query is only searched and nothing is written, so trying queries leaves nothing behind and works on a
    database this user may only read. (Slack's answers are always logged: their buttons refer to the log.)"""
    if not record:
        return kb.search(text, now=datetime.now(UTC), limit=limit), False
    with cli.db.session() as session:
        outcome = kb.ask(session, query=text, now=datetime.now(UTC), limit=limit, source="cli", record_gap=True)
    return outcome.result, outcome.gap_id is not None


def _lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` as they arrive (``readline``: no read-ahead waiting for more input), without control
    characters (``drop_controls``, as the command's arguments)."""
    return (drop_controls(line) for line in iter(stream.readline, ""))


def _took_ms(started: float) -> float:
    return round(1000 * (time.perf_counter() - started), 1)


CONSOLE_COMMANDS = (":nl", ":en", ":help", ":quit")


def run_console(
    cli: CliContext, *, lang: str, kb: KnowledgeBase | None = None, fill_vectors: bool | None = None
) -> None:
    """The interactive prompt: type questions as in Slack, see the answers as in chat.

    With the meaning signal on and ``fill_vectors`` (default: when typing at a terminal), the vectors the database
    lacks are computed in the background while the prompt waits for the next question — never before the first
    answer, never while a question is answered — and stored, so the next start has them (a console has no job
    runner; see :class:`bot.knowledge.BackgroundEmbedding`)."""
    kb = kb or open_knowledge(cli)
    interactive = sys.stdin.isatty()
    read_undecodable_too(sys.stdin)
    filler = BackgroundEmbedding(kb) if (interactive if fill_vectors is None else fill_vectors) else None
    try:
        _console_loop(cli, kb, lang, interactive, filler)
    finally:
        if filler is not None:
            filler.stop()


def _read_question(interactive: bool, filler: BackgroundEmbedding | None) -> str | None:
    """The next line typed (stripped), or None at the end of input; the filler works only while we wait."""
    if filler is not None and filler.started:  # waiting for a question: the filler may work
        filler.idle()
    try:
        return drop_controls(input("wieweet> " if interactive else "")).strip()
    except (EOFError, KeyboardInterrupt):
        echo("")
        return None
    finally:
        if filler is not None:
            filler.busy()


def _console_command(text: str, lang: str) -> str | None:
    """Handle a ``:command`` line: the language to go on with, or None when ``text`` is not a command."""
    if text.startswith(":") and text[1:] in LANGUAGES:
        echo(t("console.lang", text[1:]))
        return text[1:]
    if text in {":help", "?"}:
        echo(t("console.welcome", lang))
        return lang
    if text.startswith(":") and len(text.split()) == 1:  # a mistyped command is not a question
        echo(f"unknown command {text} (nothing searched); the commands are {', '.join(CONSOLE_COMMANDS)}")
        return lang
    return None


def _console_loop(
    cli: CliContext, kb: KnowledgeBase, lang: str, interactive: bool, filler: BackgroundEmbedding | None
) -> None:
    echo(t("console.welcome", lang))
    while (text := _read_question(interactive, filler)) is not None:
        if not text:
            continue
        if text in {":q", ":quit", ":exit", "exit", "quit"}:
            break
        if (command_lang := _console_command(text, lang)) is not None:
            lang = command_lang
            continue
        if (refused := not_text(text)) is not None:
            echo(query_error_text(refused, lang))
            continue
        if not interactive:
            echo(f"wieweet> {text}")
        try:
            # trying queries at the console records nothing (``wieweet ask --gap`` records a member's question)
            result, _ = _answer(cli, kb, text, limit=3, record=False)
        except QueryError as exc:
            echo(query_error_text(exc, lang))
            continue
        view = build_answer_view(result, lang=lang, limit=3, gap_recorded=False, tz=ZoneInfo(cli.settings.timezone))
        echo(render_text(view))
        echo("")
        if filler is not None:  # from the first answer on, the wait for the next question fills vectors
            filler.start()
    echo(t("console.bye", lang))


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
