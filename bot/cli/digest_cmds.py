"""``wieweet digest``: preview, send and subscribe the weekly theme digests."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli import EXIT_REFUSED, LANGUAGE_DEFAULT_HELP, CliContext, cli_actor, operator_language, os_account
from bot.cli.options import parse_now
from bot.cli.output import echo
from bot.cli.queued_cmds import digest_state_text
from bot.cli.wording import local_time, schedule
from bot.errors import ConfigError, NotFoundError, Problem
from bot.i18n import LANGUAGES, N_, format_number, normalise_language, t, tn
from bot.register.themes import ensure_default_themes
from bot.text import shown_text, shown_value
from digests.errors import ServiceUnreachableError
from digests.period import parse_period
from digests.restored import mark_posted
from digests.schedule import digest_window, next_run_time
from digests.sender import SendResult, SendStatus
from digests.subscriptions import (
    list_subscriptions,
    parse_time,
    parse_weekday,
    subscribe,
    unsubscribe,
    validate_channel,
)
from handlers.blocks.digest_text import render_digest_text
from handlers.digest_post import preview_digest
from storage import digest_repo


def _cli(ctx: click.Context) -> CliContext:
    cli = ctx.find_object(CliContext)
    if cli is None:  # pragma: no cover - the ``wieweet`` group always sets it
        raise click.UsageError(t("cli.run_as", operator_language(None), group="digest"))
    return cli


def _split(values: str | None) -> list[str]:
    return [v.strip() for v in (values or "").replace(";", ",").split(",") if v.strip()]


def _worker_id() -> str:
    return f"cli:{socket.gethostname()}:{os.getpid()}"[:64]


def _zone(cli: CliContext) -> ZoneInfo:
    """The network's time zone (``WIEWEET_TIMEZONE``): schedules and windows are in it."""
    return ZoneInfo(cli.settings.timezone)


def _zone_name(tz: ZoneInfo) -> str:
    """``Brussels`` for Europe/Brussels: how the output names the zone times are in."""
    return tz.key.rsplit("/", 1)[-1].replace("_", " ")


@click.group(name="digest", invoke_without_command=True)
@click.option("--channel", metavar="CHANNEL", help="Slack channel id (its subscription gives themes and language).")
@click.option("--week", metavar="YYYY-Www", help="ISO week the digest is sent in (default: this week).")
@click.option("--dry-run", is_flag=True, help="Print the digest instead of posting it.")
@click.option(
    "--send-due",
    is_flag=True,
    help="Post every digest that is due now (needs SLACK_BOT_TOKEN); exit 1 when one failed.",
)
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help="Language of the preview.")
@click.option("--themes", metavar="KEYS", help="Comma-separated theme keys or labels for the preview.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With --dry-run: the Block Kit messages as JSON. With --send-due: one JSON object per digest (JSON Lines).",
)
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@click.pass_context
def digest_group(
    ctx: click.Context,
    channel: str | None,
    week: str | None,
    dry_run: bool,
    send_due: bool,
    lang: str | None,
    themes: str | None,
    as_json: bool,
    now_text: str | None,
) -> None:
    """Weekly theme digests: what is new per theme, posted once a week in subscribed channels.

    A digest sent in ISO week W covers the week up to its scheduled time in W: practices added or updated,
    questions answered, open questions looking for expertise, new experts, knowledge gaps and the figures against
    the previous week. Only public content appears. Times are in WIEWEET_TIMEZONE (default Europe/Brussels).
    --send-due prints a line per digest: channel, week, the status code in brackets (the third field in every
    language: "[failed]", "[error]", "[retry]", "[sent]" …), then the outcome in words; it exits 1 when a digest
    failed (not for one tried again later or left to another process). With Slack out of reach (no connection, no
    answer in time, an answer that is not Slack's) it stops with one line, "error: cannot reach Slack at …", and exits
    2, as every command that needs Slack: nothing is marked sent or failed, the next run sends them.
    --send-due --json prints one JSON object per
    line instead: channel, week, status (the same codes), parts_posted, parts_total, resumed, error (the error
    recorded on the run, as the line says it: "PermanentPostError: not_in_channel"), slack_error (Slack's bare code:
    "not_in_channel") and method (the Slack call refused: "chat.postMessage", or "conversations.info", the look-up
    before the post; also for an error not sorted, "internal_error" or a code unknown, tried again later); both null
    when Slack was not asked or refused nothing (a digest held without asking, because Slack refused the pass's first
    posts: its error says "not asked"; no answer in time).

    \b
    Examples:
      wieweet digest --channel C0123ABCD --week 2026-W48 --dry-run
      wieweet digest --dry-run --themes wonen,europa --lang en
      wieweet digest --dry-run --json --channel C0123ABCD > blocks.json
      SLACK_BOT_TOKEN=xoxb-… wieweet digest --send-due
      SLACK_BOT_TOKEN=xoxb-… wieweet digest --send-due --json >> digests.jsonl
      wieweet digest subscribe --channel C0123ABCD --themes wonen,europa --day mon --time 09:00
      wieweet digest unsubscribe --channel C0123ABCD
      wieweet digest list
    """
    if ctx.invoked_subcommand is not None:
        return
    cli = _cli(ctx)
    now = parse_now(now_text)
    if send_due and dry_run:
        raise click.UsageError(t("cli.dry_run_or_send_due", operator_language(cli)))
    if send_due:
        if _send_due(cli, now=now, as_json=as_json):
            ctx.exit(EXIT_REFUSED)  # a digest failed: cron's monitor sees it without reading the lines
    elif dry_run:
        _preview(cli, channel=channel, week=week, lang=lang, themes=themes, as_json=as_json, now=now)
    else:
        echo(ctx.get_help())


