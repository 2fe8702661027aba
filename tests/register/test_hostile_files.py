"""Imports are bounded: hostile spreadsheets get one clear line, never gigabytes of memory or a traceback.

The limits are checked in-process with the real readers; the memory bound is measured in a child process (its peak
resident size, under an address-space limit so that a regression fails the test instead of the machine).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import openpyxl
import pytest

from bot.error_texts import problem_text
from bot.errors import ImportFailed
from bot.i18n import format_size
from bot.register import files
from bot.register.files import LIMITS, FileLimits, parse_csv, read_register_file, xml_is_hardened
from tests.register import hostile
from tests.register.hostile import (
    BILLION_LAUGHS,
    EXPERT_ROWS,
    MAIN_NS,
    MIB,
    deflated_repeated,
    import_in_child,
    shared_strings_xml,
    sheet_xml,
    write_xlsx_parts,
)

MEMORY_BOUND_MB = 500


def refused(path: Path, limits: FileLimits = LIMITS) -> str:
    with pytest.raises(ImportFailed) as info:
        read_register_file(path, limits=limits)
    message = info.value.message
    assert info.value.errors == [message] and "\n" not in message
    assert message.startswith(f"{path.name}: ")
    return message


# --- the hand-built files are real spreadsheets (so the refusals below are not about a broken file) --------------


def test_a_hand_built_xlsx_reads_like_any_other(tmp_path: Path) -> None:
    path = write_xlsx_parts(tmp_path / "ok.xlsx", sheet=sheet_xml(EXPERT_ROWS, dimension="A1:C2"))
    file = read_register_file(path)
    assert file.columns == ("name", "email", "organisation")
    assert [r.values for r in file.rows] == [
        {"name": "An Peeters", "email": "an.peeters@gent.be", "organisation": "Stad Gent"}
    ]
    shared = shared_strings_xml(["name", "x" * 1000])
    sheet = sheet_xml([[]]).replace(
        b'<row r="1"></row>',
        b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>',
    )
    assert read_register_file(write_xlsx_parts(tmp_path / "s.xlsx", sheet=sheet, shared=shared)).rows[0].values == {
        "name": "x" * 1000
    }


def test_xml_parsing_is_hardened_by_defusedxml() -> None:
    assert openpyxl.DEFUSEDXML is True
    assert xml_is_hardened()


def test_without_defusedxml_xlsx_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_xlsx_parts(tmp_path / "ok.xlsx", sheet=sheet_xml(EXPERT_ROWS))
    monkeypatch.setattr(files, "xml_is_hardened", lambda: False)
    assert "only read with defusedxml installed" in refused(path)


# --- each limit --------------------------------------------------------------------------------------------------


def test_a_sheet_declaring_the_whole_grid_is_refused(tmp_path: Path) -> None:
    path = write_xlsx_parts(tmp_path / "grid.xlsx", sheet=sheet_xml(EXPERT_ROWS, dimension="A1:XFD1048576"))
    assert path.stat().st_size < 5_000
    assert refused(path) == (
        "grid.xlsx: the sheet declares the range A1:XFD1048576 (1,048,576 rows × 16,384 columns); at most "
        "100,001 rows and 100 columns can be imported (delete the empty rows and columns after the data, or "
        "save the sheet as CSV UTF-8)"
    )


def test_a_too_small_declared_size_does_not_cut_rows_off(tmp_path: Path) -> None:
    rows = [*EXPERT_ROWS, *[[f"P{i}", f"p{i}@gent.be", "Stad Gent"] for i in range(4)]]
    path = write_xlsx_parts(tmp_path / "lie.xlsx", sheet=sheet_xml(rows, dimension="A1:B2"))
    file = read_register_file(path)
    assert len(file.rows) == 5 and file.rows[-1].values["organisation"] == "Stad Gent"


def test_rows_beyond_the_limit_are_refused_whatever_the_declared_size(tmp_path: Path) -> None:
    sheet = sheet_xml(EXPERT_ROWS, dimension="A1:C2").replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    message = refused(write_xlsx_parts(tmp_path / "far.xlsx", sheet=sheet))
    assert message.endswith(
        "more than 100,000 rows below the header; at most 100,000 rows can be imported from one "
        "file (split it into several files)"
    )
    small = FileLimits(max_rows=3)
    rows = [*EXPERT_ROWS, *[[f"P{i}", f"p{i}@x.be", "X"] for i in range(3)]]
    assert "more than 3 rows" in refused(write_xlsx_parts(tmp_path / "four.xlsx", sheet=sheet_xml(rows)), small)
    assert len(read_register_file(write_xlsx_parts(tmp_path / "3.xlsx", sheet=sheet_xml(rows[:4])), limits=small).rows)
    csv = tmp_path / "four.csv"
    csv.write_text("\n".join(",".join(row) for row in rows) + "\n", encoding="utf-8")
    assert "more than 3 rows" in refused(csv, small)


def test_too_many_columns(tmp_path: Path) -> None:
    wide = [[f"c{i}" for i in range(101)], ["x"] * 101]
    assert "row 1: more than 100 columns" in refused(write_xlsx_parts(tmp_path / "wide.xlsx", sheet=sheet_xml(wide)))
    csv = tmp_path / "wide.csv"
    csv.write_text("\n".join(",".join(row) for row in wide), encoding="utf-8")
    assert refused(csv).startswith("wide.csv: row 1: more than 100 columns; at most 100 can be imported")
    declared = write_xlsx_parts(tmp_path / "declared.xlsx", sheet=sheet_xml(EXPERT_ROWS, dimension="A1:CW2"))
    assert "(2 rows × 101 columns)" in refused(declared)


WIDE_ROW = "row 2: more than 100 columns; at most 100 can be imported (a register file has about a dozen)"


def test_an_xlsx_row_of_too_many_cells_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """openpyxl builds a row whole before leaving the columns past the limit out: one row of 1.6 million cells
    (178 KB zipped) took 1.6 GB. The sheet's XML is counted as it streams, before openpyxl opens the workbook."""
    path = hostile.big_row_xlsx(tmp_path / "bigrow.xlsx", cells=50_000)
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"bigrow.xlsx: {WIDE_ROW}"
    assert peak < 2 * MIB, f"{peak:,} bytes"


