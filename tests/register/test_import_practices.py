"""Importing the practice register: key (title, city), contacts and team mailboxes, errors — both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.errors import ImportFailed
from bot.register.report import RecordChange
from storage.db import Database
from storage.models import AuditLog, Outcome, Practice, RecordStatus
from tests.register.conftest import (
    EXPERTS,
    PRACTICE_HEADER,
    PRACTICES,
    Write,
    count,
    import_errors,
    run_import,
    write_xlsx,
)


def practice(database: Database, title: str) -> dict[str, object]:
    with database.session() as session:
        p = session.scalars(select(Practice).where(Practice.title == title)).one()
        return {
            "city": p.city,
            "outcome": p.outcome,
            "year": p.year,
            "themes": [t.key for t in p.themes],
            "tags": p.tags,
            "contact_email": p.contact_email,
            "contact": p.contact_expert.email if p.contact_expert else None,
            "status": p.status,
            "summary": p.summary,
        }


def test_practices_link_experts_and_keep_team_mailboxes(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    report = run_import(database, "practices", write("practices.csv", PRACTICES))
    assert (report.added, report.changed, report.unchanged) == (3, 0, 0)
    assert report.notes == [
        "practices.csv: contact wonen@aalst.be (row 3) is not an expert in the register: "
        "kept as a plain contact address"
    ]
    assert practice(database, "Leegstandsheffing winkels") == {
        "city": "Kortrijk",
        "outcome": Outcome.FAILED,  # Dutch "mislukt"
        "year": 2019,
        "themes": ["wonen"],
        "tags": ["heffing", "winkels"],
        "contact_email": "an.peeters@gent.be",
        "contact": "an.peeters@gent.be",
        "status": RecordStatus.PUBLISHED,
        "summary": "Heffing op lege panden.",
    }
    woonwinkel = practice(database, "Woonwinkel")
    assert woonwinkel["contact"] is None and woonwinkel["contact_email"] == "wonen@aalst.be"
    proeftuin = practice(database, "Proeftuin")
    assert proeftuin["city"] == "" and proeftuin["outcome"] is None and proeftuin["year"] is None
    with database.session() as session:
        keys = [a.entity_key for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert keys[-3:] == ["Leegstandsheffing winkels (Kortrijk)", "Woonwinkel (Aalst)", "Proeftuin"]


def test_a_mailbox_becomes_a_link_once_the_expert_is_registered(database: Database, write: Write) -> None:
    path = write("practices.csv", PRACTICES)
    run_import(database, "practices", path)
    assert practice(database, "Leegstandsheffing winkels")["contact"] is None
    run_import(database, "experts", write("experts.csv", EXPERTS))
    report = run_import(database, "practices", path)
    assert report.changes == [RecordChange("Leegstandsheffing winkels (Kortrijk)", "changed", ("contact_expert",))]
    assert practice(database, "Leegstandsheffing winkels")["contact"] == "an.peeters@gent.be"
    assert run_import(database, "practices", path).unchanged == 3


def test_key_is_title_and_city_in_any_case(database: Database, write: Write) -> None:
    run_import(database, "practices", write("practices.csv", PRACTICES))
    same = PRACTICE_HEADER + "\nWOONWINKEL,Eén loket.,aalst,Stad Aalst,wonen,loket,good,,wonen@aalst.be,,2012\n"
    report = run_import(database, "practices", write("same.csv", same))
    assert report.changes == [RecordChange("WOONWINKEL (aalst)", "changed", ("title", "city"))]
    other_city = PRACTICE_HEADER + "\nWoonwinkel,Ook hier.,Genk,,,,,,,,\n"
    assert run_import(database, "practices", write("genk.csv", other_city)).added == 1
    assert count(database, Practice) == 4


def test_summary_change_is_reported_per_field_and_audited(database: Database, write: Write) -> None:
    run_import(database, "practices", write("practices.csv", PRACTICES))
    edited = PRACTICES.replace("Eén loket.", "Eén loket voor alles.").replace(",good,", ",gemengd,")
    report = run_import(database, "practices", write("p2.csv", edited), dry_run=True)
    assert report.changes == [RecordChange("Woonwinkel (Aalst)", "changed", ("summary", "outcome"))]
    assert practice(database, "Woonwinkel")["outcome"] is Outcome.GOOD  # dry run: nothing written
    run_import(database, "practices", write("p2.csv", edited))
    with database.session() as session:
        audit = session.scalars(
            select(AuditLog).where(AuditLog.entity_key == "Woonwinkel (Aalst)").order_by(AuditLog.id)
        ).all()
    assert audit[-1].before is not None and audit[-1].after is not None
    assert (audit[-1].before["outcome"], audit[-1].after["outcome"]) == ("good", "mixed")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",Samenvatting,Gent,,,,,,,,", "p.csv: row 2, column title: missing required value"),
        ("Titel,,Gent,,,,,,,,", "p.csv: row 2, column summary: missing required value"),
        (
            "Titel,S,Gent,,,,super,,,,",
            "p.csv: row 2, column outcome: unknown outcome 'super' (use good, mixed or failed",
        ),
        ("Titel,S,Gent,,,,,,,,1850", "p.csv: row 2, column year: year 1850 is out of range (1990–2027)"),
        ("Titel,S,Gent,,,,,,,,2099", "p.csv: row 2, column year: year 2099 is out of range (1990–2027)"),
        ("Titel,S,Gent,,,,,,,,twintig", "p.csv: row 2, column year: 'twintig' is not a year"),
        ("Titel,S,Gent,,,,,,,ftp://x.be,", "p.csv: row 2, column url: 'ftp://x.be' is not a web address"),
        ("Titel,S,Gent,,,,,,contact@,,", "p.csv: row 2, column contact_email: 'contact@' is not a valid email address"),
        (
            "Titel,S,Gent,,klimaatt,,,,,,",
            "p.csv: row 2, column themes: unknown theme 'klimaatt' (did you mean 'klimaat'?)",
        ),
    ],
)
def test_each_bad_row_names_file_row_and_column(database: Database, write: Write, row: str, expected: str) -> None:
    errors = import_errors(database, "practices", write("p.csv", PRACTICE_HEADER + "\n" + row + "\nOk,S,,,,,,,,,\n"))
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert count(database, Practice) == 0


def test_duplicate_key_in_the_file_names_both_rows(database: Database, write: Write) -> None:
    text = PRACTICE_HEADER + "\nT,S,Gent,,,,,,,,\nT,S,Aalst,,,,,,,,\nt,S2,GENT,,,,,,,,\nU,S,,,,,,,,,\nu,S,,,,,,,,,\n"
    assert import_errors(database, "practices", write("p.csv", text)) == [
        "p.csv: row 4, column title: duplicate key: 't' in 'GENT' is also in row 2",
        "p.csv: row 6, column title: duplicate key: 'u' (no city) is also in row 5",
    ]


def test_city_is_part_of_the_key_so_its_column_is_required(database: Database, write: Write) -> None:
    with pytest.raises(ImportFailed, match=r"lacks the required column 'city'"):
        run_import(database, "practices", write("p.csv", "title,summary\nT,S\n"))


def test_all_or_nothing_with_a_bad_row_among_good_ones(database: Database, write: Write) -> None:
    run_import(database, "practices", write("practices.csv", PRACTICES))
    bad = PRACTICES.replace("Eén loket.", "Anders.") + "Nieuw,S,Gent,,,,,,,,\nKapot,S,Gent,,,,,,,,3000\n"
    errors = import_errors(database, "practices", write("bad.csv", bad))
    assert errors == ["bad.csv: row 6, column year: year 3000 is out of range (1990–2027)"]
    assert count(database, Practice) == 3 and practice(database, "Woonwinkel")["summary"] == "Eén loket."
    assert count(database, AuditLog) == 3


def test_xlsx_import_with_numbers_as_excel_stores_them(database: Database, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "practices.xlsx",
        [
            PRACTICE_HEADER.split(","),
            ["Wijkbudget", "Bewoners beslissen.", "Gent", "Stad Gent", "gebiedsgericht", "budget", "goed", None, None,
             "https://stad.gent/wijkbudget", 2018],
            ["Leeg", "S", "Gent", None, None, None, None, None, None, None, 2019.0],
        ],
    )  # fmt: skip
    report = run_import(database, "practices", path)
    assert report.added == 2
    assert practice(database, "Wijkbudget")["year"] == 2018 and practice(database, "Leeg")["year"] == 2019
    errors = import_errors(
        database, "practices", write_xlsx(tmp_path / "bad.xlsx", [PRACTICE_HEADER.split(","), ["T", None]])
    )
    assert errors == ["bad.xlsx: row 2, column summary: missing required value"]
