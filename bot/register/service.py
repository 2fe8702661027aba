"""The expert and practice registers: import, export, listing and profiles (``bot.register.listing``).

The same functions serve the command line and, later, Slack; they know nothing about either. They never commit:
the caller's ``db.session()`` block is the one transaction, so an import is all or nothing — every row is
validated first and any problem raises ``ImportFailed`` (listing every problem, each located by file, row and
column) before anything is written.

Imports upsert by key (experts: email, case-insensitive; practices: title + city, case-insensitive) and never
delete. A column absent from the file leaves that field of existing records untouched (the key and required
columns must be present). Every added or changed record gets an audit log row. Experts created by an import get
``consent=pending``; the consent of existing experts is never touched by an import, except that it belongs to a
Slack account: an expert whose Slack account changes (or goes) starts again at ``pending``, availability reset.
The rows of people who asked to be forgotten are skipped and reported (``bot.register.erased``).

An e-mail address is an identity claim (``bot.register.identity``): a file without a ``slack_user_id`` column that
matches a profile made in Slack keeps its account only when Slack confirms the address for it; otherwise the row
is imported without that account and the conflict is in the report.

Exports are deterministic (experts by email; practices by city then title, case-insensitively), in the import
format, so export → import changes nothing and export → import → export gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import ImportFailed, Problem
from bot.i18n import local_day
from bot.register.erased import find_erased_rows, relist_erased_rows
from bot.register.export import effective_contact, export_experts, export_practices
from bot.register.files import RawRow, RegisterFile, read_register_file
from bot.register.identity import SlackEmailLookup, claim_conflicts, slack_ids_held
from bot.register.listing import ExpertProfile, get_expert_profile, list_experts, list_practices, resolve_theme
from bot.register.report import (
    ImportReport,
    Progress,
    RecordChange,
    SynonymNotes,
    check_header,
    duplicate_key,
    duplicate_practice,
    fail_if_errors,
    located,
    one_by_one,
    valid_rows,
)
from bot.register.themes import ThemeResolver, ensure_default_themes, import_themes
from bot.register.validation import (
    EXPERT_COLUMNS,
    EXPERT_REQUIRED,
    PRACTICE_COLUMNS,
    PRACTICE_REQUIRED,
    ExpertRecord,
    PracticeRecord,
    practice_key,
    validate_expert,
    validate_practice,
)
from storage import register_repo as repo
from storage.models import Availability, Consent, Expert, Outcome, Practice

__all__ = [
    "ExpertProfile",
    "ImportReport",
    "Progress",
    "RecordChange",
    "export_experts",
    "export_practices",
    "get_expert_profile",
    "import_experts",
    "import_practices",
    "import_themes",
    "list_experts",
    "list_practices",
    "resolve_theme",
]

PRACTICE_KEY_COLUMNS = ("title", "city")
# What an import will write, decided before writing: (record, stored record or None for a new one, values, ...).
ExpertPlan = tuple[ExpertRecord, Expert | None, dict[str, Any], list[str]]
PracticePlan = tuple[PracticeRecord, Practice | None, Expert | None, dict[str, Any]]


# --- the steps both imports take ---------------------------------------------------------------------------------


def _start_import(
    session: Session,
    file: RegisterFile,
    *,
    kind: str,
    known: Sequence[str],
    required: Sequence[str],
    now: datetime,
    dry_run: bool,
) -> tuple[ImportReport, list[str], ThemeResolver]:
    """The report, the columns the file has (a missing required one fails the import; a missing optional one is
    a warning: those fields of existing records are left alone) and the themes to resolve against."""
    report = ImportReport(kind=kind, file=file.name, dry_run=dry_run)
    present = check_header(file, known=known, required=required, report=report)
    absent = [c for c in known if c not in present]
    if absent:
        report.warnings.append(
            Problem(
                f"{file.name}: no column(s) {', '.join(absent)}: those fields of existing {kind} are left as they are "
                "(new ones get them empty)",
                f"absent_columns_{kind}",
                {"file": file.name, "columns": ", ".join(absent)},
            )
        )
    if not dry_run:
        ensure_default_themes(session, now=now)
    return report, present, ThemeResolver.for_session(session)


@contextmanager
def _conflicts_fail_the_import(file: RegisterFile) -> Iterator[None]:
    """Another process changing the register at the same moment can still trip a unique key: say so, clearly."""
    try:
        yield
    except IntegrityError as exc:
        reason = type(exc.orig).__name__
        raise ImportFailed(
            "conflict",
            Problem(
                f"{file.name}: the register was changed by someone else during the import ({reason}); "
                "nothing was imported, run the import again",
                "changed_meanwhile",
                {"file": file.name, "reason": reason},
            ),
        ) from exc


def _audit(
    session: Session,
    *,
    actor: str,
    entity_type: str,
    key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    now: datetime,
) -> None:
    repo.create_audit_log(
        session,
        actor=actor,
        action="import",
        entity_type=entity_type,
        entity_key=key,
        before=before,
        after=after,
        now=now,
    )


# --- experts -----------------------------------------------------------------------------------------------------


def expert_snapshot(expert: Expert) -> dict[str, Any]:
    """An expert's register fields as plain values (the file columns), for comparing and for the audit log."""
    return {
        "name": expert.name,
        "email": expert.email,
        "slack_user_id": expert.slack_user_id,
        "organisation": expert.organisation,
        "city": expert.city,
        "role": expert.role,
        "expertise": list(expert.expertise),
        "themes": sorted(t.key for t in expert.themes),
        "languages": list(expert.languages),
        "bio": expert.bio,
    }


