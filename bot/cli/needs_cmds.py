"""``wieweet needs`` and ``wieweet report``: the network's knowledge needs as topics, proposed work sessions,
recruiting expertise, and the steering-group report."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from babel.numbers import format_decimal

from bot.cli import EXIT_REFUSED, LANGUAGE_DEFAULT_HELP, CliContext, cli_actor, operator_language
from bot.cli.ask_cmds import open_knowledge
from bot.cli.options import parse_now
from bot.cli.output import echo
from bot.cli.wording import state
from bot.files import check_folder, replace_file
from bot.i18n import N_, format_number, local_day, locale, t, tn
from bot.needs import recruit_reasons
from bot.needs.jobs import embed_pending, group_and_propose
from bot.needs.model import (
    COVERED,
    NOT_COVERED,
    TREND_FALLING,
    TREND_NEW,
    TREND_RISING,
    TREND_STABLE,
    WEAK,
    NeedsOverview,
    ProposalView,
)
from bot.needs.periods import Period, current_quarter, parse_period
from bot.needs.report import collect_report_to_share, render_chart_png, render_html, render_xlsx
from bot.needs.service import NeedsService
from bot.privacy import record_report
from bot.register.marked import slack_said
from storage.models import ProposalStatus


def _cli(ctx: click.Context) -> CliContext:
    cli = ctx.find_object(CliContext)
    if cli is None:  # pragma: no cover - the ``wieweet`` group always sets it
        raise click.UsageError(t("cli.run_as", operator_language(None), group="needs"))
    return cli


def _period(cli: CliContext, value: str | None, now: datetime) -> Period:
    tz = cli.settings.timezone
    return parse_period(value, timezone=tz) if value else current_quarter(now, timezone=tz)


def _service(cli: CliContext) -> NeedsService:
    return NeedsService.from_settings(open_knowledge(cli), cli.settings)


def _embed(cli: CliContext, service: NeedsService, budget: float, *, quiet: bool = False) -> None:
    """Compute the meaning vectors new questions wait for (``wieweet run`` does it in the background)."""
    report = embed_pending(cli.db, service, budget_seconds=budget)
    if report.missing and not quiet:
        lang = operator_language(cli)
        count = format_number(report.missing, lang)
        echo(
            tn("cli.needs_embed_pending", "cli.needs_embed_pending_plural", report.missing, lang, count=count), err=True
        )


def _hours(value: float | None, lang: str) -> str:
    if value is None:
        return "-"
    return t("cli.needs_hours", lang, hours=format_decimal(value, format="#,##0.0", locale=locale(lang)))


COVERAGE_KEYS = {  # whether anyone in the register covers a topic (``bot.needs.model``), in the operator's words
    COVERED: N_("cli.needs_covered"),
    WEAK: N_("cli.needs_weak"),
    NOT_COVERED: N_("cli.needs_not_covered"),
}
TREND_KEYS = {
    TREND_NEW: N_("cli.needs_trend_new"),
    TREND_RISING: N_("cli.needs_trend_rising"),
    TREND_STABLE: N_("cli.needs_trend_stable"),
    TREND_FALLING: N_("cli.needs_trend_falling"),
}
# `needs`'s table: each column's header key, least width and alignment; a column is as wide as its header needs
OVERVIEW_COLUMNS = (
    ("id", N_("cli.needs_col_id"), 5, ">"),
    ("topic", N_("cli.needs_col_topic"), 44, "<"),
    ("questions", N_("cli.needs_col_questions"), 3, ">"),
    ("gaps", N_("cli.needs_col_gaps"), 3, ">"),
    ("askers", N_("cli.needs_col_askers"), 6, ">"),
    ("organisations", N_("cli.needs_col_organisations"), 3, ">"),
    ("cities", N_("cli.needs_col_cities"), 4, ">"),
    ("answered", N_("cli.needs_col_answered"), 4, ">"),
    ("median", N_("cli.needs_col_median"), 8, ">"),
    ("coverage", N_("cli.needs_col_coverage"), 9, "<"),
    ("trend", N_("cli.needs_col_trend"), 7, "<"),
    ("proposal", N_("cli.needs_col_proposal"), 0, "<"),
)


def coverage_text(coverage: str, lang: str) -> str:
    key = COVERAGE_KEYS.get(coverage)
    return t(key, lang) if key else coverage


def _row(cells: dict[str, str], widths: dict[str, int]) -> str:
    parts = []
    for name, _key, _least, align in OVERVIEW_COLUMNS:
        cell = f"{cells[name]:{align}{widths[name]}}" if widths[name] else cells[name]
        parts.append(cell + (" " if name in ("id", "median") else ""))  # wider gaps after the id and the median
    return " ".join(parts).rstrip()


def _print_overview(overview: NeedsOverview, lang: str) -> None:
    items = tn(
        "cli.needs_items", "cli.needs_items_plural", overview.items, lang, count=format_number(overview.items, lang)
    )
    count = len(overview.topics)
    topics = tn("cli.needs_topics", "cli.needs_topics_plural", count, lang, count=format_number(count, lang))
    echo(t("cli.needs_header", lang, period=overview.period, items=items, topics=topics))
    headers = {name: t(key, lang) for name, key, _least, _align in OVERVIEW_COLUMNS}
    widths = {name: max(least, len(headers[name])) if least else 0 for name, _key, least, _align in OVERVIEW_COLUMNS}
    echo(_row(headers, widths))
    for topic in overview.topics:
        label = (topic.label or t("cli.no_label_themes", lang, themes=", ".join(topic.themes) or "-"))[:44]
        trend = TREND_KEYS.get(topic.trend)
        cells = {
            "id": str(topic.id),
            "topic": label,
            "questions": format_number(topic.questions, lang),
            "gaps": format_number(topic.gaps, lang),
            "askers": format_number(topic.askers, lang),
            "organisations": format_number(topic.organisations, lang),
            "cities": format_number(topic.cities, lang),
            "answered": format_number(topic.answered, lang),
            "median": _hours(topic.median_answer_hours, lang),
            "coverage": coverage_text(topic.coverage, lang),
            "trend": t(trend, lang) if trend else topic.trend,
            "proposal": f"#{topic.proposal_id}" if topic.proposal_id else "-",
        }
        echo(_row(cells, widths))


EMBED_OPTION = click.option(
    "--embed-seconds",
    type=click.FloatRange(0, 86_400),
    default=120.0,
    show_default=True,
    help="With the meaning signal on: compute missing question vectors for at most this long first.",
)


@click.group(name="needs", invoke_without_command=True)
@click.option(
    "--period",
    "period_text",
    metavar="PERIOD",
    help="2026-Q4, 2026-11, 2026-W48 or 2026-10-01..2026-12-31 (default: this quarter).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True, help="Topics shown.")
@click.option(
    "--min",
    "min_items",
    type=click.IntRange(1, 10_000),
    default=1,
    show_default=True,
    help="Only topics with at least this many questions and gaps in the period.",
)
@EMBED_OPTION
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@click.pass_context
def needs_group(
    ctx: click.Context,
    period_text: str | None,
    as_json: bool,
    limit: int,
    min_items: int,
    embed_seconds: float,
    now_text: str | None,
) -> None:
    """The network's knowledge needs: questions and knowledge gaps grouped into topics.

    Groups the questions and gaps not placed yet (incremental; a topic keeps its number and label), then lists the
    period's topics, the most asked first: questions, gaps, distinct askers and their organisations and cities,
    answered and median time to answer, whether anyone in the register covers it (covered / weak / none), and
    the trend against the previous periods. Private and anonymous questions are counted, never quoted.

    \b
    Examples:
      wieweet needs
      wieweet needs --period 2026-Q4 --min 3
      wieweet needs --period 2026-11 --json > needs.json
      wieweet needs proposals
      wieweet needs recruit 12
      wieweet report --period 2026-Q4 report.xlsx
    """
    if ctx.invoked_subcommand is not None:
        return
    cli = _cli(ctx)
    now = parse_now(now_text)
    period = _period(cli, period_text, now)
    service = _service(cli)
    _embed(cli, service, embed_seconds, quiet=as_json)
    with cli.db.session() as session:
        overview = service.overview_after_grouping(  # placed first, committed on its own (the lock's length)
            session, actor=cli_actor(), period=period, now=now, min_items=min_items, limit=limit
        )
    if as_json:
        echo(json.dumps(overview.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_overview(overview, operator_language(cli))


def _print_proposal(p: ProposalView, tz: ZoneInfo, lang: str) -> None:
    """One proposal; its window in local days (the network's zone), as the triage post shows them."""
    start, end = local_day(p.window_start, tz), local_day(p.window_end, tz)
    label = p.label or t("cli.no_label", lang)
    questions = tn(
        "cli.needs_questions", "cli.needs_questions_plural", p.questions, lang, count=format_number(p.questions, lang)
    )
    organisations = tn(
        "cli.needs_organisations",
        "cli.needs_organisations_plural",
        p.organisations,
        lang,
        count=format_number(p.organisations, lang),
    )
    echo(
        t(
            "cli.needs_proposal",
            lang,
            id=p.id,
            status=p.status,
            topic=p.topic_id,
            label=label,
            questions=questions,
            organisations=organisations,
            window=f"{start} – {end}",
        )
    )
    for text in p.quoted:
        echo(f"    “{text}”")
    if p.not_quoted:
        n = p.not_quoted
        echo(
            "    + " + tn("cli.needs_not_quoted", "cli.needs_not_quoted_plural", n, lang, count=format_number(n, lang))
        )
    lead = ", ".join(f"{e.name} ({e.organisation})" for e in p.experts) or t("cli.needs_nobody_found", lang)
    echo("    " + t("cli.needs_lead", lang, people=lead))
    coming = ", ".join(a.name or a.slack_user_id or "?" for a in p.askers) or "-"
    echo("    " + t("cli.needs_likely_to_come", lang, people=coming))
    echo("    " + t("cli.needs_practices", lang, practices="; ".join(x.title for x in p.practices) or "-"))
    if p.channel_id or p.notes_url:
        echo("    " + t("cli.needs_channel_notes", lang, channel=p.channel_id or "-", notes=p.notes_url or "-"))


@needs_group.command(name="proposals")
@click.option(
    "--propose", is_flag=True, help="Group new questions and propose sessions for topics at the threshold now."
)
@click.option("--all", "show_all", is_flag=True, help="Also dismissed and done proposals.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@EMBED_OPTION
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@click.pass_context
def needs_proposals(
    ctx: click.Context, propose: bool, show_all: bool, as_json: bool, embed_seconds: float, now_text: str | None
) -> None:
    """Proposed work sessions: topics that reached the threshold (WIEWEET_NEEDS_MIN_ORGANISATIONS organisations in
    WIEWEET_NEEDS_WINDOW_WEEKS weeks), with the questions, who could lead it, who would likely come and practices.

    \b
    Examples:
      wieweet needs proposals
      wieweet needs proposals --propose        # propose now (the bot does this in the background)
      wieweet needs proposals --all --json
    """
    cli = _cli(ctx)
    now = parse_now(now_text)
    service = _service(cli)
    worker = f"cli:{socket.gethostname()}:{os.getpid()}"
    if propose:
        _embed(cli, service, embed_seconds, quiet=as_json)
        # as the bot's needs pass (``bot.needs.jobs``): the grouping and the proposals (a few per unit) each in units
        # of work of their own, committed, so the grouping lock (SQLite: the database's write lock) is held briefly
        # (each waits for the lock a bounded time, on SQLite and PostgreSQL alike; a wait past it stops them: what
        # was proposed is kept and said, the rest waits for the bot's next pass; exit 1 only if none was)
        created = group_and_propose(cli.db, service, now=now, worker_id=worker)
        if created.stopped:
            echo(t("cli.needs_proposals_stopped", operator_language(cli)), err=True)
    with cli.db.session() as session:
        if propose and not as_json:
            n, lang = len(created.views), operator_language(cli)
            echo(
                tn(
                    "cli.needs_new_proposals",
                    "cli.needs_new_proposals_plural",
                    n,
                    lang,
                    count=format_number(n, lang),
                )
            )
        statuses = None if show_all else [ProposalStatus.OPEN, ProposalStatus.INVITED]
        proposals = service.list_proposals(session, actor=cli_actor(), now=now, statuses=statuses)
    if as_json:
        echo(json.dumps([p.to_json() for p in proposals], ensure_ascii=False, indent=2))
    elif not proposals:
        echo(t("cli.needs_no_proposals", operator_language(cli)))
    for p in [] if as_json else proposals:
        _print_proposal(p, ZoneInfo(cli.settings.timezone), operator_language(cli))
    if propose and created.stopped and not created.views:
        ctx.exit(EXIT_REFUSED)  # nothing proposed: a script sees it (the open proposals were listed all the same)


@needs_group.command(name="dismiss")
@click.argument("proposal_id", type=int)
@click.option("--reason", default="", help="Why (kept with the proposal and in the audit log).")
@click.pass_context
def needs_dismiss(ctx: click.Context, proposal_id: int, reason: str) -> None:
    """Dismiss a proposed work session (audited).

    \b
    Examples:
      wieweet needs dismiss 3 --reason "already planned by the VVSG"
    """
    cli = _cli(ctx)
    with cli.db.session() as session:
        view = _service(cli).dismiss_proposal(
            session, actor=cli_actor(), proposal_id=proposal_id, now=datetime.now(UTC), reason=reason
        )
    lang = operator_language(cli)
    echo(t("cli.needs_dismissed", lang, id=view.id, label=view.label or t("cli.no_label", lang)))


@needs_group.command(name="done")
@click.argument("proposal_id", type=int)
@click.option("--notes", "notes_url", required=True, metavar="URL", help="Link to the session's notes.")
@click.option(
    "--summary",
    default="",
    help="The practice's summary (as in Slack's form); without it one is written from the topic and its counts.",
)
@click.pass_context
def needs_done(ctx: click.Context, proposal_id: int, notes_url: str, summary: str) -> None:
    """Mark a work session done; its notes become a practice submission waiting for approval (audited).

    \b
    Examples:
      wieweet needs done 3 --notes https://intranet.example.org/werksessie-leegstand
      wieweet needs done 3 --notes https://intranet.example.org/werksessie-leegstand --summary "What we agreed"
    """
    cli = _cli(ctx)
    with cli.db.session() as session:
        view = _service(cli).complete_proposal(
            session,
            actor=cli_actor(),
            proposal_id=proposal_id,
            notes_url=notes_url,
            summary=summary,
            now=datetime.now(UTC),
        )
    echo(t("cli.needs_done", operator_language(cli), id=view.id, practice=view.practice_id))


@needs_group.command(name="recruit")
@click.argument("topic_id", type=int)
@click.option("--ask", "ask_ids", metavar="IDS", default="", help="Comma-separated expert ids to ask by DM.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def needs_recruit(ctx: click.Context, topic_id: int, ask_ids: str, as_json: bool) -> None:
    """Who might cover a topic (people who answered related questions, contacts of related practices); with
    --ask, queue a DM asking them to add the topic to their profile (audited; once per person and topic).

    \b
    Examples:
      wieweet needs recruit 12
      wieweet needs recruit 12 --ask 41,57
      wieweet needs recruit 12 --ask 41,57 --json
    """
    cli = _cli(ctx)
    service = _service(cli)
    now = datetime.now(UTC)
    lang = operator_language(cli)
    with cli.db.session() as session:
        if ask_ids:
            try:
                ids = [int(x) for x in ask_ids.replace(";", ",").split(",") if x.strip()]
            except ValueError as exc:
                raise click.BadParameter(t("cli.ask_ids_numbers", lang), param_hint="--ask") from exc
            requests = service.ask_to_add_expertise(
                session, actor=cli_actor(), topic_id=topic_id, expert_ids=ids, now=now
            )
            if as_json:  # each person, as stored: queued or not, and the code of why they cannot be reached
                echo(json.dumps([asdict(r) for r in requests], ensure_ascii=False, indent=2))
                return
            for r in requests:
                if r.unreachable:  # Slack cannot reach them (bot.needs.recruiting): not asked again
                    why = slack_said(r.unreachable, lang)  # what Slack said, in words, not its error key
                    echo(t("cli.recruit_unreachable", lang, user=r.slack_user_id, why=why))
                else:
                    echo(t("cli.needs_asked" if r.queued else "cli.needs_asked_before", lang, user=r.slack_user_id))
            return
        plan = service.recruiting(session, actor=cli_actor(), topic_id=topic_id, now=now)
    if as_json:
        echo(json.dumps(asdict(plan), ensure_ascii=False, indent=2))
        return
    label, coverage = plan.label or t("cli.no_label", lang), coverage_text(plan.coverage, lang)
    echo(t("cli.needs_recruit_topic", lang, topic=plan.topic_id, label=label, coverage=coverage))
    if not plan.candidates:
        echo(t("cli.needs_nobody_to_suggest", lang))
    for c in plan.candidates:
        slack = c.slack_user_id or t("cli.needs_no_slack", lang)
        echo(f"  {c.expert_id:>5}  {c.name} ({c.organisation}, {slack}) — {_reason(c.reason, lang)}")


def _reason(reason: str, lang: str) -> str:
    """Why someone is suggested, in the operator's words with the stored code beside it ("beantwoordde (answered):
    <question>"); a reason without a known code as stored."""
    code, detail = recruit_reasons.parse(reason)
    if not code:
        return reason
    shown = state(t(recruit_reasons.REASON_KEYS[code], lang), code)
    return f"{shown}: {detail}" if detail else shown


@click.command(name="report")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--period",
    "period_text",
    metavar="PERIOD",
    help="2026-Q4, 2026-11, 2026-W48 or 2026-10-01..2026-12-31 (default: this quarter).",
)
@click.option(
    "--lang", type=click.Choice(["nl", "en"]), default=None, help=f"Language of the report ({LANGUAGE_DEFAULT_HELP})."
)
@EMBED_OPTION
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@click.pass_context
def report_command(
    ctx: click.Context,
    output: Path,
    period_text: str | None,
    lang: str | None,
    embed_seconds: float,
    now_text: str | None,
) -> None:
    """Write the period's report for the steering group: .xlsx (with Excel charts), .html (with chart images) or
    .png (one chart).

    Questions per theme per month, answered share and median time to answer (the digest's definitions; public
    figures equal the digest's), topics with and without expertise, the most helpful experts (only people who
    consented to be listed) and organisations, practices added and how often they were shown.

    \b
    Examples:
      wieweet report --period 2026-Q4 report.xlsx
      wieweet report --period 2026-11 --lang en report.html
      wieweet report --period 2026-W48 chart.png
    """
    cli = _cli(ctx)
    suffix = output.suffix.lower()
    if suffix not in {".xlsx", ".html", ".htm", ".png"}:
        raise click.BadParameter(t("cli.report_suffix", operator_language(cli)), param_hint="OUTPUT")
    check_folder(output)  # before the slow part: a mistyped folder fails at once
    now = parse_now(now_text)
    period = _period(cli, period_text, now)
    language = lang or cli.settings.default_language
    service = _service(cli)
    _embed(cli, service, embed_seconds)
    render = {".xlsx": render_xlsx, ".png": render_chart_png}.get(suffix, render_html)
    with cli.db.session() as session:
        data = collect_report_to_share(  # read again before it is written: an erasure or a "stop" meanwhile
            session, database=cli.db, service=service, actor=cli_actor(), period=period, now=now, lang=language
        )
        # audited at the real time (``--now`` only sets the period); the row commits only once the file is there
        record_report(session, actor=cli_actor(), report=data, now=datetime.now(UTC))
        replace_file(output, render(data, lang=language))  # complete or not at all: never a truncated report
    without = sum(1 for topic in data.topics if topic.coverage != COVERED)
    ui, count = operator_language(cli), len(data.topics)
    echo(
        t(
            "cli.needs_report_written",
            ui,
            file=output,
            period=data.period,
            asked=tn(
                "cli.needs_asked_count",
                "cli.needs_asked_count_plural",
                data.asked,
                ui,
                count=format_number(data.asked, ui),
            ),
            answered=format_number(data.answered, ui),
            topics=tn("cli.needs_topics", "cli.needs_topics_plural", count, ui, count=format_number(count, ui)),
            without=format_number(without, ui),
        )
    )


def register(group: click.Group) -> None:
    group.add_command(needs_group)
    group.add_command(report_command)
