"""Register import/export: every error case, formats, round trip, all-or-nothing — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.errors import ImportFailed
from bot.register import service
from storage.db import Database
from storage.models import AuditLog, Consent, Expert, Outcome, Practice
from tests.register.conftest import EXPERT_HEADER, PRACTICE_HEADER

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
Write = Callable[..., Path]

EXPERTS = (
    EXPERT_HEADER
    + "\n"
    + 'An Peeters,An.Peeters@gent.be,U0AN,Stad Gent,Gent,beleidsmedewerker,"leegstandsheffing;woningkwaliteit",'
    + 'wonen;Europe and EU funding,nl;en,"Zei: ""leegstand"" is duur."\n'
    + "Bram De Smet,bram@vvsg.be,,VVSG,,adviseur,financiën|BBC,financien,nl,\n"
)
PRACTICES = (
    PRACTICE_HEADER
    + "\n"
    + "Leegstandsheffing winkels,Heffing op leege panden.,Kortrijk,Stad Kortrijk,wonen,heffing;winkels,mislukt,"
    + "Te laag tarief.,an.peeters@gent.be,https://www.kortrijk.be/x,2019\n"
    + "Woonwinkel,Eén loket.,Aalst,Stad Aalst,wonen,loket,good,,wonen@aalst.be,,2012\n"
    + "Proeftuin,Vlaamse proeftuin.,,VLAIO,economie,,,,,,\n"
)


def run_import(database: Database, kind: str, path: Path, *, dry_run: bool = False) -> service.ImportReport:
    importer = service.import_experts if kind == "experts" else service.import_practices
    with database.session() as session:
        return importer(session, path=path, dry_run=dry_run, actor="test", now=NOW)


def errors_of(database: Database, kind: str, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        run_import(database, kind, path)
    return info.value.errors


def count(database: Database, model: type[Expert] | type[Practice] | type[AuditLog]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_import_experts_adds_and_normalises(database: Database, write: Write) -> None:
    report = run_import(database, "experts", write("experts.csv", EXPERTS))
    assert (report.added, report.changed, report.unchanged) == (2, 0, 0)
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        assert an.expertise == ["leegstandsheffing", "woningkwaliteit"]
        assert [t.key for t in an.themes] == ["europa", "wonen"]  # a label resolves to its key
        assert an.languages == ["nl", "en"] and an.bio == 'Zei: "leegstand" is duur.'
        assert an.consent is Consent.PENDING and an.source == "import"
        bram = session.scalars(select(Expert).where(Expert.email == "bram@vvsg.be")).one()
        assert bram.slack_user_id is None and bram.expertise == ["financiën", "BBC"]  # | accepted as separator
    assert count(database, AuditLog) == 2


def test_reimport_is_unchanged_and_changes_are_counted(database: Database, write: Write) -> None:
    path = write("experts.csv", EXPERTS)
    run_import(database, "experts", path)
    again = run_import(database, "experts", path)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 2)
    changed = write("experts2.csv", EXPERTS.replace("beleidsmedewerker", "teamleider"))
    report = run_import(database, "experts", changed)
    assert (report.added, report.changed, report.unchanged) == (0, 1, 1)
    assert report.changes[0].fields == ("role",)
    assert count(database, AuditLog) == 3


def test_dry_run_writes_nothing_but_reports(database: Database, write: Write) -> None:
    report = run_import(database, "experts", write("experts.csv", EXPERTS), dry_run=True)
    assert report.added == 2 and report.dry_run
    assert count(database, Expert) == 0 and count(database, AuditLog) == 0


def test_bom_and_semicolon_delimiter_as_excel_writes_it(database: Database, write: Write) -> None:
    text = (
        "\ufeff" + EXPERT_HEADER.replace(",", ";") + "\n"
        'An Peeters;an@gent.be;;Stad Gent;Gent;;"leegstand;heffing";wonen;nl;Bio, met komma\n'
    )
    report = run_import(database, "experts", write("excel.csv", text))
    assert report.added == 1
    with database.session() as session:
        an = session.scalars(select(Expert)).one()
        assert an.name == "An Peeters" and an.expertise == ["leegstand", "heffing"] and an.bio == "Bio, met komma"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",x@gent.be,,Stad Gent,,,,,,", "row 2, column name: missing required value"),
        ("An,,,Stad Gent,,,,,,", "row 2, column email: missing required value"),
        ("An,x@gent.be,,,,,,,,", "row 2, column organisation: missing required value"),
        ("An,not-an-email,,Stad Gent,,,,,,", "row 2, column email: 'not-an-email' is not a valid email address"),
        ("An,x@gent.be,,Stad Gent,,,,woonen,,", "row 2, column themes: unknown theme 'woonen' (did you mean 'wonen'?)"),
        ("An,x@gent.be,bob,Stad Gent,,,,,,", "row 2, column slack_user_id: 'bob' is not a Slack user id"),
        ("An,x@gent.be,,Stad Gent,,,,,dutch,", "row 2, column languages: 'dutch' is not a two-letter language code"),
    ],
)
def test_expert_row_errors_name_file_row_column(database: Database, write: Write, row: str, expected: str) -> None:
    errors = errors_of(database, "experts", write("bad.csv", EXPERT_HEADER + "\n" + row + "\n"))
    assert any(e.startswith("bad.csv: ") and expected in e for e in errors), errors
    assert count(database, Expert) == 0


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (",Samenvatting,Gent,,,,,,,,", "row 2, column title: missing required value"),
        ("Titel,,Gent,,,,,,,,", "row 2, column summary: missing required value"),
        ("Titel,S,Gent,,,,super,,,,", "row 2, column outcome: unknown outcome 'super'"),
        ("Titel,S,Gent,,,,,,,,1850", "row 2, column year: year 1850 is out of range"),
        ("Titel,S,Gent,,,,,,,,2099", "row 2, column year: year 2099 is out of range"),
        ("Titel,S,Gent,,,,,,,,twintig", "row 2, column year: 'twintig' is not a year"),
        ("Titel,S,Gent,,,,,,,ftp://x.be,", "row 2, column url: 'ftp://x.be' is not a web address"),
        ("Titel,S,Gent,,,,,,contact@,,", "row 2, column contact_email: 'contact@' is not a valid email address"),
        ("Titel,S,Gent,,klimaatt,,,,,,", "row 2, column themes: unknown theme 'klimaatt' (did you mean 'klimaat'?)"),
    ],
)
def test_practice_row_errors(database: Database, write: Write, row: str, expected: str) -> None:
    errors = errors_of(database, "practices", write("p.csv", PRACTICE_HEADER + "\n" + row + "\n"))
    assert any(expected in e for e in errors), errors


def test_duplicate_keys_within_file_name_both_rows(database: Database, write: Write) -> None:
    experts = EXPERT_HEADER + "\nA,x@gent.be,,Gent,,,,,,\nB,X@gent.be,,Gent,,,,,,\n"
    assert any(
        "row 3, column email: duplicate key 'x@gent.be' (also in row 2)" in e
        for e in errors_of(database, "experts", write("e.csv", experts))
    )
    practices = PRACTICE_HEADER + "\nT,S,Gent,,,,,,,,\nt,S2,gent,,,,,,,,\n"
    assert any(
        "row 3" in e and "also in row 2" in e for e in errors_of(database, "practices", write("p.csv", practices))
    )


def test_all_or_nothing_one_bad_row_writes_nothing(database: Database, write: Write) -> None:
    run_import(database, "experts", write("ok.csv", EXPERTS))
    bad = EXPERTS.replace("beleidsmedewerker", "teamleider") + "Kapot,geen-email,,X,,,,,,\n"
    errors = errors_of(database, "experts", write("bad.csv", bad))
    assert len(errors) == 1 and "row 4, column email" in errors[0]
    with database.session() as session:
        assert (
            session.scalars(select(Expert.role).where(Expert.email == "an.peeters@gent.be")).one()
            == "beleidsmedewerker"
        )
    assert count(database, Expert) == 2 and count(database, AuditLog) == 2


def test_every_error_is_reported_not_just_the_first(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + "\n,a@b.be,,X,,,,,,\nB,,,X,,,,,,\nC,c@d.be,,,,,,,,\n"
    assert len(errors_of(database, "experts", write("e.csv", text))) == 3


def test_header_problems(database: Database, write: Write) -> None:
    with pytest.raises(ImportFailed, match="lacks required column"):
        run_import(database, "experts", write("e.csv", "name,organisation\nAn,Gent\n"))
    with pytest.raises(ImportFailed, match="empty"):
        run_import(database, "experts", write("empty.csv", ""))
    assert errors_of(database, "experts", write("h.csv", EXPERT_HEADER + "\n")) == [
        "h.csv: no data rows below the header"
    ]
    with pytest.raises(ImportFailed, match=r"not UTF-8.*CSV UTF-8"):
        run_import(
            database, "experts", write("latin.csv", EXPERT_HEADER + "\nJosé,j@x.be,,Stad,,,,,,\n", encoding="latin-1")
        )


def test_unknown_columns_are_reported_not_dropped_silently(database: Database, write: Write) -> None:
    text = EXPERT_HEADER + ",telefoon\nAn,an@gent.be,,Stad Gent,,,,,,,09 123\n"
    report = run_import(database, "experts", write("e.csv", text))
    assert report.added == 1
    assert report.warnings == ["e.csv: unknown column(s) ignored: telefoon"]


def test_practices_link_contacts_and_report_team_mailboxes(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    report = run_import(database, "practices", write("practices.csv", PRACTICES))
    assert report.added == 3
    assert report.notes == ["contact wonen@aalst.be is not an expert in the register: kept as a plain contact address"]
    with database.session() as session:
        heffing = session.scalars(select(Practice).where(Practice.title == "Leegstandsheffing winkels")).one()
        assert heffing.outcome is Outcome.FAILED and heffing.year == 2019  # Dutch outcome accepted
        assert heffing.contact_expert is not None and heffing.contact_expert.email == "an.peeters@gent.be"
        woonwinkel = session.scalars(select(Practice).where(Practice.title == "Woonwinkel")).one()
        assert woonwinkel.contact_expert_id is None and woonwinkel.contact_email == "wonen@aalst.be"
        proeftuin = session.scalars(select(Practice).where(Practice.title == "Proeftuin")).one()
        assert proeftuin.city == "" and proeftuin.outcome is None


def test_round_trip_export_import_export_is_identical(database: Database, write: Write, tmp_path: Path) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    run_import(database, "practices", write("practices.csv", PRACTICES))
    for kind, exporter in (("experts", service.export_experts), ("practices", service.export_practices)):
        first = tmp_path / f"{kind}-1.csv"
        with database.session() as session:
            exporter(session, path=first)
        report = run_import(database, kind, first)
        assert (report.added, report.changed) == (0, 0), kind
        second = tmp_path / f"{kind}-2.csv"
        with database.session() as session:
            exporter(session, path=second)
        assert first.read_bytes() == second.read_bytes()
    exported = (tmp_path / "experts-1.csv").read_text(encoding="utf-8")
    assert exported.splitlines()[0] == EXPERT_HEADER
    assert exported.index("an.peeters@gent.be") < exported.index("bram@vvsg.be")  # stable order: by email


def test_xlsx_import_and_export(database: Database, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(PRACTICE_HEADER.split(","))
    sheet.append(
        [
            "Wijkbudget",
            "Bewoners beslissen.",
            "Gent",
            "Stad Gent",
            "gebiedsgericht",
            "budget",
            "goed",
            None,
            None,
            "https://stad.gent/wijkbudget",
            2018,
        ]
    )
    path = tmp_path / "practices.xlsx"
    workbook.save(path)
    report = run_import(database, "practices", path)
    assert report.added == 1
    out = tmp_path / "out.xlsx"
    with database.session() as session:
        assert service.export_practices(session, path=out) == 1
    again = run_import(database, "practices", out)
    assert (again.added, again.changed, again.unchanged) == (0, 0, 1)


def test_themes_import_extends_vocabulary(database: Database, write: Write) -> None:
    path = write("themes.csv", "key,label_nl,label_en,synonyms\nzorg,Zorg,Care,woonzorg;care\nwonen,Wonen,Housing,\n")
    with database.session() as session:
        report = service.import_themes(session, path=path, actor="test", now=NOW)
    assert (report.added, report.changed) == (1, 1)
    bad = write("bad.csv", "key,label_nl,label_en,synonyms\nZorg Thuis,,Care,\n")
    with pytest.raises(ImportFailed) as info, database.session() as session:
        service.import_themes(session, path=bad, actor="test", now=NOW)
    assert any("column key" in e for e in info.value.errors) and any("column label_nl" in e for e in info.value.errors)
    experts = write("e.csv", EXPERT_HEADER + "\nAn,an@x.be,,X,,,,Care,,\n")
    run_import(database, "experts", experts)
    with database.session() as session:
        assert [t.key for t in session.scalars(select(Expert)).one().themes] == ["zorg"]


def test_slack_id_must_be_unique(database: Database, write: Write, session: Session) -> None:
    run_import(database, "experts", write("e.csv", EXPERTS))
    clash = write("c.csv", EXPERT_HEADER + "\nCor,cor@x.be,U0AN,X,,,,,,\n")
    assert any("U0AN already belongs to an.peeters@gent.be" in e for e in errors_of(database, "experts", clash))
