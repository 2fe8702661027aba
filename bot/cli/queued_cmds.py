"""``wieweet queued``: what wieweet will send or do once it starts — queued outbox messages, pending timers and
this week's digests — and discarding what already happened (after a restore, before ``wieweet run``)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli import EXIT_REFUSED, CliContext, cli_actor, operator_language, pass_cli
from bot.cli.options import parse_now, parse_time_option
from bot.cli.output import echo
from bot.cli.recipients import shown_recipient
from bot.cli.wording import local_time, state
from bot.i18n import N_, format_list, format_number, t, tn
from bot.outbox import redraw_of, shown_kind
from bot.restore import LIVE_CLAIM, OpenQuestionTimers, Stranded, discard_queued, list_queued
from digests.period import period_of
from digests.restored import digest_states
from handlers.blocks.routing import status_label
from storage.enums import DigestRunStatus, TimerKind


def _time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset, in UTC (the shared parser: a clear error for any bad time)."""
    return parse_time_option(value, option) if value is not None else None


@click.group(name="queued")
def queued_group() -> None:
    """What wieweet will send or do when it starts: queued messages, pending timers, this week's digests.

    After restoring a backup, what was queued at the backup's time goes out again at the next start, also what
    was sent since. Before starting the bot, `list` it and `discard` what already happened; a digest that already
    went out this week is marked with `wieweet digest mark-posted`. See the README, "Backup and restore".

    \b
    Examples:
      wieweet queued list
      wieweet queued discard --messages-before 2026-11-23T09:00:00+01:00
      wieweet queued discard --message 12 --message 14 --timer 3
    """


@queued_group.command(name="list")
@click.option("--week", metavar="YYYY-Www", help="The digests' ISO week (default: this week).")
@click.option("--now", "now_text", metavar="ISO", hidden=True, help="Pretend it is this time (tests, replays).")
@pass_cli
def queued_list(cli: CliContext, week: str | None, now_text: str | None) -> None:
    """List queued outbox messages, pending timers and the week's digests (no message text).

    Times are in WIEWEET_TIMEZONE. A message whose post had started is looked for in Slack before it is posted
    again (`post started`); the others are posted.

    \b
    Examples:
      wieweet queued list
      wieweet queued list --week 2026-W48
    """
    tz, lang = ZoneInfo(cli.settings.timezone), operator_language(cli)
    now = parse_now(now_text)
    col = {name: t(key, lang) for name, key in COLUMN_KEYS.items()}  # the tables' headers, in the operator's words
    with cli.db.session() as session:
        queued = list_queued(session)
        digests = digest_states(session, period=week or period_of(now, tz), tz=tz)
        echo(t("cli.queued_messages", lang, count=format_number(len(queued.messages), lang)))
        echo(
            f"  {col['id']:>6}  {col['kind']:<22} {col['to']:<14} {col['question']:>8}  {col['created']:<16}  "
            f"{col['post_started']}"
        )
        for m in queued.messages:
            to = shown_recipient(m, queued.questions.get(m.question_id) if m.question_id is not None else None, lang)
            question = str(m.question_id) if m.question_id is not None else "-"
            started = t("cli.yes" if m.post_started_at is not None else "cli.no", lang)
            redrawn = redraw_of(m)  # a sent recruiting DM drawn again, not a request of its own
            kind = f"{shown_kind(m)}:{redrawn}" if redrawn is not None else m.kind.value
            echo(f"  {m.id:>6}  {kind:<22} {to:<14} {question:>8}  {local_time(m.created_at, tz):<16}  {started}")
        echo(t("cli.list_timers", lang, count=format_number(len(queued.timers), lang)))
        echo(
            f"  {col['id']:>6}  {col['kind']:<22} {col['question']:>8}  {col['status']:<10} {col['created']:<16}  "
            f"{col['due']}"
        )
        for timer in queued.timers:
            question = str(timer.question_id) if timer.question_id is not None else "-"
            status = queued.question_status.get(timer.question_id, "-") if timer.question_id is not None else "-"
            created, due = local_time(timer.created_at, tz), local_time(timer.due_at, tz)
            echo(f"  {timer.id:>6}  {timer.kind.value:<22} {question:>8}  {status:<10} {created:<16}  {due}")
        echo(t("cli.queued_digests", lang, count=format_number(len(digests), lang)))
        echo(f"  {col['channel']:<14} {col['week']:<8}  {col['scheduled']:<16}  {col['state']}")
        for d in digests:
            state = digest_state_text(d.state, lang)
            if d.sent_at is not None:
                state = f"{state} {local_time(d.sent_at, tz)}"
            if d.state == "none":
                state = t("cli.digest_due_at_start" if d.scheduled <= now else "cli.digest_not_yet", lang)
            elif d.error and d.state in ("claimed", "failed"):  # why it waits or failed: a token refused, a scope
                state = f"{state} " + t("cli.digest_last_try", lang, error=" ".join(d.error.split())[:120])
            echo(f"  {d.channel_id:<14} {d.period:<8}  {local_time(d.scheduled, tz):<16}  {state}")


