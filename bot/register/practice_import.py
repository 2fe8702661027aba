"""The practice register's import (by title and city), and a practice as plain values: what an import compares
and what the audit log records of a practice (``practice_snapshot``, ``practice_label``; submissions write those
too).

Part of ``bot.register.service``, whose docstring has the rules (import ``import_practices`` from there).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.errors import Problem
from bot.i18n import local_day
from bot.register.export import effective_contact
from bot.register.files import RawRow, RegisterFile, read_register_file
from bot.register.import_steps import audit_import, conflicts_fail_the_import, start_import
from bot.register.report import (
    ImportReport,
    Progress,
    SynonymNotes,
    duplicate_practice,
    fail_if_errors,
    located,
    one_by_one,
    valid_rows,
)
from bot.register.themes import ThemeResolver
from bot.register.validation import (
    PRACTICE_COLUMNS,
    PRACTICE_REQUIRED,
    PracticeRecord,
    practice_key,
    validate_practice,
)
from storage import register_repo as repo
from storage.models import Expert, Outcome, Practice

PRACTICE_KEY_COLUMNS = ("title", "city")
# What an import will write, decided before writing: (record, stored record or None for a new one, values, ...).
PracticePlan = tuple[PracticeRecord, Practice | None, Expert | None, dict[str, Any]]


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
    report, present, resolver = start_import(
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

    with conflicts_fail_the_import(file):
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
        audit_import(
            session, actor=actor, entity_type="practice", key=label, before=before_practice, after=after, now=now
        )
    session.flush()
