"""A workbook with several tabs: the first is imported, the others are only held to what Excel itself can save.

openpyxl parses every tab to its end when it opens a workbook, so the other tabs are checked too (by the same
streaming count), but against Excel's own size of a sheet (16,384 columns, 1,048,576 rows), not the import's
100 columns: a lookup or notes tab as wide as the user likes does not stop the register on the first one.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.errors import ImportFailed
from bot.register.files import read_register_file
from tests.register import hostile
from tests.register.hostile import EXPERT_ROWS, deflated, sheet_xml, write_xlsx_tabs

WIDE = [f"waarde {i}" for i in range(150)]


def refused(path: Path) -> str:
    with pytest.raises(ImportFailed) as info:
        read_register_file(path)
    return info.value.message


def workbook(path: Path, first: list[list[str]], second: list[list[str]]) -> Path:
    book = Workbook()
    experts = book.active
    assert experts is not None
    experts.title = "Experts"
    for row in first:
        experts.append(row)
    lookup = book.create_sheet("Lijsten")
    for row in second:
        lookup.append(row)
    book.save(path)
    return path


def test_a_wide_second_tab_does_not_refuse_the_register(tmp_path: Path) -> None:
    path = workbook(tmp_path / "register.xlsx", EXPERT_ROWS, [WIDE, WIDE])
    register = read_register_file(path)
    assert register.columns == ("name", "email", "organisation")
    assert [row.values["name"] for row in register.rows] == ["An Peeters"]


def test_a_too_wide_imported_tab_is_named_by_its_title(tmp_path: Path) -> None:
    path = workbook(tmp_path / "register.xlsx", [EXPERT_ROWS[0], WIDE], EXPERT_ROWS)
    assert refused(path) == (
        "register.xlsx: row 2 of the tab 'Experts': more than 100 columns; at most 100 can be imported (a register "
        "file has about a dozen)"
    )


def test_the_imported_tab_is_the_first_in_the_workbook_not_the_first_part(tmp_path: Path) -> None:
    experts = deflated("xl/worksheets/sheet2.xml", sheet_xml(EXPERT_ROWS))
    lookup = deflated("xl/worksheets/sheet1.xml", sheet_xml([WIDE]))
    register = read_register_file(write_xlsx_tabs(tmp_path / "ok.xlsx", [("Experts", experts), ("Lijsten", lookup)]))
    assert register.columns == ("name", "email", "organisation")
    wide = deflated("xl/worksheets/sheet2.xml", sheet_xml([EXPERT_ROWS[0], WIDE]))
    small = deflated("xl/worksheets/sheet1.xml", sheet_xml(EXPERT_ROWS))
    path = write_xlsx_tabs(tmp_path / "wide.xlsx", [("Mijn experts", wide), ("Lijsten", small)])
    assert refused(path).startswith("wide.xlsx: row 2 of the tab 'Mijn experts': more than 100 columns;")


def test_another_tab_is_held_to_excels_own_width(tmp_path: Path) -> None:
    ok = hostile.wide_other_tab(tmp_path / "ok.xlsx", cells=16_384, unpacked=200_000)
    assert len(read_register_file(ok).rows) == 1
    path = hostile.wide_other_tab(tmp_path / "wide.xlsx", cells=16_385, unpacked=200_000)
    assert refused(path) == (
        "wide.xlsx: row 1 of the tab 'Lijsten' has more than 16,384 cells, more than Excel itself allows (a damaged "
        "file?). Only the first tab, 'Experts', is imported: delete the other tabs, or save that one as CSV UTF-8"
    )


@pytest.mark.parametrize("reset", [False, True], ids=["plain", "numbers-reset"])
def test_another_tab_is_held_to_excels_own_length(tmp_path: Path, reset: bool) -> None:
    path = hostile.long_other_tab(tmp_path / "long.xlsx", rows=1_048_577, reset=reset)
    assert refused(path) == (
        "long.xlsx: the tab 'Lijsten' has more than 1,048,576 rows, more than Excel itself allows (a damaged "
        "file?). Only the first tab, 'Experts', is imported: delete the other tabs, or save that one as CSV UTF-8"
    )


@pytest.mark.parametrize(
    ("block", "times"),
    [
        (b"<row/>" * 1000, 10_000),
        # every 1,000th row says it is row 2: counted all the same (the rows' own numbers never pass the limit)
        (b"<row/>" * 999 + b'<row r="2"/>', 1_000),
    ],
    ids=["plain", "numbers-reset"],
)
def test_the_imported_tab_is_refused_at_its_row_limit_without_being_read_to_the_end(
    tmp_path: Path, block: bytes, times: int
) -> None:
    """Rows past the limit are refused as the sheet streams: openpyxl would keep an element for each of them while
    it opens the workbook (ten million empty rows: about 900 MB; a million: about 90 MB)."""
    head = sheet_xml(EXPERT_ROWS[:1]).split(b"</sheetData>")[0]
    rows = hostile.deflated_repeated("xl/worksheets/sheet1.xml", head, block, times, b"</sheetData></worksheet>")
    path = hostile.write_xlsx_parts(tmp_path / "rows.xlsx", sheet=rows)
    tracemalloc.start()
    try:
        message = refused(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (
        "rows.xlsx: more than 100,000 rows below the header; at most 100,000 rows can be imported from one file "
        "(split it into several files)"
    )
    assert peak < 20 * hostile.MIB, f"{peak:,} bytes"
