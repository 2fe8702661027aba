"""Register import, export and listing — the same functions for the CLI and, later, for Slack.

Imports are all or nothing: every row is validated first and any error means nothing is written (the caller's
transaction is never committed by these functions). Records are upserted by key (experts: email; practices:
title + city) and each added or changed record gets an audit log row. Imports never delete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.errors import ImportFailed
from bot.register.files import RawRow, RegisterFile, read_register_file, write_register_file
from bot.register.themes import (
    THEME_COLUMNS,
    ThemeResolver,
    ThemeSpec,
    ensure_default_themes,
    upsert_themes,
    validate_theme_row,
)
from bot.register.validation import (
    EXPERT_COLUMNS,
    EXPERT_REQUIRED,
    PRACTICE_COLUMNS,
    PRACTICE_REQUIRED,
    ExpertRecord,
    FieldError,
    PracticeRecord,
    validate_expert,
    validate_practice,
)
from storage import repositories as repo
from storage.models import Consent, Expert, Outcome, Practice

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class RecordChange:
    key: str
    action: str  # "added" | "changed"
    fields: tuple[str, ...] = ()


@dataclass
class ImportReport:
    kind: str
    file: str
    dry_run: bool
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    changes: list[RecordChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.added + self.changed + self.unchanged


def _location(file: RegisterFile, row: RawRow, error: FieldError) -> str:
    return f"{file.path.name}: row {row.row}, column {error.column}: {error.message}"


def _check_columns(file: RegisterFile, *, known: Sequence[str], required: Sequence[str], report: ImportReport) -> None:
    missing = [c for c in required if c not in file.columns]
    if missing:
        raise ImportFailed(
            "missing_columns",
            f"{file.path.name}: the header lacks required column(s) {', '.join(missing)}; "
            f"expected columns: {','.join(known)}",
        )
    unknown = [c for c in file.columns if c and c not in known]
    if unknown:
        report.warnings.append(f"{file.path.name}: unknown column(s) ignored: {', '.join(unknown)}")
    for row in file.rows:
        if "__extra__" in row.values:
            report.warnings.append(f"{file.path.name}: row {row.row}: cells beyond the header ignored")


def _fail_if(errors: list[str], file: RegisterFile) -> None:
    if errors:
        raise ImportFailed(
            "invalid_rows",
            f"{file.path.name}: {len(errors)} problem(s), nothing was imported",
            errors=errors,
        )


# --- experts ---------------------------------------------------------------------------------------------------


def expert_snapshot(expert: Expert) -> dict[str, Any]:
    return {
        "name": expert.name,
        "email": expert.email,
        "slack_user_id": expert.slack_user_id,
        "organisation": expert.organisation,
        "city": expert.city,
        "role": expert.role,
        "expertise": list(expert.expertise),
        "themes": [t.key for t in expert.themes],
        "languages": list(expert.languages),
        "bio": expert.bio,
    }


def _expert_values(record: ExpertRecord, columns: Sequence[str]) -> dict[str, Any]:
    """The values the file provides (a column absent from the header leaves that field untouched)."""
    values: dict[str, Any] = {
        "name": record.name,
        "email": record.email,
        "slack_user_id": record.slack_user_id,
        "organisation": record.organisation,
        "city": record.city,
        "role": record.role,
        "expertise": list(record.expertise),
        "themes": sorted(record.themes),
        "languages": list(record.languages),
        "bio": record.bio,
    }
    return {k: v for k, v in values.items() if k in columns}


def import_experts(
    session: Session,
    *,
    path: Path,
    dry_run: bool,
    actor: str,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    file = read_register_file(path)
    report = ImportReport(kind="experts", file=path.name, dry_run=dry_run)
    _check_columns(file, known=EXPERT_COLUMNS, required=EXPERT_REQUIRED, report=report)
    ensure_default_themes(session, now=now)
    resolver = ThemeResolver.from_session(session)

    errors: list[str] = []
    records: list[tuple[RawRow, ExpertRecord]] = []
    seen_email: dict[str, int] = {}
    seen_slack: dict[str, int] = {}
    for row in file.rows:
        record, field_errors = validate_expert(row.values, themes=resolver)
        errors.extend(_location(file, row, e) for e in field_errors)
        if record is None:
            continue
        if record.email in seen_email:
            errors.append(
                f"{file.path.name}: row {row.row}, column email: duplicate key {record.email!r} "
                f"(also in row {seen_email[record.email]})"
            )
            continue
        seen_email[record.email] = row.row
        if record.slack_user_id:
            if record.slack_user_id in seen_slack:
                errors.append(
                    f"{file.path.name}: row {row.row}, column slack_user_id: {record.slack_user_id} is also used "
                    f"in row {seen_slack[record.slack_user_id]}"
                )
            seen_slack[record.slack_user_id] = row.row
            other = repo.get_expert_by_slack_id(session, slack_user_id=record.slack_user_id)
            if other is not None and other.email != record.email:
                errors.append(
                    f"{file.path.name}: row {row.row}, column slack_user_id: {record.slack_user_id} already belongs "
                    f"to {other.email}"
                )
        records.append((row, record))
    if not file.rows:
        errors.append(f"{file.path.name}: no data rows below the header")
    _fail_if(errors, file)

    for done, (_row, record) in enumerate(records, start=1):
        values = _expert_values(record, file.columns)
        expert = repo.get_expert_by_email(session, email=record.email)
        if expert is None:
            report.added += 1
            report.changes.append(RecordChange(record.email, "added"))
            if not dry_run:
                expert = Expert(
                    email=record.email,
                    name=record.name,
                    organisation=record.organisation,
                    consent=Consent.PENDING,
                    source="import",
                    created_at=now,
                    updated_at=now,
                )
                session.add(expert)
                _apply_expert(session, expert, values, now=now)
                session.flush()
                repo.create_audit_log(
                    session,
                    actor=actor,
                    action="import",
                    entity_type="expert",
                    entity_key=record.email,
                    before=None,
                    after=expert_snapshot(expert),
                    now=now,
                )
        else:
            before = expert_snapshot(expert)
            changed = [k for k, v in values.items() if before.get(k) != v]
            if not changed:
                report.unchanged += 1
            else:
                report.changed += 1
                report.changes.append(RecordChange(record.email, "changed", tuple(changed)))
                if not dry_run:
                    _apply_expert(session, expert, values, now=now)
                    session.flush()
                    repo.create_audit_log(
                        session,
                        actor=actor,
                        action="import",
                        entity_type="expert",
                        entity_key=record.email,
                        before=before,
                        after=expert_snapshot(expert),
                        now=now,
                    )
        if progress is not None:
            progress(done)
    return report


def _apply_expert(session: Session, expert: Expert, values: dict[str, Any], *, now: datetime) -> None:
    for key, value in values.items():
        if key == "themes":
            expert.themes = repo.get_themes_by_keys(session, keys=value)
        elif key != "email":
            setattr(expert, key, value)
    expert.updated_at = now


# --- practices -------------------------------------------------------------------------------------------------


def practice_snapshot(practice: Practice) -> dict[str, Any]:
    return {
        "title": practice.title,
        "summary": practice.summary,
        "city": practice.city,
        "organisation": practice.organisation,
        "themes": [t.key for t in practice.themes],
        "tags": list(practice.tags),
        "outcome": practice.outcome.value if practice.outcome else None,
        "lessons": practice.lessons,
        "contact_email": practice.contact_email,
        "url": practice.url,
        "year": practice.year,
    }


def _practice_values(record: PracticeRecord, columns: Sequence[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": record.title,
        "summary": record.summary,
        "city": record.city,
        "organisation": record.organisation,
        "themes": sorted(record.themes),
        "tags": list(record.tags),
        "outcome": record.outcome.value if record.outcome else None,
        "lessons": record.lessons,
        "contact_email": record.contact_email,
        "url": record.url,
        "year": record.year,
    }
    return {k: v for k, v in values.items() if k in columns or k == "city"}


def import_practices(
    session: Session,
    *,
    path: Path,
    dry_run: bool,
    actor: str,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    file = read_register_file(path)
    report = ImportReport(kind="practices", file=path.name, dry_run=dry_run)
    _check_columns(file, known=PRACTICE_COLUMNS, required=PRACTICE_REQUIRED, report=report)
    ensure_default_themes(session, now=now)
    resolver = ThemeResolver.from_session(session)
    today = now.date()

    errors: list[str] = []
    records: list[tuple[RawRow, PracticeRecord]] = []
    seen: dict[tuple[str, str], int] = {}
    for row in file.rows:
        record, field_errors = validate_practice(row.values, themes=resolver, today=today)
        errors.extend(_location(file, row, e) for e in field_errors)
        if record is None:
            continue
        key = (record.title.casefold(), record.city.casefold())
        if key in seen:
            errors.append(
                f"{file.path.name}: row {row.row}, column title: duplicate key ({record.title!r}, "
                f"{record.city!r}) (also in row {seen[key]})"
            )
            continue
        seen[key] = row.row
        records.append((row, record))
    if not file.rows:
        errors.append(f"{file.path.name}: no data rows below the header")
    _fail_if(errors, file)

    mailboxes: set[str] = set()
    for done, (_row, record) in enumerate(records, start=1):
        values = _practice_values(record, file.columns)
        contact = repo.get_expert_by_email(session, email=record.contact_email) if record.contact_email else None
        if record.contact_email and contact is None:
            mailboxes.add(record.contact_email)
        label = f"{record.title} ({record.city})" if record.city else record.title
        practice = repo.get_practice_by_key(session, title=record.title, city=record.city)
        if practice is None:
            report.added += 1
            report.changes.append(RecordChange(label, "added"))
            if not dry_run:
                practice = Practice(
                    title=record.title, city=record.city, summary=record.summary, created_at=now, updated_at=now
                )
                session.add(practice)
                _apply_practice(session, practice, values, contact=contact, now=now)
                session.flush()
                repo.create_audit_log(
                    session,
                    actor=actor,
                    action="import",
                    entity_type="practice",
                    entity_key=label,
                    before=None,
                    after=practice_snapshot(practice),
                    now=now,
                )
        else:
            before = practice_snapshot(practice)
            changed = [k for k, v in values.items() if before.get(k) != v]
            relink = "contact_email" in values and practice.contact_expert_id != (contact.id if contact else None)
            if not changed and not relink:
                report.unchanged += 1
            else:
                report.changed += 1
                report.changes.append(RecordChange(label, "changed", tuple(changed or ["contact"])))
                if not dry_run:
                    _apply_practice(session, practice, values, contact=contact, now=now)
                    session.flush()
                    repo.create_audit_log(
                        session,
                        actor=actor,
                        action="import",
                        entity_type="practice",
                        entity_key=label,
                        before=before,
                        after=practice_snapshot(practice),
                        now=now,
                    )
        if progress is not None:
            progress(done)
    for mailbox in sorted(mailboxes):
        report.notes.append(f"contact {mailbox} is not an expert in the register: kept as a plain contact address")
    return report


def _apply_practice(
    session: Session, practice: Practice, values: dict[str, Any], *, contact: Expert | None, now: datetime
) -> None:
    for key, value in values.items():
        if key == "themes":
            practice.themes = repo.get_themes_by_keys(session, keys=value)
        elif key == "outcome":
            practice.outcome = Outcome(value) if value else None
        elif key not in {"title", "city"}:
            setattr(practice, key, value)
    if "contact_email" in values:
        practice.contact_expert_id = contact.id if contact else None
    practice.updated_at = now


# --- export ----------------------------------------------------------------------------------------------------


def expert_row(expert: Expert) -> list[str]:
    return [
        expert.name,
        expert.email,
        expert.slack_user_id or "",
        expert.organisation,
        expert.city,
        expert.role,
        ";".join(expert.expertise),
        ";".join(t.key for t in expert.themes),
        ";".join(expert.languages),
        expert.bio,
    ]


def practice_row(practice: Practice) -> list[str]:
    return [
        practice.title,
        practice.summary,
        practice.city,
        practice.organisation,
        ";".join(t.key for t in practice.themes),
        ";".join(practice.tags),
        practice.outcome.value if practice.outcome else "",
        practice.lessons,
        practice.contact_email,
        practice.url,
        str(practice.year) if practice.year is not None else "",
    ]


def export_experts(session: Session, *, path: Path) -> int:
    experts = repo.list_experts(session)
    write_register_file(path, EXPERT_COLUMNS, [expert_row(e) for e in experts])
    return len(experts)


def export_practices(session: Session, *, path: Path) -> int:
    practices = repo.list_practices(session)
    write_register_file(path, PRACTICE_COLUMNS, [practice_row(p) for p in practices])
    return len(practices)


# --- themes ----------------------------------------------------------------------------------------------------


def import_themes(session: Session, *, path: Path, actor: str, now: datetime, dry_run: bool = False) -> ImportReport:
    file = read_register_file(path)
    report = ImportReport(kind="themes", file=path.name, dry_run=dry_run)
    _check_columns(file, known=THEME_COLUMNS, required=("key", "label_nl", "label_en"), report=report)
    ensure_default_themes(session, now=now)
    errors: list[str] = []
    specs: list[ThemeSpec] = []
    seen: dict[str, int] = {}
    for row in file.rows:
        spec, problems = validate_theme_row(row.values)
        errors.extend(f"{file.path.name}: row {row.row}, column {column}: {problem}" for column, problem in problems)
        if spec is None:
            continue
        if spec.key in seen:
            errors.append(
                f"{file.path.name}: row {row.row}, column key: duplicate key {spec.key!r} "
                f"(also in row {seen[spec.key]})"
            )
            continue
        seen[spec.key] = row.row
        specs.append(spec)
    _fail_if(errors, file)
    if dry_run:
        existing = {t.key for t in repo.list_themes(session)}
        report.added = sum(1 for s in specs if s.key not in existing)
        report.unchanged = len(specs) - report.added
        return report
    report.added, report.changed, report.unchanged = upsert_themes(session, specs=specs, now=now)
    repo.create_audit_log(
        session,
        actor=actor,
        action="import",
        entity_type="themes",
        entity_key=path.name,
        before=None,
        after={"keys": [s.key for s in specs]},
        now=now,
    )
    return report