def _preview(
    cli: CliContext,
    *,
    channel: str | None,
    week: str | None,
    lang: str | None,
    themes: str | None,
    as_json: bool,
    now: datetime,
) -> None:
    preview = preview_digest(
        cli.db,
        channel_id=channel,
        now=now,
        default_language=cli.settings.default_language,
        tz=_zone(cli),
        week=week,
        lang=lang,
        themes=_split(themes) if themes is not None else None,
        mentions=as_json,  # Block Kit (for Slack) mentions people; text output names them
    )
    view, period, messages = preview.view, preview.period, preview.messages
    if as_json:
        echo(json.dumps([[b.to_dict() for b in m] for m in messages], ensure_ascii=False, indent=2))
        return
    tz, ui = _zone(cli), operator_language(cli)
    start, end = digest_window(view, period, tz)
    echo(render_digest_text(messages), nl=False)
    # What was previewed goes to stderr: stdout is the digest as people would read it, nothing Slack-only in it.
    source = t("cli.digest_as_for", ui, channel=view.channel_id) if channel else t("cli.digest_all_themes", ui)
    count = tn(
        "cli.digest_messages", "cli.digest_messages_plural", len(messages), ui, count=format_number(len(messages), ui)
    )
    window = f"{local_time(start, tz)} – {local_time(end, tz)} {_zone_name(tz)}"
    echo(t("cli.digest_dry_run", ui, period=period, window=window, source=source, messages=count), err=True)


SEND_STATUS_KEYS = {  # a send's outcome (``SendStatus``), in the operator's words; its code is printed before them
    SendStatus.SENT: N_("cli.digest_sent"),
    SendStatus.EMPTY: N_("cli.digest_empty"),
    SendStatus.FAILED: N_("cli.digest_failed"),
    SendStatus.SKIPPED: N_("cli.digest_skipped"),
    SendStatus.RETRY: N_("cli.digest_retry"),
    SendStatus.LOST_CLAIM: N_("cli.digest_lost_claim"),
    SendStatus.NO_SUBSCRIPTION: N_("cli.digest_no_subscription"),
    SendStatus.ERROR: N_("cli.digest_error"),
}
SEND_FAILED = frozenset({SendStatus.FAILED, SendStatus.ERROR})  # `--send-due` exits 1: not retried, or a bug


