"""Helpers for the register tests: small invented registers, file writers and import runners."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.errors import ImportFailed
from bot.register import service
from bot.register.report import ImportReport
from storage.db import Database

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
EXPERT_HEADER = "name,email,slack_user_id,organisation,city,role,expertise,themes,languages,bio"
PRACTICE_HEADER = "title,summary,city,organisation,themes,tags,outcome,lessons,contact_email,url,year"
THEME_HEADER = "key,label_nl,label_en,synonyms"

# Two invented experts: a quoted cell with doubled quotes, a label instead of a key, "|" as a list separator.
EXPERTS = (
    EXPERT_HEADER
    + "\n"
    + 'An Peeters,An.Peeters@gent.be,U0AN,Stad Gent,Gent,beleidsmedewerker,"leegstandsheffing;woningkwaliteit",'
    + 'wonen;Europe and EU funding,nl;en,"Zei: ""leegstand"" is duur."\n'
    + "Bram De Smet,bram@vvsg.be,,VVSG,,adviseur,financiën|BBC,financien,nl,\n"
)
# Three practices: one linked to an expert, one with a team mailbox, one without city.
PRACTICES = (
    PRACTICE_HEADER
    + "\n"
    + "Leegstandsheffing winkels,Heffing op lege panden.,Kortrijk,Stad Kortrijk,wonen,heffing;winkels,mislukt,"
    + "Te laag tarief.,an.peeters@gent.be,https://www.kortrijk.be/x,2019\n"
    + "Woonwinkel,Eén loket.,Aalst,Stad Aalst,wonen,loket,good,,wonen@aalst.be,,2012\n"
    + "Proeftuin,Vlaamse proeftuin.,,VLAIO,economie,,,,,,\n"
)

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write text to a file in tmp_path (any encoding) and return its path."""

    def _write(name: str, text: str, *, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return _write


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def run_import(database: Database, kind: str, path: Path, *, dry_run: bool = False) -> ImportReport:
    with database.session() as session:
        if kind == "experts":
            return service.import_experts(session, path=path, dry_run=dry_run, actor="cli:test", now=NOW)
        if kind == "practices":
            return service.import_practices(session, path=path, dry_run=dry_run, actor="cli:test", now=NOW)
        return service.import_themes(session, path=path, dry_run=dry_run, actor="cli:test", now=NOW)


def import_errors(database: Database, kind: str, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        run_import(database, kind, path)
    return info.value.errors


def count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def export(database: Database, kind: str, path: Path) -> int:
    with database.session() as session:
        if kind == "experts":
            return service.export_experts(session, path=path)
        return service.export_practices(session, path=path)