def expert_audit(expert: Expert) -> dict[str, Any]:
    """What the audit log records of an expert: the register fields plus consent, availability and status."""
    return {
        **expert_snapshot(expert),
        "consent": expert.consent.value,
        "source": expert.source,
        "status": expert.status.value,
        "availability": expert.availability.value,
        "away_until": expert.away_until.isoformat() if expert.away_until else None,
        "last_confirmed_at": expert.last_confirmed_at.isoformat() if expert.last_confirmed_at else None,
    }


def _expert_values(record: ExpertRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "email": record.email,
        "slack_user_id": record.slack_user_id,
        "organisation": record.organisation,
        "city": record.city,
        "role": record.role,
        "expertise": list(record.expertise),
        "themes": list(record.themes),
        "languages": list(record.languages),
        "bio": record.bio,
    }


def import_experts(
    session: Session,
    *,
    path: Path,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    source: str = "import",
    consent_on_paper: bool = False,
    slack_emails: SlackEmailLookup | None = None,
    relist_erased: bool = False,
) -> ImportReport:
    """Import an expert register file (.csv or .xlsx). See the module docstring for the rules.

    ``consent_on_paper``: staff hold the experts' written consent, so the file's new (and still pending) experts
    are recorded as confirmed today instead of waiting for their confirmation in Slack. ``slack_emails``: asks Slack
    for an account's address (None: Slack cannot be asked, so a profile made in Slack is never taken as confirmed).
    ``relist_erased``: import the rows of people who were erased too (``bot.register.erased``; skipped otherwise).
    """
    return import_expert_file(
        session,
        file=read_register_file(path),
        actor=actor,
        now=now,
        dry_run=dry_run,
        progress=progress,
        source=source,
        consent_on_paper=consent_on_paper,
        slack_emails=slack_emails,
        relist_erased=relist_erased,
    )


