"""The steps every register import takes: its report and the file's columns first, a unique key tripped by
someone else's change turned into a clear failure, an audit row for every record added or changed.

Shared by the expert and the practice import (``bot.register.expert_import``, ``bot.register.practice_import``);
the rules of both are in ``bot.register.service``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import ImportFailed, Problem
from bot.register.files import RegisterFile
from bot.register.report import ImportReport, check_header
from bot.register.themes import ThemeResolver, ensure_default_themes
from bot.text import noun
from storage import register_repo as repo


def start_import(
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
                f"{file.name}: no {noun(len(absent), 'column')} {', '.join(absent)}: those fields of existing {kind} "
                "are left as they are (new ones get them empty)",
                f"absent_columns_{kind}",
                {"file": file.name, "columns": ", ".join(absent)},
            )
        )
    if not dry_run:
        ensure_default_themes(session, now=now)
    return report, present, ThemeResolver.for_session(session)


@contextmanager
def conflicts_fail_the_import(file: RegisterFile) -> Iterator[None]:
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


def audit_import(
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