def describe_send(result: SendResult, lang: str) -> str:
    """A line of ``digest --send-due``: "C0123ABCD 2026-W50 [failed] mislukt (0 van 2 delen gepost): not_in_channel".
    One layout whatever ``WIEWEET_LANGUAGE`` is: the channel, the week, the status code (``SendStatus``) in
    brackets, then the outcome in the operator's words: a script or a monitor greps ``[failed]`` or reads the third
    field in every language."""
    key = SEND_STATUS_KEYS.get(result.status)
    code = result.status.value
    text = f"{result.channel_id} {result.period} [{code}] {t(key, lang) if key else code}"
    if result.parts_total:
        parts = tn(
            "cli.digest_parts",
            "cli.digest_parts_plural",
            result.parts_total,
            lang,
            posted=format_number(result.parts_posted, lang),
            count=format_number(result.parts_total, lang),
        )
        text += f" ({parts}{t('cli.digest_resumed', lang) if result.resumed else ''})"
    if result.error:
        text += f": {result.error}"
    return text


def send_failed(results: list[SendResult]) -> bool:
    """Whether a digest of the pass failed (``--send-due`` exits 1): one given up for the week, or one that could not
    be built. One tried again later, or left to (taken over by) another process, is no failure."""
    return any(result.status in SEND_FAILED for result in results)


def send_json(result: SendResult) -> dict[str, object]:
    """A line of ``digest --send-due --json``: what ``describe_send`` says, as values (``status``: the code in its
    brackets; ``error``: the error recorded on the run, "" when none; ``slack_error`` and ``method``: Slack's bare
    code and the call it refused, None when Slack was not asked or refused nothing; printable, masked)."""
    refused = result.refused
    return {
        "channel": result.channel_id,
        "week": result.period,
        "status": result.status.value,
        "parts_posted": result.parts_posted,
        "parts_total": result.parts_total,
        "resumed": result.resumed,
        "error": result.error,
        "slack_error": shown_text(refused.error) if refused is not None else None,
        "method": shown_text(refused.method) if refused is not None else None,
    }


def _send_due(cli: CliContext, *, now: datetime, as_json: bool = False) -> bool:
    """Post what is due, a line each (``as_json``: a JSON object each, nothing when none is due); whether a digest
    failed."""
    settings = cli.settings
    if not settings.slack_bot_token:
        english = "set SLACK_BOT_TOKEN to the app's bot token (xoxb-…) to send digests"
        raise ConfigError("missing_token", Problem(english, "setting_no_token_digest"))
    from handlers.app import create_web_client  # noqa: PLC0415 (the Web API client only when sending)
    from handlers.channels import ChannelDirectory  # noqa: PLC0415
    from handlers.digest_post import due_digests_poster  # noqa: PLC0415
    from handlers.slack_settings import check_bot_token  # noqa: PLC0415

    check_bot_token(settings)  # a malformed token refused as `wieweet run` does, before a call quotes it

    post_due = due_digests_poster(cli.db, create_web_client(settings), ChannelDirectory(), tz=_zone(cli))
    lang = operator_language(cli)
    try:
        results = post_due(now, _worker_id())
    except ServiceUnreachableError as exc:  # the pass stopped: what went out before, then the one line (exit 2)
        for result in exc.results:
            echo(json.dumps(send_json(result), ensure_ascii=False) if as_json else describe_send(result, lang))
        raise exc.said from exc
    if as_json:
        for result in results:
            echo(json.dumps(send_json(result), ensure_ascii=False))
        return send_failed(results)
    if not results:
        echo(t("cli.digest_none_due", lang))
    for result in results:
        echo(describe_send(result, lang))
    return send_failed(results)


