"""``wieweet import/export/register/themes``, run in-process with click's runner against both databases."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import CliContext, main, os_account
from bot.cli.register_cmds import TerminalProgress, fail_import, import_summary
from bot.errors import ImportFailed
from bot.register.report import ImportReport
from storage.db import Database
from storage.models import AuditLog, Availability, Consent, Expert
from tests.register.conftest import EXPERT_HEADER, EXPERTS, PRACTICE_HEADER, PRACTICES, THEME_HEADER


def wieweet_in(database_url: str, language: str, *args: str) -> Result:
    """The command line of an operator whose ``WIEWEET_LANGUAGE`` is ``language``."""
    return CliRunner().invoke(main, ["--database", database_url, *args], env={"WIEWEET_LANGUAGE": language})


def wieweet(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", database_url, *args])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"experts": tmp_path / "experts.csv", "practices": tmp_path / "practices.csv"}
    paths["experts"].write_text(EXPERTS, encoding="utf-8")
    paths["practices"].write_text(PRACTICES, encoding="utf-8")
    return paths


@pytest.mark.parametrize(
    "command",
    [
        ["import"],
        ["export"],
        ["register"],
        ["register", "list"],
        ["register", "show"],
        ["themes"],
        ["themes", "list"],
        ["themes", "import"],
    ],
)
def test_every_command_has_help_with_examples(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    examples = result.output.split("Examples:")[1]
    assert f"wieweet {command[0]}" in examples


def test_import_help_documents_the_rules() -> None:
    text = " ".join(CliRunner().invoke(main, ["import", "--help"]).output.split())
    for phrase in ("never deletes", "left untouched", "--dry-run", "exit code is 1", "CSV UTF-8", "consent"):
        assert phrase in text, phrase


def test_import_then_reimport(database_url: str, files: dict[str, Path]) -> None:
    first = wieweet(database_url, "import", "experts", str(files["experts"]))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "experts.csv: 2 toegevoegd, 0 gewijzigd, 0 ongewijzigd"  # Dutch by default
    again = wieweet_in(database_url, "en", "import", "experts", str(files["experts"]))
    assert again.stdout.splitlines()[-1] == "experts.csv: 0 added, 0 changed, 2 unchanged"
    practices = wieweet(database_url, "import", "practices", str(files["practices"]))
    assert practices.exit_code == 0
    assert practices.stdout.splitlines() == [
        "note: practices.csv: contact wonen@aalst.be (rij 3) is geen expert in het register: bewaard als gewoon "
        "contactadres",  # in the operator's language (WIEWEET_LANGUAGE: Dutch unless set)
        "practices.csv: 3 toegevoegd, 0 gewijzigd, 0 ongewijzigd",
    ]


def test_audit_rows_name_the_os_user(database: Database, database_url: str, files: dict[str, Path]) -> None:
    wieweet(database_url, "import", "experts", str(files["experts"]))
    with database.session() as session:
        actors = set(session.scalars(select(AuditLog.actor)))
    assert actors == {f"cli:{os_account()}"}


def test_dry_run_lists_each_change_and_writes_nothing(
    database: Database, database_url: str, files: dict[str, Path], tmp_path: Path
) -> None:
    dry = wieweet(database_url, "import", "experts", str(files["experts"]), "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.splitlines() == [  # the operator's language: Dutch unless WIEWEET_LANGUAGE says otherwise
        "  toegevoegd: an.peeters@gent.be",
        "  toegevoegd: bram@vvsg.be",
        "experts.csv: 2 toegevoegd, 0 gewijzigd, 0 ongewijzigd — proefrit, er is niets geschreven",
    ]
    english = wieweet_in(database_url, "en", "import", "experts", str(files["experts"]), "--dry-run")
    assert english.stdout.splitlines() == [
        "  added: an.peeters@gent.be",
        "  added: bram@vvsg.be",
        "experts.csv: 2 added, 0 changed, 0 unchanged — dry run, nothing written",
    ]
    assert wieweet(database_url, "register", "list", "experts").output == (  # nothing written: none listed
        "geen experts in het register (`wieweet import experts BESTAND` voegt ze toe)\n"
    )
    assert wieweet_in(database_url, "en", "register", "list", "practices").output == (
        "no practices in the register (`wieweet import practices FILE` adds them)\n"
    )
    wieweet(database_url, "import", "experts", str(files["experts"]))
    edited = tmp_path / "edited.csv"
    edited.write_text(EXPERTS.replace("beleidsmedewerker", "teamleider").replace(",nl;en,", ",nl,"), encoding="utf-8")
    dry = wieweet(database_url, "import", "experts", str(edited), "--dry-run")
    assert "  gewijzigd: an.peeters@gent.be (role, languages)" in dry.stdout
    english = wieweet_in(database_url, "en", "import", "experts", str(edited), "--dry-run")
    assert "  changed: an.peeters@gent.be (role, languages)" in english.stdout
    with database.session() as session:
        assert (
            session.scalars(select(Expert.role).where(Expert.email == "an.peeters@gent.be")).one()
            == "beleidsmedewerker"
        )


def test_bad_file_lists_every_problem_and_exits_1(database: Database, database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(EXPERT_HEADER + "\n,a@b.be,,X,,,,,,\nB,nope,,X,,,,woonen,,\nC,c@x.be,,X,,,,,,\n", encoding="utf-8")
    result = wieweet(database_url, "import", "experts", str(bad))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [  # each problem in the operator's language (WIEWEET_LANGUAGE: nl)
        "error: bad.csv: rij 2, kolom name: Dit veld is verplicht.",
        "error: bad.csv: rij 3, kolom email: Dit is geen geldig e-mailadres. Waarde: 'nope'",
        "error: bad.csv: rij 3, kolom themes: Onbekend thema. Bedoel je wonen? Waarde: 'woonen'",
        "error: 3 problemen gevonden: er is niets geïmporteerd.",
    ]
    assert result.stdout == ""
    english = wieweet_in(database_url, "en", "import", "experts", str(bad))
    assert english.exit_code == 1
    assert english.stderr.splitlines() == [
        "error: bad.csv: row 2, column name: This field is required.",
        "error: bad.csv: row 3, column email: This is not a valid e-mail address. Value: 'nope'",
        "error: bad.csv: row 3, column themes: Unknown theme. Did you mean wonen? Value: 'woonen'",
        "error: 3 problems found: nothing was imported.",
    ]
    with database.session() as session:
        assert session.scalars(select(Expert)).all() == []


def test_each_kind_of_import_problem_speaks_the_operators_language(database_url: str, tmp_path: Path) -> None:
    """A shifted row and a key given twice; a misspelt required column: in Dutch (the default) and in English."""
    rows = tmp_path / "bad.csv"
    rows.write_text(EXPERT_HEADER + "\nC,c@x.be,,X,,,,,,\nD,c@x.be,,X,,,,,,,extra\n", encoding="utf-8")
    header = tmp_path / "m.csv"
    header.write_text("name,emial\nAn,an@x.be\n", encoding="utf-8")
    expected = {
        ("nl", rows): [
            "error: bad.csv: rij 3: 1 cel meer dan de 10 kolommen van de kop ('extra'); een waarde met ',' moet "
            "tussen dubbele aanhalingstekens staan",
            "error: bad.csv: rij 3, kolom email: dubbele sleutel 'c@x.be' (ook in rij 2)",
            "error: 2 problemen gevonden: er is niets geïmporteerd.",
        ],
        ("en", rows): [
            "error: bad.csv: row 3: 1 cell more than the header's 10 columns ('extra'); a value containing "
            "',' must be in double quotes",
            "error: bad.csv: row 3, column email: duplicate key 'c@x.be' (also in row 2)",
            "error: 2 problems found: nothing was imported.",
        ],
        ("nl", header): [
            "error: m.csv: de kop (rij 1) mist de verplichte kolommen 'email' (gevonden: 'emial'), 'organisation'; "
            f"de kolommen zijn: {EXPERT_HEADER}",
            "error: Er is niets geïmporteerd.",
        ],
        ("en", header): [
            "error: m.csv: the header (row 1) lacks the required columns 'email' (found 'emial'), 'organisation'; "
            f"the columns are: {EXPERT_HEADER}",
            "error: Nothing was imported.",
        ],
    }
    for (language, path), lines in expected.items():
        result = wieweet_in(database_url, language, "import", "experts", str(path))
        assert result.exit_code == 1 and result.stderr.splitlines() == lines, (language, result.stderr)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "error: x.csv: het bestand is leeg (rij 1 moet de kopregel met de kolomnamen zijn)"),
        (EXPERT_HEADER.encode() + b"\n", "error: x.csv: geen rijen met gegevens onder de kop; er is niets te"),
        (b"name,email\nAn,an@x.be\n", "error: x.csv: de kop (rij 1) mist de verplichte kolom 'organisation'"),
        ("name,email,organisation\nJosé,j@x.be,X\n".encode("cp1252"), "error: x.csv: dit bestand is geen UTF-8-tekst"),
    ],
)
def test_unusable_files_are_one_clear_message(database_url: str, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    result = wieweet(database_url, "import", "experts", str(path))
    assert result.exit_code == 1 and result.stderr.startswith(message) and "Traceback" not in result.output


def test_a_file_that_cannot_be_read_is_said_in_the_operators_language(database_url: str, tmp_path: Path) -> None:
    """Why a register file cannot be read at all: Dutch unless WIEWEET_LANGUAGE says English; exit codes as before."""
    empty = tmp_path / "x.csv"
    empty.write_bytes(b"")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,email,organisation\nJosé,j@x.be,X\n".encode("cp1252"))
    long_cell = tmp_path / "long.csv"
    long_cell.write_text("name,email,organisation\n" + "a" * 40_000 + ",j@x.be,X\n", encoding="utf-8")
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"not a zip")
    cases = [
        (
            empty,
            1,
            "error: x.csv: het bestand is leeg (rij 1 moet de kopregel met de kolomnamen zijn)",
            "error: x.csv: the file is empty (row 1 must be the header with the column names)",
        ),
        (
            latin,
            1,
            "error: latin.csv: dit bestand is geen UTF-8-tekst (een onleesbaar teken op regel 2, kolom 4).",
            "error: latin.csv: this file is not UTF-8 text (an unreadable character in line 2, column 4).",
        ),
        (
            long_cell,
            1,
            "error: long.csv: rij 2, kolom name: een cel van 40.000 tekens; hoogstens 32.767 tekens per cel",
            "error: long.csv: row 2, column name: a cell of 40,000 characters; at most 32,767 characters per cell",
        ),
        (damaged, 1, "error: damaged.xlsx: dit Excel-bestand kan niet gelezen worden (", None),
        (tmp_path / "old.xls", 2, "error: old.xls: het oude .xls-formaat wordt niet ondersteund;", None),
    ]
    for path, code, dutch, english in cases:
        result = wieweet(database_url, "import", "experts", str(path))
        assert result.exit_code == code and result.stderr.startswith(dutch), result.stderr
        if english is not None:
            result = wieweet_in(database_url, "en", "import", "experts", str(path))
            assert result.exit_code == code and result.stderr.startswith(english), result.stderr


def test_an_import_that_failed_ends_with_the_outcome_in_the_operators_language(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    result = wieweet(database_url, "import", "experts", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "error: Er is niets geïmporteerd."  # WIEWEET_LANGUAGE: nl (default)
    bad = tmp_path / "bad.csv"
    bad.write_text(EXPERT_HEADER + "\n,a@b.be,,X,,,,,,\n", encoding="utf-8")
    one = wieweet(database_url, "import", "experts", str(bad))
    assert one.exit_code == 1 and one.stderr.splitlines()[-1] == "error: 1 probleem gevonden: er is niets geïmporteerd."
    english = CliRunner().invoke(
        main, ["--database", database_url, "import", "experts", str(bad)], env={"WIEWEET_LANGUAGE": "en"}
    )
    assert english.exit_code == 1 and english.stderr.splitlines()[-1] == "error: 1 problem found: nothing was imported."


def test_missing_file_and_unknown_kind(database_url: str, tmp_path: Path) -> None:
    result = wieweet(database_url, "import", "experts", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "dat bestand bestaat niet" in result.stderr  # a usage error, as the README says
    assert wieweet(database_url, "import", "people", "x.csv").exit_code == 2  # click usage error


def test_unknown_columns_are_warnings(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(EXPERT_HEADER + ",telefoon\nAn,an@x.be,,X,,,,,,,123\n", encoding="utf-8")
    result = wieweet(database_url, "import", "experts", str(path))
    assert result.exit_code == 0
    assert result.stderr == "warning: e.csv: onbekende kolom 'telefoon' genegeerd\n"  # WIEWEET_LANGUAGE: nl
    english = wieweet_in(database_url, "en", "import", "experts", str(path))
    assert english.exit_code == 0 and english.stderr == "warning: e.csv: unknown column 'telefoon' ignored\n"


def test_export_csv_and_xlsx_round_trip(database_url: str, files: dict[str, Path], tmp_path: Path) -> None:
    wieweet(database_url, "import", "experts", str(files["experts"]))
    wieweet(database_url, "import", "practices", str(files["practices"]))
    for kind, dutch in (("experts", "experts"), ("practices", "praktijken")):
        out = tmp_path / f"out-{kind}.csv"
        result = wieweet(database_url, "export", kind, str(out))  # WIEWEET_LANGUAGE: nl (default)
        assert (
            result.exit_code == 0
            and result.stdout == f"{len(out.read_text().splitlines()) - 1} {dutch} geschreven naar {out}\n"
        )
        english = wieweet_in(database_url, "en", "export", kind, str(out))
        assert english.stdout == f"{len(out.read_text().splitlines()) - 1} {kind} written to {out}\n"
        assert "0 toegevoegd, 0 gewijzigd" in wieweet(database_url, "import", kind, str(out)).stdout
        again = tmp_path / f"again-{kind}.csv"
        wieweet(database_url, "export", kind, str(again))
        assert out.read_bytes() == again.read_bytes()
        xlsx = tmp_path / f"out-{kind}.xlsx"
        assert wieweet(database_url, "export", kind, str(xlsx)).exit_code == 0
        assert "0 toegevoegd, 0 gewijzigd" in wieweet(database_url, "import", kind, str(xlsx)).stdout
    assert (tmp_path / "out-experts.csv").read_text(encoding="utf-8").splitlines()[0] == EXPERT_HEADER
    assert (tmp_path / "out-practices.csv").read_text(encoding="utf-8").splitlines()[0] == PRACTICE_HEADER


def test_export_to_a_missing_folder_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    result = wieweet(database_url, "export", "experts", str(tmp_path / "nope" / "x.csv"))
    assert result.exit_code == 2 and "bestaat niet" in result.stderr  # WIEWEET_LANGUAGE: nl (default)


def test_list_with_theme_and_city(database_url: str, files: dict[str, Path]) -> None:
    wieweet(database_url, "import", "experts", str(files["experts"]))
    wieweet(database_url, "import", "practices", str(files["practices"]))
    housing = wieweet(database_url, "register", "list", "experts", "--theme", "Housing").stdout
    assert "an.peeters@gent.be" in housing and "bram@vvsg.be" not in housing and housing.endswith("\n1 expert\n")
    everyone = wieweet(database_url, "register", "list", "experts").stdout.splitlines()
    assert everyone[0].split() == ["e-mail", "naam", "organisatie", "stad", "thema's"]  # WIEWEET_LANGUAGE: nl
    assert [line.split()[0] for line in everyone[1:-1]] == ["an.peeters@gent.be", "bram@vvsg.be"]
    assert everyone[-1] == "2 experts"
    english = wieweet_in(database_url, "en", "register", "list", "experts").stdout.splitlines()
    assert english[0].split() == ["email", "name", "organisation", "city", "themes"] and english[-1] == "2 experts"
    by_city = wieweet(database_url, "register", "list", "experts", "--city", "GENT").stdout
    assert "an.peeters@gent.be" in by_city and by_city.endswith("\n1 expert\n")
    nowhere = ("register", "list", "experts", "--city", "Nergens")
    assert wieweet(database_url, *nowhere).stdout == "geen experts voor deze selectie (--theme, --city)\n"
    assert wieweet_in(database_url, "en", *nowhere).stdout == "no experts for this selection (--theme, --city)\n"
    args = ("register", "list", "practices", "--theme", "wonen", "--city", "kortrijk")
    practices = wieweet(database_url, *args).stdout.splitlines()
    assert practices[0].split() == ["stad", "jaar", "resultaat", "titel", "thema's"] and practices[-1] == "1 praktijk"
    assert "Leegstandsheffing winkels" in practices[1] and practices[1].split()[:3] == ["Kortrijk", "2019", "mislukt"]
    english = wieweet_in(database_url, "en", *args).stdout.splitlines()
    assert english[0].split() == ["city", "year", "outcome", "title", "themes"] and english[-1] == "1 practice"
    assert english[1].split()[:3] == ["Kortrijk", "2019", "failed"]  # the outcome as the import reads it
    unknown = wieweet(database_url, "register", "list", "practices", "--theme", "klimat")
    assert unknown.exit_code == 2 and "onbekend thema 'klimat' (bedoel je 'klimaat'?)" in unknown.stderr
    unknown = wieweet_in(database_url, "en", "register", "list", "practices", "--theme", "qqqqqq")
    assert unknown.exit_code == 2 and "unknown theme 'qqqqqq'; see `wieweet themes list`" in unknown.stderr


def test_available_again_says_so_in_the_operators_language(
    database: Database, database_url: str, files: dict[str, Path]
) -> None:
    wieweet(database_url, "import", "experts", str(files["experts"]))

    def away() -> None:
        with database.session() as session:
            an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
            an.availability, an.away_until = Availability.AWAY, date(2026, 12, 24)

    away()
    dutch = wieweet(database_url, "register", "available", "an.peeters@gent.be")  # WIEWEET_LANGUAGE: nl (default)
    assert dutch.exit_code == 0 and dutch.stdout == "An Peeters is weer beschikbaar voor doorgestuurde vragen\n"
    away()
    english = wieweet_in(database_url, "en", "register", "available", "an.peeters@gent.be")
    assert english.exit_code == 0 and english.stdout == "An Peeters is available for routed questions again\n"
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        assert an.availability is Availability.AVAILABLE and an.away_until is None


def test_show_prints_the_full_profile(database: Database, database_url: str, files: dict[str, Path]) -> None:
    wieweet(database_url, "import", "experts", str(files["experts"]))
    wieweet(database_url, "import", "practices", str(files["practices"]))
    with database.session() as session:
        an = session.scalars(select(Expert).where(Expert.email == "an.peeters@gent.be")).one()
        an.availability = Availability.AWAY
        an.away_until = date(2026, 12, 24)
        an.consent = Consent.CONFIRMED
        an.last_confirmed_at = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    shown = wieweet(database_url, "register", "show", "AN.PEETERS@gent.be")  # WIEWEET_LANGUAGE: nl (default)
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == "An Peeters <an.peeters@gent.be>"
    for expected in (  # each state in words, its stored code beside it; times in WIEWEET_TIMEZONE
        "  organisatie:      Stad Gent (Gent)",
        "  slack:            U0AN",
        "  expertise:        leegstandsheffing; woningkwaliteit",
        "  thema's:          europa (Europa en EU-financiering), wonen (Wonen en woonbeleid)",
        "  talen:            nl, en",
        "  beschikbaarheid:  afwezig (away) tot 2026-12-24",
        "  toestemming:      bevestigd (confirmed)",
        "  laatst bevestigd: 2026-10-01 11:30",
        "  status:           gepubliceerd (published); bron: import",
        "  praktijken:       1",
        "    - Leegstandsheffing winkels (Kortrijk, 2019, mislukt)",
    ):
        assert expected in lines, (expected, lines)
    english = wieweet_in(database_url, "en", "register", "show", "an.peeters@gent.be").stdout.splitlines()
    for expected in (
        "  organisation:       Stad Gent (Gent)",
        "  themes:             europa (Europe and EU funding), wonen (Housing)",
        "  availability:       away (away) until 2026-12-24",
        "  consent:            confirmed (confirmed)",  # the code beside the word in every language
        "  last confirmed:     2026-10-01 11:30",
        "  max open questions: 3",
        "  status:             published (published); source: import",
        "  practices:          1",
        "    - Leegstandsheffing winkels (Kortrijk, 2019, failed)",
    ):
        assert expected in english, (expected, english)
    bram = wieweet(database_url, "register", "show", "bram@vvsg.be").stdout.splitlines()
    assert "  slack:            - (niet in Slack)" in bram and "  laatst bevestigd: nooit" in bram
    assert "  toestemming:      nog niet bevestigd (pending)" in bram and "  bio:              -" in bram
    bram = wieweet_in(database_url, "en", "register", "show", "bram@vvsg.be").stdout.splitlines()
    assert "  slack:              - (not in Slack)" in bram and "  last confirmed:     never" in bram
    assert "  consent:            pending (pending)" in bram
    missing = wieweet(database_url, "register", "show", "nobody@x.be")
    assert missing.exit_code == 2 and "error: geen expert met e-mailadres 'nobody@x.be'" in missing.stderr


def test_themes_list_and_import(database_url: str, tmp_path: Path) -> None:
    listed = wieweet(database_url, "themes", "list")
    assert listed.exit_code == 0 and listed.stdout.startswith("wonen ") and "publieke-ruimte" in listed.stdout
    path = tmp_path / "themes.csv"
    path.write_text(THEME_HEADER + "\nzorg,Zorg,Care,woonzorg\n", encoding="utf-8")
    dry = wieweet(database_url, "themes", "import", str(path), "--dry-run")
    assert "  toegevoegd: zorg" in dry.stdout and "zorg" not in wieweet(database_url, "themes", "list").stdout
    assert "  added: zorg" in wieweet_in(database_url, "en", "themes", "import", str(path), "--dry-run").stdout
    assert (
        wieweet(database_url, "themes", "import", str(path)).stdout
        == "themes.csv: 1 toegevoegd, 0 gewijzigd, 0 ongewijzigd\n"
    )
    listed = wieweet(database_url, "themes", "list").stdout
    assert "zorg             Zorg / Care  [woonzorg]" in listed
    count = len(listed.splitlines()) - 1  # one line a theme, then how many (a count of the operator's language)
    assert listed.endswith(f"\n{count} thema's\n") and count > 1
    english = wieweet_in(database_url, "en", "themes", "list").stdout
    assert english.endswith(f"\n{count} themes\n") and "zorg             Zorg / Care  [woonzorg]" in english
    bad = tmp_path / "bad.csv"
    bad.write_text(THEME_HEADER + "\nZorg!,Zorg,,\n", encoding="utf-8")
    result = wieweet(database_url, "themes", "import", str(bad))
    assert result.exit_code == 1
    assert "error: bad.csv: rij 2, kolom key: Gebruik kleine letters, cijfers en streepjes" in result.stderr
    assert "Bedoel je zorg? Waarde: 'Zorg!'" in result.stderr
    assert "error: bad.csv: rij 2, kolom label_en: Dit veld is verplicht." in result.stderr


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    redirected = io.StringIO()
    monkeypatch.setattr("sys.stderr", redirected)
    quiet = TerminalProgress("importing experts").callback
    assert quiet is not None
    for done in range(1, 5):
        quiet(done, 4)  # a small import: no lines (a large one: see tests/test_cli_first_use.py)
    assert redirected.getvalue() == ""
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress = TerminalProgress("importing experts")
    callback = progress.callback
    assert callback is not None
    for done in range(1, 5):
        callback(done, 4)
    progress.close()
    assert "importing experts" in terminal.getvalue() and "100%" in terminal.getvalue()


def test_a_large_imports_progress_lines_group_thousands_in_the_operators_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for lang, label, expected in (
        (
            "nl",
            "experts importeren",
            ["experts importeren: 8.000 records schrijven…", "experts importeren: 2.000 van 8.000 geschreven"],
        ),
        (
            "en",
            "importing experts",
            ["importing experts: writing 8,000 records…", "importing experts: 2,000 of 8,000 written"],
        ),
    ):
        redirected = io.StringIO()
        monkeypatch.setattr("sys.stderr", redirected)
        progress = TerminalProgress(label, lang)
        for done in range(500, 8001, 500):
            progress.lines(done, 8000)
        lines = redirected.getvalue().splitlines()
        assert lines[:2] == expected and len(lines) == 5, lines  # a line a quarter


@pytest.mark.parametrize(
    ("lang", "summary", "problems"),
    [
        (
            "nl",
            "experts.csv: 8.000 toegevoegd, 1.200 gewijzigd, 0 ongewijzigd, 1.500 conflicten (zie hierboven), "
            "1.001 gewiste personen (zie hierboven), 2.000 Slack-id's van gewiste personen (zie hierboven)",
            "error: 1.500 problemen gevonden: er is niets geïmporteerd.",
        ),
        (
            "en",
            "experts.csv: 8,000 added, 1,200 changed, 0 unchanged, 1,500 conflicts (see above), "
            "1,001 erased people (see above), 2,000 Slack ids of erased people (see above)",
            "error: 1,500 problems found: nothing was imported.",
        ),
    ],
)
def test_a_large_imports_summary_and_problems_group_thousands_as_its_progress_lines_do(
    lang: str, summary: str, problems: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = ImportReport(kind="experts", file="experts.csv", dry_run=False, added=8000, changed=1200)
    report.conflicts, report.erased_people, report.erased_slack_ids = ["x"] * 1500, 1001, 2000
    assert import_summary(report, lang) == summary
    cli = cast(CliContext, SimpleNamespace(settings=SimpleNamespace(default_language=lang)))
    with pytest.raises(click.exceptions.Exit):
        fail_import(ImportFailed(errors=[f"bad.csv: rij {i}" for i in range(1500)]), cli)
    assert capsys.readouterr().err.splitlines()[-1] == problems


def test_a_rows_problem_quotes_the_refused_value_safely_in_both_languages(database_url: str, tmp_path: Path) -> None:
    """The value a row's problem refused is quoted again (as the English message did): without control characters
    (an escape sequence would act on the terminal), whitespace as one space, cut at 60 characters."""
    path = tmp_path / "p.csv"
    long_url = "ftp://" + "x" * 100  # not a web address
    path.write_text(
        f"title,summary,city,year,url\nA,B,Gent,1492,\nC,D,Gent,20\x1b[31m19,\nE,F,Gent,2019,{long_url}\n",
        encoding="utf-8",
    )
    dutch = wieweet(database_url, "import", "practices", str(path))
    english = wieweet_in(database_url, "en", "import", "practices", str(path))
    assert dutch.exit_code == english.exit_code == 1
    # the range accepted named in both languages (up to next year)
    [nl_year] = [line for line in dutch.stderr.splitlines() if "rij 2, kolom year" in line]
    assert nl_year.startswith("error: p.csv: rij 2, kolom year: Het jaar moet tussen 1990 en ") and nl_year.endswith(
        " liggen. Waarde: '1492'"
    ), nl_year
    [en_year] = [line for line in english.stderr.splitlines() if "row 2, column year" in line]
    assert en_year.startswith("error: p.csv: row 2, column year: The year must be between 1990 and ") and (
        en_year.endswith(". Value: '1492'")
    ), en_year
    assert "rij 3, kolom year: Bevat onzichtbare tekens die geen tekst zijn. Waarde: '20[31m19'" in dutch.stderr
    assert "\x1b" not in dutch.stderr and "\x1b" not in english.stderr
    cut = "'" + long_url[:59] + "…'"
    assert "rij 4, kolom url: " in dutch.stderr and f"Waarde: {cut}" in dutch.stderr
    assert f"Value: {cut}" in english.stderr and long_url not in english.stderr


def test_a_refused_value_is_quoted_with_its_secrets_masked(database_url: str, tmp_path: Path) -> None:
    """A link refused for its ``user:password@`` is quoted with the password masked (a scheduled import's output ends
    up in mail and logs); so is a token in any refused cell. The rest of the value is still shown."""
    path = tmp_path / "p.csv"
    path.write_text(
        "title,summary,city,year,url\n"
        "A,B,Gent,2019,https://dienst:Geheim-2026@intranet.gent.be/doc\n"
        "C,D,Gent,2019,https://x.be/a b?token=Tok3nGeheim\n"
        "E,F,Gent,2019,xoxb-1234-5678-SlackGeheim\n",
        encoding="utf-8",
    )
    dutch = wieweet(database_url, "import", "practices", str(path))
    english = wieweet_in(database_url, "en", "import", "practices", str(path))
    assert dutch.exit_code == english.exit_code == 1
    for done, value in [(dutch, "Waarde"), (english, "Value")]:
        assert "Geheim" not in done.stderr and "Geheim" not in done.output, done.stderr
        assert f"{value}: 'https://dienst:***@intranet.gent.be/doc'" in done.stderr
        assert f"{value}: 'https://x.be/a b?token=***'" in done.stderr
        assert f"{value}: 'xoxb-***'" in done.stderr