def _read_expert_rows(
    file: RegisterFile, resolver: ThemeResolver, present: Collection[str]
) -> tuple[list[tuple[RawRow, ExpertRecord]], list[str], SynonymNotes]:
    """The file's valid expert rows (an email once only), every problem found in them, and the theme synonyms used.
    A Slack user id given twice in the file is a problem (it belongs to one expert)."""
    errors: list[str] = []
    records: list[tuple[RawRow, ExpertRecord]] = []
    email_rows: dict[str, int] = {}
    slack_rows: dict[str, int] = {}
    synonyms = SynonymNotes()
    for row, record in valid_rows(file, partial(validate_expert, themes=resolver), errors):
        synonyms.add(row, resolver.synonym_notes(row.values.get("themes")))
        if record.email in email_rows:
            errors.append(located(file, row, "email", duplicate_key(record.email, email_rows[record.email])))
            continue
        email_rows[record.email] = row.line
        if record.slack_user_id and "slack_user_id" in present:
            if record.slack_user_id in slack_rows:
                errors.append(
                    located(
                        file,
                        row,
                        "slack_user_id",
                        Problem(
                            f"{record.slack_user_id} is also given in row {slack_rows[record.slack_user_id]} "
                            "(a Slack user id belongs to one expert)",
                            "duplicate_slack_id",
                            {"slack_id": record.slack_user_id, "other": slack_rows[record.slack_user_id]},
                        ),
                    )
                )
            slack_rows[record.slack_user_id] = row.line
        records.append((row, record))
    return records, errors, synonyms


def import_expert_file(
    session: Session,
    *,
    file: RegisterFile,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    source: str = "import",
    consent_on_paper: bool = False,
    slack_emails: SlackEmailLookup | None = None,
    relist_erased: bool = False,
) -> ImportReport:
    """``import_experts`` for a file already read (or built in memory)."""
    report, present, resolver = _start_import(
        session, file, kind="experts", known=EXPERT_COLUMNS, required=EXPERT_REQUIRED, now=now, dry_run=dry_run
    )
    existing = {e.email: e for e in repo.list_experts(session)}

    records, errors, synonyms = _read_expert_rows(file, resolver, present)
    if "slack_user_id" in present:
        errors.extend(slack_ids_held(file, records, existing))
    fail_if_errors(errors, file)
    synonyms.report_to(report, file)
    erased = find_erased_rows(
        session, file=file, records=records, existing=existing, present=present, relist=relist_erased
    )
    report.erased.extend(erased.lines())
    report.erased_people, report.erased_slack_ids = len(erased.people), len(erased.slack_ids)
    relisted = [(row, r) for row, r in records if r.email in erased.relisted()] if relist_erased else []
    records = records if relist_erased else [(row, r) for row, r in records if r.email not in erased.people]
    conflicts, unchecked = (
        ({}, [])
        if "slack_user_id" in present
        else claim_conflicts(((row.line, r.email) for row, r in records), existing, slack_emails, file=file.name)
    )
    fail_if_errors(unchecked, file)  # Slack could not be asked: nobody is unlinked on a guess
    report.conflicts.extend(conflicts.values())

    plans: list[ExpertPlan] = []
    for _row, record in records:
        values = {k: v for k, v in _expert_values(record).items() if k in present}
        if record.email in conflicts:
            values["slack_user_id"] = None  # not the account Slack confirms for the address: not routed to it
        if record.email in erased.slack_ids and not relist_erased:
            values.pop("slack_user_id", None)  # an erased person's id: the expert keeps the one they have
        stored = existing.get(record.email)
        consent = consent_on_paper and stored is not None and stored.consent is Consent.PENDING
        consent = consent or (stored is not None and _account_changes(stored.slack_user_id, values))
        current = expert_snapshot(stored) if stored is not None else None
        changed = report.compare(record.email, current, values, also=["consent"] if consent else ())
        if changed is not None:
            plans.append((record, stored, values, changed))
    if dry_run:
        return report

    with _conflicts_fail_the_import(file):
        _write_experts(
            session,
            plans=plans,
            actor=actor,
            now=now,
            progress=progress,
            source=source,
            consent_on_paper=consent_on_paper,
        )
        relist_erased_rows(session, records=relisted, erased=erased, actor=actor, now=now)
    return report


def _account_changes(slack_user_id: str | None, values: Mapping[str, Any]) -> bool:
    """The expert's Slack account changes or goes: its consent and availability were that account's."""
    return bool(slack_user_id) and "slack_user_id" in values and values["slack_user_id"] != slack_user_id