@digest_group.command(name="subscribe")
@click.option("--channel", required=True, metavar="CHANNEL", help="Slack channel id, e.g. C0123ABCD.")
@click.option("--themes", metavar="KEYS", default="", help="Comma-separated theme keys or labels (default: all).")
@click.option("--day", default="mon", show_default=True, help="Weekday: mon … sun (or ma … zo).")
@click.option("--time", "time_text", default="09:00", show_default=True, help="Time, HH:MM (WIEWEET_TIMEZONE).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, help=f"Language ({LANGUAGE_DEFAULT_HELP}).")
@click.option("--post-empty", is_flag=True, help="Also post in a week without news.")
@click.option("--private", "is_private", is_flag=True, help="The channel is private (content stays public-only).")
@click.pass_context
def digest_subscribe(
    ctx: click.Context,
    channel: str,
    themes: str,
    day: str,
    time_text: str,
    lang: str | None,
    post_empty: bool,
    is_private: bool,
) -> None:
    """Subscribe a channel to the weekly digest (or change its subscription).

    \b
    Examples:
      wieweet digest subscribe --channel C0123ABCD
      wieweet digest subscribe --channel C0123ABCD --themes wonen,europa --day fri --time 16:00 --lang en
    """
    cli = _cli(ctx)
    weekday = parse_weekday(day)
    hour, minute = parse_time(time_text)
    now = datetime.now(UTC)
    with cli.open_database(create_missing=True).session() as session:
        ensure_default_themes(session, now=now)
        subscription = subscribe(
            session,
            channel_id=channel,
            channel_is_private=is_private,
            themes=_split(themes),
            weekday=weekday,
            hour=hour,
            minute=minute,
            language=lang or normalise_language(cli.settings.default_language),
            post_empty=post_empty,
            created_by=f"cli:{os_account()}"[:32],
            now=now,
        )
        ui = operator_language(cli)
        keys = ", ".join(subscription.themes) or t("cli.digest_all_themes", ui)
        tz = _zone(cli)
        upcoming = next_run_time(subscription, after=now, tz=tz)
        echo(
            t(
                "cli.digest_subscribed",
                ui,
                channel=subscription.channel_id,
                themes=keys,
                schedule=f"{schedule(weekday, hour, minute, ui)} {_zone_name(tz)}",
                language=subscription.language,
                next=local_time(upcoming, tz),
            )
        )


@digest_group.command(name="unsubscribe")
@click.option("--channel", required=True, metavar="CHANNEL", help="Slack channel id.")
@click.pass_context
def digest_unsubscribe(ctx: click.Context, channel: str) -> None:
    """Stop a channel's weekly digest.

    \b
    Examples:
      wieweet digest unsubscribe --channel C0123ABCD
    """
    cli = _cli(ctx)
    with cli.db.session() as session:
        if not unsubscribe(session, channel_id=channel, now=datetime.now(UTC), actor=cli_actor().audit_label):
            shown = shown_value(channel)
            english = f"{shown} has no active digest subscription"
            raise NotFoundError("not_subscribed", Problem(english, "digest_not_subscribed", {"channel": shown}))
    echo(t("cli.digest_unsubscribed", operator_language(cli), channel=validate_channel(channel)))


@digest_group.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="Also inactive subscriptions.")
@click.pass_context
def digest_list(ctx: click.Context, show_all: bool) -> None:
    """List the digest subscriptions with their next run and last run.

    \b
    Examples:
      wieweet digest list
      wieweet digest list --all
    """
    cli = _cli(ctx)
    now, tz, lang = datetime.now(UTC), _zone(cli), operator_language(cli)
    col = {name: t(key, lang) for name, key in LIST_COLUMN_KEYS.items()}  # the table's headers, in the operator's words
    yes, no = t("cli.yes", lang), t("cli.no", lang)
    with cli.db.session() as session:
        subscriptions = list_subscriptions(session, active_only=not show_all)
        runs = digest_repo.get_latest_digest_runs(session, channel_ids=[s.channel_id for s in subscriptions])
        upcoming_header = t("cli.col_next_run", lang, zone=_zone_name(tz))
        echo(
            f"{col['channel']:<14} {col['themes']:<28} {col['schedule']:<10} {col['lang']:<4} {col['empty']:<5} "
            f"{col['active']:<6} {upcoming_header:<19}  {col['last_run']}"
        )
        for s in subscriptions:
            run = runs.get(s.channel_id)
            state = digest_state_text(run.status.value, lang) if run else ""
            sent = f"{format_number(len(run.parts_sent), lang)}/{format_number(run.parts_total, lang)}" if run else ""
            last = f"{run.period} {state} ({sent})" if run else "-"
            upcoming = local_time(next_run_time(s, after=now, tz=tz), tz) if s.active else "-"
            themes = ",".join(s.themes) or t("cli.digest_all", lang)
            when = schedule(s.weekday, s.hour, s.minute, lang, short=True)
            echo(
                f"{s.channel_id:<14} {themes:<28} {when:<10} {s.language:<4} "
                f"{yes if s.post_empty else no:<5} {yes if s.active else no:<6} {upcoming:<19}  {last}"
            )
        count = len(subscriptions)
        echo(
            tn(
                "cli.digest_subscriptions",
                "cli.digest_subscriptions_plural",
                count,
                lang,
                count=format_number(count, lang),
            )
        )


