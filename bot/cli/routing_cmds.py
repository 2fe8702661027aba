"""``wieweet escalated``: the questions waiting for staff, also those the triage channel never got, and those held
back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from bot.cli import CliContext, cli_actor, operator_language, pass_cli
from bot.cli.output import echo
from bot.cli.wording import local_time, marker, state
from bot.i18n import format_number, t, tn
from bot.privacy import record_escalated_list
from bot.routing.queries import waiting_for_staff
from bot.text import shown_value
from handlers.blocks.routing import REASON_KEYS

NOT_POSTED = "NOT POSTED"  # the table's marker of a question the triage channel never got, in every language


@click.command(name="escalated")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="List at most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@pass_cli
def escalated_command(cli: CliContext, limit: int, as_json: bool) -> None:
    """List the questions waiting for staff (escalated), oldest first: number, when (YYYY-MM-DD HH:MM in
    WIEWEET_TIMEZONE), why, and whether the triage channel got them (marked NOT POSTED, with Slack's reason quoted,
    when the staff message failed for good); the table speaks WIEWEET_LANGUAGE, each reason and state with its code
    beside it. Private and anonymous questions are listed without their text, as in the triage channel. Then the
    questions held back (state "held", with when they were asked): their asker has enough questions with experts;
    each goes to experts when the asker has room again, or to staff after the usual escalation delay. --json prints
    the whole texts and times in UTC, a copy out of wieweet: the audit log records that listing (who, when, which
    questions); the table, like the triage channel and the Home tab, is not recorded.

    \b
    Examples:
      wieweet escalated
      wieweet escalated --json --limit 20
    """
    with cli.db.session() as session:
        queue = waiting_for_staff(session, limit=limit)
        if as_json:  # the whole texts leave the database: recorded (which questions, never their text)
            shown = [q.question_id for q in queue.questions if q.text] + [h.question_id for h in queue.held if h.text]
            questions, held_count = len(queue.questions), len(queue.held)
            now = datetime.now(UTC)
            record_escalated_list(
                session, actor=cli_actor(), shown=shown, questions=questions, held=held_count, now=now
            )
    lang, tz = operator_language(cli), ZoneInfo(cli.settings.timezone)
    rows: list[tuple[int, str, str, str, str | None]] = []  # number, when, why, triage, text (None: not shown)
    for item in queue.questions:
        reason = item.reason.value if item.reason is not None else "-"
        if as_json:
            row = {
                "question_id": item.question_id,
                "state": "escalated",
                "escalated_at": item.escalated_at.isoformat(timespec="minutes") if item.escalated_at else "-",
                "reason": reason,
                "triage_error": item.triage_error,
                "text": item.text,
            }
            echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        why = state(t(REASON_KEYS[item.reason], lang), reason) if item.reason is not None else "-"
        posted = t("cli.escalated_posted", lang)
        if item.triage_error is not None:  # the marker a script greps for stays beside the words, as with CONFLICT:
            # what Slack said, quoted as every stored value is: printable, cut, a secret masked
            posted = f"{marker(t('cli.escalated_not_posted', lang), NOT_POSTED)}: {shown_value(item.triage_error)}"
        rows.append((item.question_id, local_time(item.escalated_at, tz), why, posted, item.text))
    for held in queue.held:
        if as_json:
            asked = held.asked_at.isoformat(timespec="minutes")
            row = {"question_id": held.question_id, "asked_at": asked, "state": "held", "text": held.text}
            echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        held_state = state(t("routing.status_held", lang), "held")
        rows.append((held.question_id, local_time(held.asked_at, tz), held_state, "-", held.text))
    if as_json:
        return
    # the columns as wide as their longest entry: the reasons and "held" are words of the operator's language
    why_width = max((len(r[2]) for r in rows), default=0)
    posted_width = max((len(r[3]) for r in rows), default=0)
    hidden = t("cli.show_hidden", lang)  # a private or anonymous question, as in the triage channel
    for number, when, why, posted, text in rows:
        line = (text or hidden).replace("\n", " ")
        echo(f"#{number:<6} {when:<16} {why:<{why_width}} {posted:<{posted_width}} {line[:80]}")
    waiting, held_back = format_number(queue.count, lang), format_number(queue.held_count, lang)
    echo(tn("cli.escalated_summary", "cli.escalated_summary_plural", queue.count, lang, count=waiting, held=held_back))


def register(group: click.Group) -> None:
    group.add_command(escalated_command)