COLUMN_KEYS = {  # the headers of `queued list`'s tables
    "id": N_("cli.col_id"),
    "kind": N_("cli.col_kind"),
    "to": N_("cli.col_to"),
    "question": N_("cli.col_question"),
    "created": N_("cli.col_created"),
    "post_started": N_("cli.col_post_started"),
    "status": N_("cli.col_status"),
    "due": N_("cli.col_due"),
    "channel": N_("cli.col_channel"),
    "week": N_("cli.col_week"),
    "scheduled": N_("cli.col_scheduled"),
    "state": N_("cli.col_state"),
}

DIGEST_STATE_KEYS = {  # a week's digest run (``digests.restored.DigestState.state``)
    DigestRunStatus.CLAIMED.value: N_("cli.digest_claimed"),
    DigestRunStatus.SENT.value: N_("cli.digest_sent"),
    DigestRunStatus.EMPTY.value: N_("cli.digest_empty"),
    DigestRunStatus.FAILED.value: N_("cli.digest_failed"),
}


def digest_state_text(code: str, lang: str) -> str:
    """A digest run's state (``DigestRunStatus``) in the operator's words with its code beside it ("mislukt
    (failed)", ``wording.state``); another as its code."""
    key = DIGEST_STATE_KEYS.get(code)
    return state(t(key, lang), code) if key else code