def _write_experts(
    session: Session,
    *,
    plans: list[ExpertPlan],
    actor: str,
    now: datetime,
    progress: Progress | None,
    source: str,
    consent_on_paper: bool,
) -> None:
    befores = [expert_audit(found) if found is not None else None for _r, found, _v, _c in plans]
    # Free the Slack ids that move first, so that swapping two ids never trips the unique constraint.
    moving = [stored for _r, stored, _v, changed in plans if stored is not None and "slack_user_id" in changed]
    if moving:
        for moved in moving:
            moved.slack_user_id = None
        session.flush()

    themes = {t.key: t for t in repo.list_themes(session)}
    for (record, found, values, _changed), before in one_by_one(list(zip(plans, befores, strict=True)), progress):
        if found is None:
            expert = repo.create_expert(
                session, email=record.email, name=record.name, organisation=record.organisation, source=source, now=now
            )
        else:
            expert = found
        changes = {k: ([themes[t] for t in v] if k == "themes" else v) for k, v in values.items() if k != "email"}
        if before is not None and _account_changes(before["slack_user_id"], values):
            changes.update(  # what the other account decided is not carried over: the new one is asked
                consent=Consent.PENDING,
                consent_changed_at=now,
                consent_requested_at=None,
                last_confirmed_at=None,
                availability=Availability.AVAILABLE,
                away_until=None,
            )
        if consent_on_paper and expert.consent in (None, Consent.PENDING):
            changes.update(consent=Consent.CONFIRMED, consent_changed_at=now, last_confirmed_at=now)
        repo.update_expert(session, expert=expert, values=changes, now=now)
        session.flush()
        _audit(
            session,
            actor=actor,
            entity_type="expert",
            key=record.email,
            before=before,
            after=expert_audit(expert),
            now=now,
        )
    session.flush()


# --- practices ---------------------------------------------------------------------------------------------------


def practice_label(title: str, city: str) -> str:
    return f"{title} ({city})" if city else title


def practice_snapshot(practice: Practice) -> dict[str, Any]:
    """A practice's register fields as plain values (the file columns plus the linked expert)."""
    return {
        "title": practice.title,
        "summary": practice.summary,
        "city": practice.city,
        "organisation": practice.organisation,
        "themes": sorted(t.key for t in practice.themes),
        "tags": list(practice.tags),
        "outcome": practice.outcome.value if practice.outcome else None,
        "lessons": practice.lessons,
        "contact_email": effective_contact(practice),
        "contact_expert": practice.contact_expert.email if practice.contact_expert else None,
        "url": practice.url,
        "year": practice.year,
    }


def _practice_values(record: PracticeRecord, contact: Expert | None) -> dict[str, Any]:
    return {
        "title": record.title,
        "summary": record.summary,
        "city": record.city,
        "organisation": record.organisation,
        "themes": list(record.themes),
        "tags": list(record.tags),
        "outcome": record.outcome.value if record.outcome else None,
        "lessons": record.lessons,
        "contact_email": record.contact_email,
        "contact_expert": contact.email if contact else None,
        "url": record.url,
        "year": record.year,
    }


def import_practices(
    session: Session,
    *,
    path: Path,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    zone: tzinfo | None = None,
) -> ImportReport:
    """Import a practice register file (.csv or .xlsx). See the module docstring for the rules.

    ``contact_email``: an expert in the register links the practice to that expert; any other address (a team
    mailbox) is kept as a plain contact address and mentioned in the report's notes. ``zone``: the network's
    (``Settings.timezone``), whose day bounds a practice's year.
    """
    return import_practice_file(
        session, file=read_register_file(path), actor=actor, now=now, dry_run=dry_run, progress=progress, zone=zone
    )


