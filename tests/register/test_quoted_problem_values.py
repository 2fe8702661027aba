"""An import's problem lines quote a cell's value through ``shown_value`` (printable, cut, its secrets masked) and
say in the operator's language what a library's error means, its own text only as a masked detail after it."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import Workbook

from bot.cli import main
from bot.error_texts import field_error_text, problem_text
from bot.errors import ImportFailed
from bot.register.files import _unreadable, read_register_file
from bot.register.report import located
from bot.register.validation import FieldError, validate_expert
from tests.register.conftest import EXPERT_HEADER, PRACTICE_HEADER, THEME_HEADER

TOKEN = "xoxb-1234-5678-geheim"
LINK = "https://dienst:Geheim@intranet.gent.be/doc"
LANGUAGES = ("nl", "en")


def run(database_url: str, language: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", database_url, *args], env={"WIEWEET_LANGUAGE": language})


def assert_masked(text: str) -> None:
    assert TOKEN not in text and "Geheim@" not in text and "\x1b" not in text, text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_duplicated_theme_key_holding_a_token_is_masked(database_url: str, tmp_path: Path, language: str) -> None:
    path = tmp_path / "themes.csv"
    path.write_text(f"{THEME_HEADER}\n{TOKEN},Een,One,\n{TOKEN},Twee,Two,\n", encoding="utf-8")
    result = run(database_url, language, "themes", "import", str(path))
    assert result.exit_code == 1
    assert_masked(result.output)
    said = {"nl": "dubbele sleutel 'xoxb-***' (ook in rij 2)", "en": "duplicate key 'xoxb-***' (also in row 2)"}
    assert said[language] in result.stderr, result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_duplicated_practice_quotes_title_and_city_masked(database_url: str, tmp_path: Path, language: str) -> None:
    path = tmp_path / "p.csv"
    row = f'"Zie {LINK}",S,Gent,,,,,,,,'
    path.write_text(f"{PRACTICE_HEADER}\n{row}\n{row}\n", encoding="utf-8")
    result = run(database_url, language, "import", "practices", str(path))
    assert result.exit_code == 1
    assert_masked(result.output)
    assert "'Zie https://dienst:***@intranet.gent.be/doc'" in result.stderr, result.stderr
    assert {"nl": "in 'Gent' staat ook in rij 2", "en": "in 'Gent' is also in row 2"}[language] in result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_theme_name_taken_holding_a_token_is_masked(database_url: str, tmp_path: Path, language: str) -> None:
    path = tmp_path / "themes.csv"
    path.write_text(f"{THEME_HEADER}\nzorg,Zorg,{TOKEN},\nwelzijn,{TOKEN},Welfare,\n", encoding="utf-8")
    result = run(database_url, language, "themes", "import", str(path))
    assert result.exit_code == 1
    assert_masked(result.output)
    said = {"nl": "'xoxb-***' is al de naam van thema", "en": "'xoxb-***' already names theme"}
    assert said[language] in result.stderr, result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_header_cells_are_quoted_masked(database_url: str, tmp_path: Path, language: str) -> None:
    unknown = tmp_path / "e.csv"  # an unknown column, and a missing one with the header cell that looks like it
    unknown.write_text(f"{EXPERT_HEADER},{TOKEN}\nAn,an@x.be,,X,,,,,,,1\n", encoding="utf-8")
    result = run(database_url, language, "import", "experts", str(unknown))
    assert_masked(result.output)
    assert "'xoxb_***'" in result.stderr, result.stderr  # the column's name as read: lower case, "_" for "-"
    found = tmp_path / "f.csv"
    found.write_text("name,emai\x1bl,organisation\nAn,an@x.be,X\n", encoding="utf-8")
    result = run(database_url, language, "import", "experts", str(found))
    assert result.exit_code == 1
    assert_masked(result.output)
    assert {"nl": "'email' (gevonden: 'emai", "en": "'email' (found 'emai"}[language] in result.stderr, result.stderr
    title = tmp_path / "t.csv"  # a title row above the header: what row 1 holds is quoted masked
    title.write_text(f"Register {LINK}\nname,email,organisation\nAn,an@x.be,X\n", encoding="utf-8")
    result = run(database_url, language, "import", "experts", str(title))
    assert result.exit_code == 1
    assert_masked(result.output)
    assert "'Register https://dienst:***@intranet.gent.be/doc'" in result.stderr, result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_extra_cells_and_a_duplicated_column_are_quoted_masked(
    database_url: str, tmp_path: Path, language: str
) -> None:
    extra = tmp_path / "x.csv"
    extra.write_text(f"name,email,organisation\nAn,an@x.be,X,{TOKEN}\n", encoding="utf-8")
    result = run(database_url, language, "import", "experts", str(extra))
    assert result.exit_code == 1
    assert_masked(result.output)
    assert "'xoxb-***'" in result.stderr, result.stderr
    twice = tmp_path / "d.csv"
    twice.write_text(f"name,email,organisation,{TOKEN},{TOKEN}\nAn,an@x.be,X,,\n", encoding="utf-8")
    result = run(database_url, language, "import", "experts", str(twice))
    assert result.exit_code == 1
    assert_masked(result.output)
    assert "'xoxb_***'" in result.stderr, result.stderr


class _Themes:
    """A vocabulary whose closest entry to a typo looks like a secret."""

    def resolve(self, value: str) -> str | None:
        return None

    def suggest(self, value: str) -> str | None:
        return TOKEN

    def synonym_owners(self, value: str) -> list[str]:
        return []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_did_you_mean_suggestion_is_masked(language: str) -> None:
    values = {"name": "An", "email": "an@x.be", "organisation": "X", "themes": "zorgg"}
    [error] = validate_expert(values, themes=_Themes())[1]
    assert error.suggestion == TOKEN  # a form offers it as the value to pick; shown, it is masked
    assert_masked(error.message)
    assert_masked(field_error_text(error, language))
    assert {"nl": "Bedoel je xoxb-***?", "en": "Did you mean xoxb-***?"}[language] in field_error_text(error, language)

    class _Row:
        line = 2

    class _File:
        name = "e.csv"

    line = located(_File(), _Row(), "themes", error)  # type: ignore[arg-type]
    assert_masked(str(line))
    assert_masked(problem_text(line, language))


def _refusal(path: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as refused:
        read_register_file(path)
    return refused.value


SAID = {  # what the operator reads, in their language, before the library's own (English) text
    "bad_csv": {"nl": "een aanhalingsteken sluit een waarde maar", "en": "a quote closes a value but"},
    "not_zip": {"nl": "geen zip-archief", "en": "not a zip archive"},
    "denied": {"nl": "geen toegang", "en": "permission denied"},
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_librarys_error_is_explained_in_the_readers_language(tmp_path: Path, language: str) -> None:
    bad_csv = tmp_path / "b.csv"
    bad_csv.write_text('name,email,organisation\n"An"x,an@x.be,X\n', encoding="utf-8")
    line = _refusal(bad_csv).errors[0]
    with pytest.raises(csv.Error) as library:
        list(csv.reader(['"An"x,a'], strict=True))
    said = problem_text(line, language)
    assert SAID["bad_csv"][language] in said, said
    assert said.index(SAID["bad_csv"][language]) < said.index(str(library.value)), said  # the detail after it
    not_zip = tmp_path / "damaged.xlsx"
    not_zip.write_bytes(b"not a zip")
    said = problem_text(_refusal(not_zip).errors[0], language)
    assert SAID["not_zip"][language] in said and "File is not a zip file" in said, said
    denied = _unreadable(tmp_path / "r.csv", PermissionError(13, "Permission denied"))
    said = problem_text(denied.errors[0], language)
    assert SAID["denied"][language] in said.lower(), said


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_librarys_text_is_masked(tmp_path: Path, language: str) -> None:
    path = tmp_path / "w.xlsx"  # the workbook names a part it does not hold: openpyxl's error quotes that name
    types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/'
        f'{TOKEN}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        "</Types>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
    line = _refusal(path).errors[0]
    said = problem_text(line, language)
    assert_masked(said)
    assert_masked(str(line))
    reason = {"nl": "er ontbreekt een onderdeel", "en": "a part every Excel file has is missing"}[language]
    assert reason in said and "There is no item named 'xl/xoxb-***" in said, said
    assert said.index(reason) < said.index("There is no item"), said  # the library's text only after it


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_year_out_of_range_names_the_range(language: str) -> None:
    error = FieldError("year", "bad_year", "year 1850 is out of range (1990–2027)", value="1850", bounds=(1990, 2027))
    said = field_error_text(error, language)
    assert "1990" in said and "2027" in said, said
    assert said.startswith({"nl": "Het jaar moet", "en": "The year must"}[language]), said


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_import_names_the_year_range_in_both_languages(database_url: str, tmp_path: Path, language: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(f"{PRACTICE_HEADER}\nTitel,S,Gent,,,,,,,,1850\n", encoding="utf-8")
    result = run(database_url, language, "import", "practices", str(path))
    assert result.exit_code == 1
    line = next(x for x in result.stderr.splitlines() if "kolom year" in x or "column year" in x)
    assert re.search(r"1990\D+\d{4}\b", line), line  # the lowest year and the highest (next year)
    assert {"nl": "Waarde: '1850'", "en": "Value: '1850'"}[language] in line, line


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_too_wide_tab_is_named_in_the_readers_language_masked(tmp_path: Path, language: str) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "xoxb-1234-geheim"  # a tab's title is the workbook's text, quoted as a cell's value is
    sheet.append(["name", "email", "organisation"])
    sheet.append([f"waarde {i}" for i in range(150)])
    book.create_sheet("Lijsten").append(["a"])
    book.save(path := tmp_path / "wide.xlsx")
    line = _refusal(path).errors[0]
    said = problem_text(line, language)
    assert "xoxb-1234-geheim" not in said and "xoxb-1234-geheim" not in str(line), said
    expected = {
        "nl": "wide.xlsx: rij 2 van het tabblad 'xoxb-***': meer dan 100 kolommen",
        "en": "wide.xlsx: row 2 of the tab 'xoxb-***': more than 100 columns",
    }
    assert said.startswith(expected[language]), said
