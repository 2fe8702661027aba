"""Register exports: every expert or practice in the import format, deterministic (experts by email; practices by
city then title, case-insensitively), so export → import changes nothing and export → import → export gives the
same bytes. Re-exported by ``bot.register.service``.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from bot.register.files import Cell, write_register_file
from bot.register.validation import EXPERT_COLUMNS, PRACTICE_COLUMNS
from storage import register_repo as repo
from storage.models import Expert, Practice


def effective_contact(practice: Practice) -> str:
    """The contact address of a practice: its linked expert's (current) email, else the plain address."""
    if practice.contact_expert is not None:
        return practice.contact_expert.email
    return practice.contact_email


def expert_row(expert: Expert) -> list[Cell]:
    return [
        expert.name,
        expert.email,
        expert.slack_user_id or "",
        expert.organisation,
        expert.city,
        expert.role,
        ";".join(expert.expertise),
        ";".join(sorted(t.key for t in expert.themes)),
        ";".join(expert.languages),
        expert.bio,
    ]


def practice_row(practice: Practice) -> list[Cell]:
    return [
        practice.title,
        practice.summary,
        practice.city,
        practice.organisation,
        ";".join(sorted(t.key for t in practice.themes)),
        ";".join(practice.tags),
        practice.outcome.value if practice.outcome else "",
        practice.lessons,
        effective_contact(practice),
        practice.url,
        practice.year,
    ]


def export_experts(session: Session, *, path: Path | BinaryIO, excel: bool = False) -> int:
    """Write every expert to ``path`` (.csv or .xlsx) in the import format, ordered by email. Returns the count.

    ``path`` may be a binary stream (CSV is written to it); ``excel``: CSV as Excel in a Dutch/Belgian locale
    opens it (``;``, a BOM, CRLF). Formula-like cells are neutralised in CSV (see ``bot.register.files``).
    """
    experts = repo.list_experts(session)
    write_register_file(path, EXPERT_COLUMNS, [expert_row(e) for e in experts], excel=excel)
    return len(experts)


def export_practices(session: Session, *, path: Path | BinaryIO, excel: bool = False) -> int:
    """Write every practice to ``path`` in the import format, ordered by (city, title). Returns the count."""
    practices = repo.list_practices(session)
    write_register_file(path, PRACTICE_COLUMNS, [practice_row(p) for p in practices], excel=excel)
    return len(practices)