def _read_practice_rows(
    file: RegisterFile, resolver: ThemeResolver, *, today: date
) -> tuple[list[tuple[RawRow, PracticeRecord]], list[str], SynonymNotes]:
    """The file's valid practice rows (a title and city once only), every problem found, the theme synonyms used."""
    errors: list[str] = []
    records: list[tuple[RawRow, PracticeRecord]] = []
    key_rows: dict[tuple[str, str], int] = {}
    synonyms = SynonymNotes()
    for row, record in valid_rows(
        file, partial(validate_practice, themes=resolver, today=today, allow_http=True), errors
    ):
        synonyms.add(row, resolver.synonym_notes(row.values.get("themes")))
        if record.key in key_rows:
            errors.append(
                located(file, row, "title", duplicate_practice(record.title, record.city, key_rows[record.key]))
            )
            continue
        key_rows[record.key] = row.line
        records.append((row, record))
    return records, errors, synonyms


def import_practice_file(
    session: Session,
    *,
    file: RegisterFile,
    actor: str,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    zone: tzinfo | None = None,
) -> ImportReport:
    """``import_practices`` for a file already read (or built in memory)."""
    report, present, resolver = _start_import(
        session,
        file,
        kind="practices",
        known=PRACTICE_COLUMNS,
        required=(*PRACTICE_REQUIRED, *PRACTICE_KEY_COLUMNS),
        now=now,
        dry_run=dry_run,
    )
    today = local_day(now, zone)  # the network's day: "next year" turns at local midnight, as everywhere
    stored = repo.list_practices(session)
    exact = {(p.title, p.city): p for p in stored}
    folded: dict[tuple[str, str], Practice] = {}
    for practice in stored:
        folded.setdefault(practice_key(practice.title, practice.city), practice)
    experts = {e.email: e for e in repo.list_experts(session)}

    records, errors, synonyms = _read_practice_rows(file, resolver, today=today)
    fail_if_errors(errors, file)
    synonyms.report_to(report, file)

    mailboxes: dict[str, list[int]] = {}
    plans: list[PracticePlan] = []
    for row, record in records:
        contact = experts.get(record.contact_email) if record.contact_email else None
        if "contact_email" in present and record.contact_email and contact is None:
            mailboxes.setdefault(record.contact_email, []).append(row.line)
        values = {
            k: v
            for k, v in _practice_values(record, contact).items()
            if k in present or (k == "contact_expert" and "contact_email" in present)
        }
        stored_practice = exact.get((record.title, record.city)) or folded.get(record.key)
        current = practice_snapshot(stored_practice) if stored_practice is not None else None
        if report.compare(practice_label(record.title, record.city), current, values) is not None:
            plans.append((record, stored_practice, contact, values))
    for address, lines in sorted(mailboxes.items()):
        rows = ", ".join(str(n) for n in lines)
        report.notes.append(
            Problem(
                f"{file.name}: contact {address} (row{'s' if len(lines) > 1 else ''} {rows}) is not an expert in the "
                "register: kept as a plain contact address",
                "mailbox_rows" if len(lines) > 1 else "mailbox_row",
                {"file": file.name, "address": address, "rows": rows},
            )
        )
    if dry_run:
        return report

    with _conflicts_fail_the_import(file):
        _write_practices(session, plans=plans, actor=actor, now=now, progress=progress)
    return report


def _write_practices(
    session: Session, *, plans: list[PracticePlan], actor: str, now: datetime, progress: Progress | None
) -> None:
    themes = {t.key: t for t in repo.list_themes(session)}
    for record, found, contact, values in one_by_one(plans, progress):
        if found is None:
            practice = repo.create_practice(
                session, title=record.title, city=record.city, summary=record.summary, now=now
            )
            before_practice: dict[str, Any] | None = None
        else:
            practice = found
            before_practice = practice_snapshot(practice)
        changes: dict[str, Any] = dict(values)
        if "themes" in changes:
            changes["themes"] = [themes[k] for k in values["themes"]]
        if "outcome" in changes:
            changes["outcome"] = Outcome(values["outcome"]) if values["outcome"] else None
        if "contact_expert" in changes:
            changes["contact_expert"] = contact
        repo.update_practice(session, practice=practice, values=changes, now=now)
        session.flush()
        label = practice_label(practice.title, practice.city)
        after = practice_snapshot(practice)
        _audit(session, actor=actor, entity_type="practice", key=label, before=before_practice, after=after, now=now)
    session.flush()
