"""The expert register's import (by e-mail address), and an expert as plain values: what an import compares and
what the audit log records of an expert (``expert_snapshot``, ``expert_audit``; profiles and consent write those
too).

Part of ``bot.register.service``, whose docstring has the rules (import ``import_experts`` from there).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.errors import Problem
from bot.register.erased import find_erased_rows, relist_erased_rows
from bot.register.files import RawRow, RegisterFile, read_register_file
from bot.register.identity import SlackEmailLookup, claim_conflicts, slack_ids_held
from bot.register.import_steps import audit_import, conflicts_fail_the_import, start_import
from bot.register.report import (
    ImportReport,
    Progress,
    SynonymNotes,
    duplicate_key,
    fail_if_errors,
    located,
    one_by_one,
    valid_rows,
)
from bot.register.themes import ThemeResolver
from bot.register.validation import EXPERT_COLUMNS, EXPERT_REQUIRED, ExpertRecord, validate_expert
from storage import register_repo as repo
from storage.models import Availability, Consent, Expert

# What an import will write, decided before writing: (record, stored record or None for a new one, values, ...).
ExpertPlan = tuple[ExpertRecord, Expert | None, dict[str, Any], list[str]]


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
    report, present, resolver = start_import(
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

    with conflicts_fail_the_import(file):
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
        audit_import(
            session,
            actor=actor,
            entity_type="expert",
            key=record.email,
            before=before,
            after=expert_audit(expert),
            now=now,
        )
    session.flush()