LIST_COLUMN_KEYS = {  # the headers of `digest list`'s table
    "channel": N_("cli.col_channel"),
    "themes": N_("cli.col_themes"),
    "schedule": N_("cli.col_schedule"),
    "lang": N_("cli.col_lang"),
    "empty": N_("cli.col_empty"),
    "active": N_("cli.col_active"),
    "last_run": N_("cli.col_last_run"),
}


@digest_group.command(name="mark-posted")
@click.option("--week", required=True, metavar="YYYY-Www", help="The ISO week whose digest went out.")
@click.option("--channel", metavar="CHANNEL", help="Only this channel (default: every subscription due by now).")
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@click.pass_context
def digest_mark_posted(ctx: click.Context, week: str, channel: str | None, now_text: str | None) -> None:
    """Record the week's digest as posted without posting it (it went out before a restore). Audited.

    A backup taken before a digest went out does not know it did: restored, the digest is posted again that week.
    Run this before starting the bot (`wieweet queued list` shows each channel's state). Only a digest whose time
    that week has passed is marked (also with --channel); the others still go out. A digest a running process is
    posting now is left to it and named (exit 1 when nothing else was marked). A week after this one is
    refused.

    \b
    Examples:
      wieweet digest mark-posted --week 2026-W48
      wieweet digest mark-posted --week 2026-W48 --channel C0123ABCD
    """
    cli = _cli(ctx)
    now = parse_now(now_text)
    with cli.db.session() as session:
        result = mark_posted(
            session,
            actor=cli_actor(),
            period=week,
            channel_id=channel,
            worker_id=_worker_id(),
            now=now,
            tz=ZoneInfo(cli.settings.timezone),
        )
    lang = operator_language(cli)
    marked = tn(
        "cli.digest_marked", "cli.digest_marked_plural", result.marked, lang, count=format_number(result.marked, lang)
    )
    echo(
        t(
            "cli.digest_marked_posted",
            lang,
            marked=marked,
            week=parse_period(week),
            already=tn(
                "cli.digest_already_posted",
                "cli.digest_already_posted_plural",
                result.already_sent,
                lang,
                count=format_number(result.already_sent, lang),
            ),
            not_due=format_number(result.not_due, lang),
        )
    )
    if result.posting:
        echo(t("cli.digest_being_posted", lang, channels=", ".join(result.posting)))
        if not result.marked:  # nothing marked, all left to a running sender: as `queued discard`
            ctx.exit(1)


def register(group: click.Group) -> None:
    group.add_command(digest_group)