@queued_group.command(name="discard")
@click.option("--message", "message_ids", type=int, multiple=True, metavar="ID", help="A queued message (repeatable).")
@click.option("--timer", "timer_ids", type=int, multiple=True, metavar="ID", help="A pending timer (repeatable).")
@click.option("--messages-before", metavar="ISO", help="Every queued message created (queued) before this time.")
@click.option("--timers-before", metavar="ISO", help="Every pending timer created (scheduled) before this time.")
@click.option(
    "--messages-due-before", metavar="ISO", help="Every queued message due to be sent (next attempt) before this time."
)
@click.option("--timers-due-before", metavar="ISO", help="Every pending timer due to run before this time.")
@click.option("--dry-run", is_flag=True, help="Print what would be discarded; change nothing.")
@click.option("--force", is_flag=True, help="Also discard the last timers of a question that is still open.")
@pass_cli
def queued_discard(
    cli: CliContext,
    message_ids: tuple[int, ...],
    timer_ids: tuple[int, ...],
    messages_before: str | None,
    timers_before: str | None,
    messages_due_before: str | None,
    timers_due_before: str | None,
    dry_run: bool,
    force: bool,
) -> None:
    """End queued messages unsent and complete pending timers without running them. Audited (counts, ids, times).

    Run it with every replica stopped. Times: ISO 8601 with a UTC offset. --messages-before/--timers-before go by
    when a message was queued or a timer scheduled (the backup's time); --messages-due-before/--timers-due-before
    by when it was due (an outage: every reminder that was due while wieweet was down). An id that does not exist
    discards nothing (exit 2), nor does one not queued any more: sent, ended or run (exit 1). What a running process
    is sending or running (claimed in the last 10 minutes) is left to it and named; exit 1 when nothing else was
    discarded. Discarding the last timers of a question that is still open is refused without --force (exit 1):
    nothing would remind, ask the next expert or hand it over to staff any more.

    \b
    Examples:
      wieweet queued discard --messages-before 2026-11-23T09:00:00+01:00 --dry-run
      wieweet queued discard --message 12 --timer 3
      wieweet queued discard --timers-due-before 2026-11-23T17:00:00+01:00
    """
    if not (message_ids or timer_ids or messages_before or timers_before or messages_due_before or timers_due_before):
        raise click.UsageError(t("cli.discard_what", operator_language(cli)))
    lang = operator_language(cli)
    try:
        with cli.db.session() as session:
            result = discard_queued(
                session,
                actor=cli_actor(),
                now=datetime.now(UTC),
                message_ids=message_ids,
                timer_ids=timer_ids,
                messages_before=_time(messages_before, "--messages-before"),
                timers_before=_time(timers_before, "--timers-before"),
                messages_due_before=_time(messages_due_before, "--messages-due-before"),
                timers_due_before=_time(timers_due_before, "--timers-due-before"),
                dry_run=dry_run,
                force=force,
            )
    except OpenQuestionTimers as refused:  # which questions, in which state, and what they would go without
        details = "; ".join(_stranded(s, lang) for s in refused.stranded)
        echo(f"error: {t('cli.open_question_timers', lang, questions=details)}", err=True)
        raise click.exceptions.Exit(EXIT_REFUSED) from None
    for stranded in result.stranded:
        echo(f"warning: {_stranded(stranded, lang)}")
    held = [t("cli.held_message", lang, id=i) for i in result.skipped_message_ids] + [
        t("cli.held_timer", lang, id=i) for i in result.skipped_timer_ids
    ]
    if held:
        minutes = format_number(LIVE_CLAIM.seconds // 60, lang)
        echo(t("cli.discard_held", lang, held=", ".join(held), minutes=minutes))
    count = format_number(result.messages, lang)
    messages = tn("cli.discard_messages", "cli.discard_messages_plural", result.messages, lang, count=count)
    count = format_number(result.timers, lang)
    timers = tn("cli.discard_timers", "cli.discard_timers_plural", result.timers, lang, count=count)
    if result.dry_run:
        messages, timers = messages + _ids(result.message_ids), timers + _ids(result.timer_ids)
        echo(t("cli.would_discard", lang, messages=messages, timers=timers))
    else:
        echo(t("cli.discarded", lang, messages=messages, timers=timers))
    if held and not (result.messages or result.timers):  # a dry run exits as the real run would
        click.get_current_context().exit(EXIT_REFUSED)


TIMER_EFFECT_KEYS = {  # what a pending timer does for its question, in the operator's words
    TimerKind.REMIND: N_("cli.effect_remind"),
    TimerKind.NEXT_EXPERT: N_("cli.effect_next_expert"),
    TimerKind.ESCALATE: N_("cli.effect_escalate"),
    TimerKind.SNOOZE: N_("cli.effect_snooze"),
    TimerKind.RECONFIRM: N_("cli.effect_reconfirm"),
}


def _stranded(stranded: Stranded, lang: str) -> str:
    """A question still open left without a timer, in ``lang``: its state and what it would no longer get."""
    effects = [t(TIMER_EFFECT_KEYS[kind], lang) for kind in dict.fromkeys(stranded.kinds)]
    status = status_label(stranded.status, lang)
    return t("cli.stranded", lang, question=stranded.question_id, status=status, effects=format_list(effects, lang))


def _ids(ids: list[int]) -> str:
    return f" ({', '.join(map(str, ids))})" if ids else ""


def register(group: click.Group) -> None:
    group.add_command(queued_group)
