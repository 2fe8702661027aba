"""Reading and writing register files: CSV as people and Excel write it, and .xlsx."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from bot.errors import ImportFailed, WieweetError
from bot.register.files import csv_bytes, parse_csv, read_register_file, write_register_file
from tests.register.conftest import write_xlsx


def test_plain_csv_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    data = b'name,bio\nAn,"two\nlines"\n\nBram,x\n'
    file = parse_csv(data, name="e.csv")
    assert file.columns == ("name", "bio") and file.delimiter == ","
    # the multi-line cell is one row (2); the blank row 3 is skipped but still counted
    assert [(r.line, r.values) for r in file.rows] == [
        (2, {"name": "An", "bio": "two\nlines"}),
        (4, {"name": "Bram", "bio": "x"}),
    ]


def test_excel_belgium_bom_and_semicolons() -> None:
    data = '\ufeffName;E-mail;Bio\r\nAn;an@x.be;"met ; en , erin"\r\n'.encode()
    file = parse_csv(data, name="excel.csv")
    assert file.delimiter == ";" and file.columns == ("name", "e_mail", "bio")
    assert file.rows[0].values["bio"] == "met ; en , erin"


def test_excel_sep_hint_line_is_not_a_row() -> None:
    file = parse_csv(b"sep=;\nname;email\nAn;an@x.be\n", name="e.csv")
    assert file.columns == ("name", "email") and file.rows[0].line == 2


def test_delimiter_detection_ignores_quoted_header_cells() -> None:
    file = parse_csv(b'"a;b",c\n1,2\n', name="x.csv")
    assert file.delimiter == "," and file.columns == ("a;b", "c")


def test_cells_beyond_the_header_are_kept_for_the_caller() -> None:
    file = parse_csv(b"a,b\n1,2,3,\n4\n", name="x.csv")
    assert file.rows[0].extra == ("3",) and file.rows[1].values == {"a": "4", "b": ""}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "x.csv: the file is empty"),
        (b"  \n\n", "x.csv: the file is empty"),
        ("name\nJosé\n".encode("latin-1"), "x.csv: this file is not UTF-8 text"),
        (b"name,email,Name\n", "the header (row 1) has the column 'name' twice"),
        (b'a,b\n1,"2\n3,4\n', "x.csv: row 2: this is not valid CSV"),
    ],
)
def test_unreadable_csv_is_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed) as info:
        parse_csv(data, name="x.csv")
    assert message in info.value.message and info.value.errors == [info.value.message]


def test_not_utf8_suggests_csv_utf8() -> None:
    with pytest.raises(ImportFailed, match="CSV UTF-8"):
        parse_csv("name\nJosé\n".encode("cp1252"), name="x.csv")


def test_not_utf8_names_the_line_and_column() -> None:
    data = "name,email\nAn,an@gent.be\nJosé,jose@gent.be\n".encode("cp1252")
    with pytest.raises(ImportFailed, match=r"an unreadable character in line 3, column 4\)"):
        parse_csv(data, name="x.csv")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_utf16_is_read(encoding: str) -> None:
    """Excel's "Unicode Text" (.txt): UTF-16 with a byte order mark, tab-separated, CRLF."""
    text = "\ufeffname\temail\torganisation\r\nJosé Peeters\tjose@gent.be\tStad Gent\r\n"
    file = parse_csv(text.encode(encoding), name="experts.txt")
    assert file.delimiter == "\t" and file.columns == ("name", "email", "organisation")
    assert file.rows[0].values == {"name": "José Peeters", "email": "jose@gent.be", "organisation": "Stad Gent"}


def test_damaged_utf16_is_one_clear_error() -> None:
    data = "\ufeffname\nAn\n".encode("utf-16-le") + b"\x00\xd8"  # half a surrogate pair at the end
    with pytest.raises(ImportFailed) as info:
        parse_csv(data, name="x.txt")
    assert info.value.message.startswith("x.txt: this UTF-16 file is damaged (an unreadable character at byte ")
    assert "CSV UTF-8" in info.value.message


def test_many_delimiters_inside_quotes_are_no_extra_columns() -> None:
    """The early column count counts fields as csv does: delimiters inside quotes, also across lines, are text."""
    bio = ", ".join(["wonen"] * 150) + "\n" + ", ".join(["zorg"] * 150)
    data = ('name,bio,city\nAn,"' + bio.replace("wonen", 'wo""nen') + '",Gent\n').encode()
    file = parse_csv(data, name="x.csv")
    assert file.rows[0].values == {"name": "An", "bio": bio.replace("wonen", 'wo"nen'), "city": "Gent"}


def test_file_type_and_existence(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="no such file"):
        read_register_file(tmp_path / "missing.csv")
    with pytest.raises(ImportFailed, match=r"old \.xls format"):
        read_register_file(tmp_path / "old.xls")
    with pytest.raises(ImportFailed, match=r"use a \.csv or \.xlsx file"):
        read_register_file(tmp_path / "x.json")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ImportFailed, match="cannot read this Excel file"):
        read_register_file(broken)


def test_xlsx_cells_become_text(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "p.xlsx", [["Title", "Year", "Empty"], ["T", 2018, None], [None, None, None], ["U", 2019.0]]
    )
    file = read_register_file(path)
    assert file.columns == ("title", "year", "empty") and file.delimiter is None
    assert [(r.line, r.values) for r in file.rows] == [
        (2, {"title": "T", "year": "2018", "empty": ""}),
        (4, {"title": "U", "year": "2019", "empty": ""}),
    ]


def test_csv_writer_is_rfc4180_comma_lf_no_bom(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_register_file(path, ["a", "b", "c"], [['x "y"', "1,2", "line\nbreak"], ["é", 2019, None]])
    assert path.read_bytes() == 'a,b,c\n"x ""y""","1,2","line\nbreak"\né,2019,\n'.encode()


def test_xlsx_writer_never_writes_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_register_file(path, ["a", "b"], [["=1+1", 2019], ["@SUM(A1)", ""]])
    sheet = load_workbook(path).worksheets[0]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s" and sheet["B2"].value == 2019
    assert read_register_file(path).rows[0].values == {"a": "=1+1", "b": "2019"}


def test_export_errors_are_clear_and_leave_no_half_file(tmp_path: Path) -> None:
    with pytest.raises(WieweetError, match="does not exist"):
        write_register_file(tmp_path / "nope" / "out.csv", ["a"], [])
    for name in ("out.json", "out.txt", "out.xlsm", "out"):
        with pytest.raises(WieweetError, match=r"cannot export to .*; use \.csv or \.xlsx \(or - for standard"):
            write_register_file(tmp_path / name, ["a"], [])
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=20)


@settings(max_examples=200)
@given(st.lists(st.lists(cell_text, min_size=3, max_size=3), min_size=1, max_size=5), st.sampled_from([",", ";"]))
def test_what_is_written_reads_back_the_same(rows: list[list[str]], delimiter: str) -> None:
    rows = [r for r in rows if any(c.strip() for c in r)] or [["x", "", ""]]
    data = csv_bytes(["a", "b", "c"], rows, excel=delimiter == ";")  # ";": as Excel in Belgium writes it
    file = parse_csv(data, name="x.csv")
    assert [[r.values[c] for c in ("a", "b", "c")] for r in file.rows] == rows