def test_a_csv_record_of_too_many_fields_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """The csv module builds a record whole: a line of 19 million commas took 610 MB. The record is stopped at one
    field too many, so memory stays a few times the file (the bytes, the text and the line)."""
    path = hostile.csv_wide_row(tmp_path / "commas.csv", size=2 * MIB)
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == f"commas.csv: {WIDE_ROW}"
    assert peak < 5 * path.stat().st_size, f"{peak:,} bytes"


def test_a_cell_longer_than_excel_allows(tmp_path: Path) -> None:
    long_cell = [EXPERT_ROWS[0], ["An", "an@gent.be", "o" * 32_768]]
    message = refused(write_xlsx_parts(tmp_path / "long.xlsx", sheet=sheet_xml(long_cell)))
    assert message == (
        "long.xlsx: row 2, column organisation: a cell of 32,768 characters; at most 32,767 characters per cell "
        "can be imported"
    )
    assert (
        read_register_file(
            write_xlsx_parts(
                tmp_path / "ok.xlsx", sheet=sheet_xml([*long_cell[:1], ["An", "an@gent.be", "o" * 32_767]])
            )
        )
        .rows[0]
        .values["organisation"]
        == "o" * 32_767
    )
    for size in (32_768, 500_000):  # also past the csv module's own field limit (131,072)
        path = tmp_path / f"long{size}.csv"
        path.write_text(f'name,bio\nAn,"{"b" * size}"\n', encoding="utf-8")
        assert "row 2, column bio: a cell of" in refused(path) or "row 2: a cell of more than 32,767" in refused(path)


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"name\n" + b"x\n" * 1000)
    assert refused(path, FileLimits(max_file_bytes=1000)) == (
        "big.csv: the file is 2,005 bytes; at most 1,000 bytes can be imported (split the register into several files)"
    )
    with pytest.raises(ImportFailed, match=r"the file is 20\.0 MB; at most 20\.0 MB"):
        parse_csv(b"x" * (20 * MIB + 1), name="big.csv")


def test_an_xlsx_that_unpacks_to_too_much(tmp_path: Path) -> None:
    blank = deflated_repeated(
        "xl/worksheets/sheet1.xml",
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode(),
        b" " * MIB,
        65,
        b"</sheetData></worksheet>",
    )
    message = refused(write_xlsx_parts(tmp_path / "bomb.xlsx", sheet=blank))
    assert message.startswith("bomb.xlsx: the Excel file unpacks to 65.0 MB (xl/worksheets/sheet1.xml alone 65.0 MB)")
    assert "at most 64.0 MB can be imported" in message


