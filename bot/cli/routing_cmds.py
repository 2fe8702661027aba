"""``wieweet escalated``: the questions waiting for staff, also those the triage channel never got, and those held
back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from bot.cli import CliContext, cli_actor, pass_cli
from bot.cli.output import echo
from bot.privacy import record_escalated_list
from bot.routing.queries import waiting_for_staff


@click.command(name="escalated")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="List at most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@pass_cli
def escalated_command(cli: CliContext, limit: int, as_json: bool) -> None:
    """List the questions waiting for staff (escalated), oldest first: number, date, why, and whether the triage
    channel got them ("NOT POSTED: <Slack's reason>" when the staff message failed for good). Private and anonymous
    questions are listed without their text, as in the triage channel. Then the questions held back (state
    "held", with when they were asked): their asker has enough questions with experts; each goes to experts when
    the asker has room again, or to staff after the usual escalation delay. --json prints the whole texts, a copy
    out of wieweet: the audit log records that listing (who, when, which questions); the table, like the triage
    channel and the Home tab, is not recorded.

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
    for item in queue.questions:
        when = item.escalated_at.isoformat(timespec="minutes") if item.escalated_at else "-"
        reason = item.reason.value if item.reason is not None else "-"
        if as_json:
            row = {
                "question_id": item.question_id,
                "state": "escalated",
                "escalated_at": when,
                "reason": reason,
                "triage_error": item.triage_error,
                "text": item.text,
            }
            echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        posted = f"NOT POSTED: {item.triage_error}" if item.triage_error is not None else "posted"
        text = (item.text or "(private or anonymous)").replace("\n", " ")
        echo(f"#{item.question_id:<6} {when:<22} {reason:<17} {posted:<30} {text[:80]}")
    for held in queue.held:
        when = held.asked_at.isoformat(timespec="minutes")
        if as_json:
            row = {"question_id": held.question_id, "asked_at": when, "state": "held", "text": held.text}
            echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        text = (held.text or "(private or anonymous)").replace("\n", " ")
        echo(f"#{held.question_id:<6} {when:<22} {'held':<17} {'-':<30} {text[:80]}")
    if not as_json:
        echo(f"{queue.count} questions waiting for staff, {queue.held_count} held")


def register(group: click.Group) -> None:
    group.add_command(escalated_command)
