"""``wieweet audit`` and ``wieweet privacy``: the audit log, a person's data export and erasure, retention.

Thin commands: one ``cli.db.session()`` (one transaction) each, the core in ``bot.privacy``. The command line acts
as staff (``Actor.cli``), named ``cli:<os user>`` in the audit log.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime

import click

from bot.actors import Actor
from bot.cli import CliContext, pass_cli
from bot.cli.output import echo
from bot.errors import WieweetError
from bot.privacy import (
    RetentionPolicy,
    erase_person,
    export_json,
    export_personal_data,
    find_person,
    finish_erasure,
    purge_expired,
    purge_inbox,
    require_known,
)
from storage import register_repo
from storage.enums import AUDIT_ENTITIES


def cli_user_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor.cli(user)


def _now() -> datetime:
    return datetime.now(UTC)


def _who(email: str | None, slack_id: str | None) -> dict[str, str | None]:
    if not email and not slack_id:
        raise click.UsageError("give --email or --slack-id")
    return {"email": email, "slack_user_id": slack_id}


def _short(value: object, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else "-"
    return text if len(text) <= limit else text[: limit - 1] + "…"


@click.command(name="audit")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000), help="Newest N entries.")
@click.option("--entity", "entity_type", metavar="TYPE", help="Only this kind of record (expert, practice, person…).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@pass_cli
def audit_command(cli: CliContext, limit: int, entity_type: str | None, as_json: bool) -> None:
    """The audit log, newest first: when, who, what, which record (and before → after).

    \b
    Examples:
      wieweet audit
      wieweet audit --entity expert --limit 20
      wieweet audit --json > audit.jsonl
    """
    with cli.db.session() as session:
        if entity_type:
            known = sorted({*AUDIT_ENTITIES, *register_repo.list_audit_entity_types(session)})
            if entity_type not in known:  # a typo ("experts") would read as "nothing happened"
                raise WieweetError("unknown_entity", f"unknown entity {entity_type!r}; known: {', '.join(known)}")
        entries = register_repo.list_audit_log(session, entity_type=entity_type, limit=limit)
        for entry in entries:
            if as_json:
                row = {
                    "at": entry.at.isoformat(),
                    "actor": entry.actor,
                    "action": entry.action,
                    "entity_type": entry.entity_type,
                    "entity_key": entry.entity_key,
                    "before": entry.before,
                    "after": entry.after,
                }
                echo(json.dumps(row, ensure_ascii=False))
                continue
            when = entry.at.strftime("%Y-%m-%d %H:%M:%S")
            echo(f"{when}  {entry.actor:<20} {entry.action:<12} {entry.entity_type}:{entry.entity_key}")
            if entry.before is not None or entry.after is not None:
                echo(f"    {_short(entry.before)} → {_short(entry.after)}")
        if not entries and not as_json:
            echo("the audit log is empty" + (f" for {entity_type}" if entity_type else ""))


@click.group(name="privacy")
def privacy_group() -> None:
    """A person's rights: everything stored about them, erasure, and the retention purge.

    A person nothing is stored about is "no such person" (exit code 2; nothing is written or audited).

    \b
    Examples:
      wieweet privacy export --email nathalie.rombaut@ocmwgent.be > nathalie.json
      wieweet privacy export --slack-id U0DEMO020
      wieweet privacy erase --email nathalie.rombaut@ocmwgent.be --yes
      wieweet privacy purge --dry-run
    """


@privacy_group.command(name="export")
@click.option("--email", metavar="ADDRESS", help="The person's e-mail address (as in the expert register).")
@click.option("--slack-id", metavar="UXXXX", help="The person's Slack user id.")
@pass_cli
def privacy_export(cli: CliContext, email: str | None, slack_id: str | None) -> None:
    """Print everything wieweet stores about one person, as JSON.

    The person is found by e-mail address (their expert profile, practices they are the contact for) and/or
    Slack id (questions, searches, ...). Nobody found: "no such person", exit code 2.

    \b
    Examples:
      wieweet privacy export --email nathalie.rombaut@ocmwgent.be > nathalie.json
      wieweet privacy export --slack-id U0DEMO020 | less
    """
    who = _who(email, slack_id)
    with cli.db.session() as session:
        data = export_personal_data(session=session, actor=cli_user_actor(), now=_now(), **who)
    echo(export_json(data))


@privacy_group.command(name="erase")
@click.option("--email", metavar="ADDRESS", help="The person's e-mail address (as in the expert register).")
@click.option("--slack-id", metavar="UXXXX", help="The person's Slack user id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_cli
def privacy_erase(cli: CliContext, email: str | None, slack_id: str | None, yes: bool) -> None:
    """Forget one person: profile removed, public answered knowledge kept anonymously, the rest deleted.

    Messages already sent in Slack are not deleted by this; see the README. Nobody found: "no such person",
    exit code 2, nothing changed or audited. The audit log records that an erasure happened, not whom.

    \b
    Examples:
      wieweet privacy erase --email nathalie.rombaut@ocmwgent.be
      wieweet privacy erase --slack-id U0DEMO020 --yes
    """
    who = _who(email, slack_id)
    if not yes:
        with cli.db.session() as session:  # say "no such person" before asking to confirm
            require_known(session, find_person(session, **who))
        click.confirm(f"Erase everything about {email or slack_id}? This cannot be undone", abort=True)
    with cli.db.session() as session:
        slack_user_id = find_person(session, **who).slack_user_id
        report = erase_person(session=session, actor=cli_user_actor(), now=_now(), **who)
    inbox_removed = finish_erasure(cli.db, slack_user_id=slack_user_id)
    if inbox_removed:
        report.add("inbox_requests_deleted", inbox_removed)
    echo(f"erased {email or slack_id}:")
    for key, count in sorted(report.counts.items()):
        echo(f"  {key}: {count}")


@privacy_group.command(name="purge")
@click.option("--dry-run", is_flag=True, help="Count what would go, change nothing.")
@pass_cli
def privacy_purge(cli: CliContext, dry_run: bool) -> None:
    """Delete what is past its retention period (`wieweet run` also does this once a day).

    The periods are in the README ("What wieweet stores, why, and for how long"). --dry-run counts and
    changes nothing.

    \b
    Examples:
      wieweet privacy purge --dry-run
      wieweet privacy purge
    """
    with cli.db.session() as session:
        counts = purge_expired(session=session, now=_now(), policy=RetentionPolicy())
        if dry_run:
            session.rollback()
    if not dry_run:
        counts["inbox_requests"] = purge_inbox(cli.db, now=_now())
    verb = "would purge" if dry_run else "purged"
    for key, count in counts.items():
        echo(f"{verb} {key}: {count}")


def register(group: click.Group) -> None:
    group.add_command(audit_command)
    group.add_command(privacy_group)
