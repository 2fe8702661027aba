"""Export: deterministic files in the import format; export → import changes nothing, export twice is identical."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.register import service
from storage.db import Database
from storage.models import AuditLog, Consent, Expert, Practice, RecordStatus
from tests.register.conftest import (
    EXPERT_HEADER,
    EXPERTS,
    NOW,
    PRACTICE_HEADER,
    PRACTICES,
    Write,
    count,
    export,
    run_import,
)


def load_both(database: Database, write: Write) -> None:
    run_import(database, "experts", write("experts.csv", EXPERTS))
    run_import(database, "practices", write("practices.csv", PRACTICES))


def test_experts_export_is_exactly_the_import_format(database: Database, write: Write, tmp_path: Path) -> None:
    load_both(database, write)
    out = tmp_path / "out.csv"
    assert export(database, "experts", out) == 2
    assert (
        out.read_bytes()
        == (
            EXPERT_HEADER
            + "\n"
            + "An Peeters,an.peeters@gent.be,U0AN,Stad Gent,Gent,beleidsmedewerker,leegstandsheffing;woningkwaliteit,"
            + 'europa;wonen,nl;en,"Zei: ""leegstand"" is duur."\n'
            + "Bram De Smet,bram@vvsg.be,,VVSG,,adviseur,financiën;BBC,financien,nl,\n"
        ).encode()
    )


def test_practices_export_is_ordered_by_city_then_title(database: Database, write: Write, tmp_path: Path) -> None:
    load_both(database, write)
    run_import(
        database, "practices", write("more.csv", PRACTICE_HEADER + "\nabc,S,aalst,,,,,,,,\nZed,S,Aalst,,,,,,,,\n")
    )
    out = tmp_path / "out.csv"
    export(database, "practices", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == PRACTICE_HEADER
    assert [line.split(",")[0] for line in lines[1:]] == [
        "Proeftuin",
        "abc",
        "Woonwinkel",
        "Zed",
        "Leegstandsheffing winkels",
    ]
    assert lines[5] == (
        "Leegstandsheffing winkels,Heffing op lege panden.,Kortrijk,Stad Kortrijk,wonen,heffing;winkels,failed,"
        "Te laag tarief.,an.peeters@gent.be,https://www.kortrijk.be/x,2019"
    )


def test_round_trip_changes_nothing_and_is_byte_identical(database: Database, write: Write, tmp_path: Path) -> None:
    load_both(database, write)
    with database.session() as session:  # multi-line text, a withdrawn and an unpublished record are exported too
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        an.bio = "Regel één,\nregel twee; met ; en | erin"
        an.consent = Consent.WITHDRAWN
        session.scalars(select(Practice).where(Practice.title == "Proeftuin")).one().status = RecordStatus.PENDING
    audited = count(database, AuditLog)
    for kind in ("experts", "practices"):
        first, second = tmp_path / f"{kind}-1.csv", tmp_path / f"{kind}-2.csv"
        export(database, kind, first)
        report = run_import(database, kind, first)
        assert (report.added, report.changed, report.unchanged) == (0, 0, report.total), kind
        export(database, kind, second)
        assert first.read_bytes() == second.read_bytes(), kind
    assert count(database, AuditLog) == audited


def test_export_of_a_practice_linked_to_an_expert_whose_email_changed(
    database: Database, write: Write, tmp_path: Path
) -> None:
    load_both(database, write)
    with database.session() as session:
        session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one().email = "an@gent.be"
    out = tmp_path / "p.csv"
    export(database, "practices", out)
    assert ",an@gent.be," in out.read_text(encoding="utf-8")  # the link, not the stale address
    assert run_import(database, "practices", out).changed == 0


def test_xlsx_export_and_import(database: Database, write: Write, tmp_path: Path) -> None:
    load_both(database, write)
    for kind in ("experts", "practices"):
        out = tmp_path / f"{kind}.xlsx"
        export(database, kind, out)
        report = run_import(database, kind, out)
        assert (report.added, report.changed) == (0, 0), kind
    sheet = load_workbook(tmp_path / "practices.xlsx").worksheets[0]
    assert [c.value for c in sheet[1]] == PRACTICE_HEADER.split(",")
    assert sheet["K4"].value == 2019  # the year stays a number in Excel


def test_exporting_an_empty_register_writes_the_header(database: Database, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    assert export(database, "experts", out) == 0
    assert out.read_text(encoding="utf-8") == EXPERT_HEADER + "\n"


def test_listing_and_profile(database: Database, write: Write) -> None:
    load_both(database, write)
    with database.session() as session:
        assert [e.email for e in service.list_experts(session)] == ["an.peeters@gent.be", "bram@vvsg.be"]
        assert [e.email for e in service.list_experts(session, theme="Europe and EU funding")] == ["an.peeters@gent.be"]
        assert [e.email for e in service.list_experts(session, city="GENT")] == ["an.peeters@gent.be"]
        assert [p.title for p in service.list_practices(session, theme="wonen", city="aalst")] == ["Woonwinkel"]
        profile = service.get_expert_profile(session, email=" An.Peeters@Gent.be ")
        assert profile.expert.name == "An Peeters"
        assert [p.title for p in profile.practices] == ["Leegstandsheffing winkels"]
        assert profile.expert.created_at == NOW