@pytest.mark.parametrize(
    ("lang", "sizes"),
    [
        ("nl", "het bestand is 2.005 bytes groot; hoogstens 1.000 bytes"),
        ("en", "the file is 2,005 bytes; at most 1,000 bytes"),
    ],
)
def test_a_files_size_is_said_in_the_readers_number_format(tmp_path: Path, lang: str, sizes: str) -> None:
    """Sizes in a refusal are numbers in the reader's language ("2.048,0 MB" in Dutch), as every count is."""
    path = tmp_path / "big.csv"
    path.write_bytes(b"name\n" + b"x\n" * 1000)
    with pytest.raises(ImportFailed) as small:
        read_register_file(path, limits=FileLimits(max_file_bytes=1000))
    assert sizes in problem_text(small.value.errors[0], lang)
    with pytest.raises(ImportFailed) as big:
        parse_csv(b"x" * (3 * MIB // 2), name="big.csv", limits=FileLimits(max_file_bytes=MIB))
    shown = problem_text(big.value.errors[0], lang)
    assert ("1,5 MB groot; hoogstens 1,0 MB" if lang == "nl" else "1.5 MB; at most 1.0 MB") in shown, shown
    assert format_size(2048 * MIB, lang) == ("2.048,0 MB" if lang == "nl" else "2,048.0 MB")
    assert "holds 6 parts; at most 5" in refused(
        write_xlsx_parts(tmp_path / "p.xlsx", sheet=b""), FileLimits(max_parts=5)
    )


def test_a_part_read_whole_has_its_own_limit(tmp_path: Path) -> None:
    shared = deflated_repeated(
        "xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}">'.encode(), b" " * MIB, 25, b"<si><t>x</t></si></sst>"
    )
    path = write_xlsx_parts(tmp_path / "sst.xlsx", sheet=sheet_xml(EXPERT_ROWS), shared=shared)
    assert refused(path).startswith(
        "sst.xlsx: the part xl/sharedStrings.xml of the Excel file unpacks to 25.0 MB; at most 24.0 MB can be imported"
    )
    sheet = deflated_repeated(  # a worksheet is read row by row: the same size is fine there
        "xl/worksheets/sheet1.xml",
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode(),
        b" " * MIB,
        25,
        sheet_xml(EXPERT_ROWS).split(b"<sheetData>")[1],
    )
    assert len(read_register_file(write_xlsx_parts(tmp_path / "ok.xlsx", sheet=sheet)).rows) == 1


def test_a_part_that_lies_about_its_size_is_a_damaged_file(tmp_path: Path) -> None:
    sheet = deflated_repeated(
        "xl/worksheets/sheet1.xml", f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode(), b" " * MIB, 200, b""
    )
    sheet.declared_size = 1_000  # Python's zip reader stops at the declared size and then checks the CRC
    assert "cannot read this Excel file" in refused(write_xlsx_parts(tmp_path / "lie.xlsx", sheet=sheet))


@pytest.mark.parametrize("where", ["sheet", "shared strings"])
def test_xml_entities_are_refused(tmp_path: Path, where: str) -> None:
    if where == "sheet":
        sheet = sheet_xml([["name"], ["&lol9;"]], doctype=BILLION_LAUGHS).replace(b"&amp;lol9;", b"&lol9;")
        path = write_xlsx_parts(tmp_path / "lol.xlsx", sheet=sheet)
    else:
        shared = shared_strings_xml(["name"], doctype=BILLION_LAUGHS, body="<si><t>&lol9;</t></si>")
        path = write_xlsx_parts(tmp_path / "lol.xlsx", sheet=sheet_xml(EXPERT_ROWS), shared=shared)
    assert refused(path).startswith(
        "lol.xlsx: refused: the Excel file contains XML entity or DTD declarations, which a spreadsheet never needs"
    )


# --- peak memory, measured in a child process --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name", "expected"),
    [
        (hostile.whole_grid, "grid.xlsx", "declares the range A1:XFD1048576"),
        (hostile.huge_cell, "cell.xlsx", "unpacks to 1,500.0 MB (xl/sharedStrings.xml alone 1,500.0 MB)"),
        (hostile.zip_bomb, "bomb.xlsx", "unpacks to 1,024.0 MB"),
        (hostile.billion_laughs, "lol.xlsx", "XML entity or DTD declarations"),
        (hostile.far_row, "far.xlsx", "more than 100,000 rows below the header"),
        (hostile.csv_huge_cell, "cell.csv", "row 2: a cell of more than 32,767 characters"),
        (hostile.big_row_xlsx, "bigrow.xlsx", WIDE_ROW),
        (hostile.csv_wide_row, "commas.csv", WIDE_ROW),
        (hostile.register_xlsx, "register.xlsx", 10_000),
        (hostile.largest_csv, "largest.csv", 100_000),
        (hostile.long_other_tab, "long.xlsx", 1),  # every tab is parsed when the file is opened
    ],
)
def test_peak_memory_stays_bounded(tmp_path: Path, make: object, name: str, expected: str | int) -> None:
    """Hostile files are refused and accepted ones read, each within the bound (bench/import_limits.py measures the
    largest files the limits let through)."""
    assert callable(make)
    path = make(tmp_path / name)
    result = import_in_child(path)
    if isinstance(expected, int):
        assert result.get("rows") == expected, result
    else:
        assert expected in str(result.get("error")), result
    assert isinstance(result["peak_mb"], float) and result["peak_mb"] < MEMORY_BOUND_MB, result
