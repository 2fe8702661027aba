"""``wieweet audit`` and ``wieweet privacy``: the audit log, a person's data export and erasure, retention.

Thin commands: one ``cli.db.session()`` (one transaction) each, the core in ``bot.privacy``. The command line acts
as staff (``Actor.cli``), named ``cli:<system account>`` in the audit log (``bot.cli.cli_actor``; ``cli:root by
anna`` with ``wieweet --by anna``). An export and a purge are audited too.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from bot.cli import CliContext, cli_actor, operator_language, pass_cli
from bot.cli.output import echo
from bot.errors import WieweetError
from bot.files import check_folder, replace_file
from bot.i18n import N_, format_number, t, tn
from bot.inbox import record_request
from bot.privacy import (
    ERASED_HOMES_KIND,
    RetentionPolicy,
    erase_person,
    export_erasures,
    export_json,
    export_personal_data,
    find_person,
    finish_erasure,
    list_pending_requests,
    purge_expired,
    purge_inbox,
    reapply_erasures,
    record_purge,
    require_known,
)
from bot.text import shown_value
from digests.period import to_local
from storage import inbox_repo, register_repo
from storage.enums import AUDIT_ENTITIES


def _now() -> datetime:
    return datetime.now(UTC)


def _who(cli: CliContext, email: str | None, slack_id: str | None) -> dict[str, str | None]:
    if not email and not slack_id:
        raise click.UsageError(t("cli.privacy_give_who", operator_language(cli)))
    return {"email": email, "slack_user_id": slack_id}


def _counts(lines: dict[str, int], key: str, lang: str) -> None:
    """A count per kind of record, the kind as its code (a table's name, what the audit entry says)."""
    for kind, count in lines.items():
        echo(t(key, lang, kind=kind, count=format_number(count, lang)))


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
                raise WieweetError(
                    "unknown_entity",
                    f"unknown entity {entity_type!r}; known: {', '.join(known)}",
                    values={"entity": shown_value(entity_type), "known": ", ".join(known)},
                )
        entries = register_repo.list_audit_log(session, entity_type=entity_type, limit=limit)
        tz = ZoneInfo(cli.settings.timezone)
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
            when = to_local(entry.at, tz).strftime("%Y-%m-%d %H:%M:%S")  # the network's local time
            echo(f"{when}  {entry.actor:<20} {entry.action:<12} {entry.entity_type}:{entry.entity_key}")
            if entry.before is not None or entry.after is not None:
                echo(f"    {_short(entry.before)} → {_short(entry.after)}")
        if not entries and not as_json:
            lang = operator_language(cli)
            echo(t("cli.audit_empty_for", lang, entity=entity_type) if entity_type else t("cli.audit_empty", lang))


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
    Slack id (questions, searches, ...). Nobody found: "no such person", exit code 2. The audit log records the
    export: who (cli:<system account>, with --by), when, whose data, and how many records of each kind.

    \b
    Examples:
      wieweet privacy export --email nathalie.rombaut@ocmwgent.be > nathalie.json
      wieweet privacy export --slack-id U0DEMO020 | less
    """
    who = _who(cli, email, slack_id)
    with cli.db.session() as session:
        data = export_personal_data(session=session, actor=cli_actor(), now=_now(), **who)
    echo(export_json(data))


@privacy_group.command(name="erase")
@click.option("--email", metavar="ADDRESS", help="The person's e-mail address (as in the expert register).")
@click.option("--slack-id", metavar="UXXXX", help="The person's Slack user id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object, the same in every language (for scripts): {"erased": true, "counts": {KIND: N, ...}}.',
)
@pass_cli
def privacy_erase(cli: CliContext, email: str | None, slack_id: str | None, yes: bool, as_json: bool) -> None:
    """Forget one person: profile removed, public answered knowledge kept anonymously, the rest deleted.

    Messages already sent in Slack are not deleted by this; see the README. Nobody found: "no such person",
    exit code 2, nothing changed or audited. The audit log records that an erasure happened, not whom. The
    running bot then publishes their Home tab ("you were forgotten") and the staff's. A script reads --json: the
    counts per kind of record as codes, and nobody's address or id (the confirmation, without --yes, on stderr).

    \b
    Examples:
      wieweet privacy erase --email nathalie.rombaut@ocmwgent.be
      wieweet privacy erase --slack-id U0DEMO020 --yes
      wieweet privacy erase --slack-id U0DEMO020 --yes --json >> /var/log/wieweet-erasures.jsonl
    """
    who = _who(cli, email, slack_id)
    lang = operator_language(cli)
    if not yes:
        with cli.db.session() as session:  # say "no such person" before asking to confirm
            require_known(session, find_person(session, **who))
        # with --json standard output is the JSON alone: the question goes to standard error
        asked = t("cli.privacy_erase_confirm", lang, who=shown_value(email or slack_id or ""))  # as given: cut, masked
        click.confirm(asked, abort=True, err=as_json)
    with cli.db.session() as session:
        slack_user_id = find_person(session, **who).slack_user_id
        report = erase_person(session=session, actor=cli_actor(), now=_now(), db=cli.db, **who)
    # the running bot publishes their Home tab ("you were forgotten") and the staff's: a request in its inbox, queued
    # before the disk is compacted; once it is done, its payload emptied, the bot compacts again (``mark_done``)
    record_request(
        cli.db,
        request_key=f"{ERASED_HOMES_KIND}:{uuid.uuid4().hex}",
        kind=ERASED_HOMES_KIND,
        payload={"erased": slack_user_id or "", "lang": cli.settings.default_language},
        user_id=None,
        now=_now(),
    )
    inbox_removed = finish_erasure(cli.db, slack_user_id=slack_user_id)
    if inbox_removed:
        report.add("inbox_requests_deleted", inbox_removed)
    if as_json:  # whom stays out, as in the audit entry: this line may go to a log
        echo(json.dumps({"erased": True, "counts": dict(sorted(report.counts.items()))}, ensure_ascii=False))
        return
    echo(t("cli.privacy_erased", lang, who=shown_value(email or slack_id or "")))
    _counts(dict(sorted(report.counts.items())), N_("cli.privacy_erased_count"), lang)


@privacy_group.command(name="purge")
@click.option("--dry-run", is_flag=True, help="Count what would go, change nothing.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object, the same in every language (for scripts): {"dry_run": false, "counts": {KIND: N, ...}}.',
)
@pass_cli
def privacy_purge(cli: CliContext, dry_run: bool, as_json: bool) -> None:
    """Delete what is past its retention period (`wieweet run` also does this once a day).

    The periods are in the README ("What wieweet stores, why, and for how long"). The audit log records the
    purge and its counts. --dry-run counts and changes nothing. The lines are in the operator's language (a kind
    of record as its code); a script reads --json.

    \b
    Examples:
      wieweet privacy purge --dry-run
      wieweet privacy purge
      wieweet privacy purge --json >> /var/log/wieweet-purge.jsonl
    """
    pending = list_pending_requests(cli.db)  # read first: their marks stay
    with cli.db.session() as session:
        now = _now()
        counts = purge_expired(session=session, now=now, pending=pending, policy=RetentionPolicy())
        if dry_run:
            session.rollback()
        else:  # in the purge's transaction: what went, counted
            record_purge(session, actor=cli_actor(), counts=counts, now=now)
    if not dry_run:
        counts["inbox_requests"] = purge_inbox(cli.db, now=_now())
    if as_json:
        echo(json.dumps({"dry_run": dry_run, "counts": counts}, ensure_ascii=False))
        return
    _counts(counts, N_("cli.privacy_would_purge") if dry_run else N_("cli.privacy_purged"), operator_language(cli))


@privacy_group.group(name="erasures")
def erasures_group() -> None:
    """The erasure ledger: keep erasures outside the database, apply them again after a restore.

    A backup taken before an erasure brings the person back when it is restored. `export` writes the database's
    erasure key and the hashes of everyone erased (no names, addresses or ids) to FILE; keep that file outside the
    database's backups, as a secret (it is written readable by its owner only), and export again after every
    erasure. After restoring a backup, `reapply` the newest export: the hashes go back into the database and
    everyone in it who matches is erased again. Both are audited. See the README, "Backup and restore".

    \b
    Examples:
      wieweet privacy erasures export /srv/secrets/wieweet-erasures.json
      wieweet privacy erasures reapply /srv/secrets/wieweet-erasures.json
    """


@erasures_group.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_cli
def erasures_export(cli: CliContext, file: Path) -> None:
    """Write the erasure ledger (the key and the hashes of the erased) to FILE, readable by its owner only.

    Run it after every erasure (or with every backup) and keep FILE outside the database's backups.

    \b
    Examples:
      wieweet privacy erasures export /srv/secrets/wieweet-erasures.json
    """
    check_folder(file)
    with cli.db.session() as session:
        ledger = export_erasures(session=session, actor=cli_actor(), now=_now())
        # readable by its owner only; the audit row commits only once the file is there
        replace_file(file, (json.dumps(ledger, indent=1) + "\n").encode())
    n = len(ledger["identities"])
    lang = operator_language(cli)
    echo(tn("cli.erasures_exported", "cli.erasures_exported_plural", n, lang, count=format_number(n, lang), file=file))


@erasures_group.command(name="reapply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_cli
def erasures_reapply(cli: CliContext, file: Path) -> None:
    """After a restore: store the ledger's hashes again and erase again everyone in the database who matches.

    A ledger made with another database's key is refused when this database holds erasures of its own (exit code
    2, nothing changed). Running it twice does nothing more.

    \b
    Examples:
      wieweet privacy erasures reapply /srv/secrets/wieweet-erasures.json
    """
    try:
        text = file.read_bytes()
    except OSError:
        raise click.ClickException(t("cli.ledger_unreadable", operator_language(cli), file=str(file))) from None
    try:
        ledger = json.loads(text)
    except ValueError:  # also bytes that are not text: not the ledger ``export`` wrote
        raise click.ClickException(t("cli.ledger_not_json", operator_language(cli), file=str(file))) from None
    with cli.db.inbox_session() as inbox:  # a restored inbox's requests run again at start: theirs must go too
        inbox_user_ids = inbox_repo.list_inbox_user_ids(inbox)
    with cli.db.session() as session:  # a ledger that cannot be used here changes nothing (exit code 2)
        report = reapply_erasures(
            session=session, actor=cli_actor(), ledger=ledger, now=_now(), inbox_user_ids=inbox_user_ids, db=cli.db
        )
    inbox_removed = sum(finish_erasure(cli.db, slack_user_id=sid) for sid in report.slack_user_ids)
    if (report.people_erased or report.traces_swept) and not report.slack_user_ids:
        cli.db.compact_after_erasure()
    lang = operator_language(cli)

    def count(n: int) -> str:
        return format_number(n, lang)

    echo(t("cli.reapply_identities", lang, count=count(report.identities), added=count(report.added)))
    echo(t("cli.reapply_people", lang, count=count(report.people_erased)))
    if report.traces_swept:
        echo(t("cli.reapply_traces", lang, count=count(report.traces_swept)))
    if inbox_removed:
        echo(t("cli.reapply_inbox", lang, count=count(inbox_removed)))


def register(group: click.Group) -> None:
    group.add_command(audit_command)
    group.add_command(privacy_group)
