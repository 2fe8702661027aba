"""Every workbook wieweet writes keeps text that people control as text: never a live formula, in any sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.needs.report import render_xlsx
from bot.register.files import write_register_file
from bot.sheets import FORMULA_TRIGGERS
from tests.output.hostile import EVERYTHING, FORMULAS, report_data


def assert_no_formula(path: Path) -> list[str]:
    """Every cell of every sheet is a value, not a formula; formula-like texts carry Excel's quote prefix.
    Returns the texts found, for the caller to check that they are all there, as written."""
    texts = []
    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value[:1] in FORMULA_TRIGGERS:
                        assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
    return texts


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_report_workbook_has_no_formulas_in_any_sheet(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(render_xlsx(report_data(), lang=lang))
    texts = assert_no_formula(path)
    for formula in FORMULAS:
        assert formula.replace("\r", "\n") in texts, formula  # kept, as text (XML reads a lone \r as \n)


def test_report_workbook_survives_characters_a_workbook_cannot_hold(tmp_path: Path) -> None:
    # openpyxl refuses C0 controls (IllegalCharacterError): one such organisation stopped the whole report
    path = tmp_path / "report.xlsx"
    path.write_bytes(render_xlsx(report_data(("bell\x07 nul\x00 =1+1\x1b", "ok"))))
    texts = assert_no_formula(path)
    assert "bell nul =1+1" in texts


def test_report_workbook_charts_read_their_tables(tmp_path: Path) -> None:
    # the chart of a table below a blank row read the blank row as its titles (one row too high)
    path = tmp_path / "report.xlsx"
    path.write_bytes(render_xlsx(report_data(("Wonen", "Mobiliteit")), lang="en"))
    book = load_workbook(path)
    for title in ("Themes per month", "Experts"):
        sheet = book[title]
        for chart in sheet._charts:  # type: ignore[attr-defined]
            for series in chart.series:
                if series.cat is None:
                    continue
                ref = series.cat.strRef.f if series.cat.strRef else series.cat.numRef.f
                first = ref.split("!")[1].split(":")[0].replace("$", "")
                label = sheet[first].value
                assert label not in (None, ""), (title, ref)
                header = sheet.cell(row=sheet[first].row - 1, column=sheet[first].column).value
                assert header not in (None, ""), (title, ref)  # the header row is just above the first category


def test_register_export_workbook_has_no_formulas(tmp_path: Path) -> None:
    path = tmp_path / "experts.xlsx"
    write_register_file(path, ["name", "organisation"], [[text, text] for text in EVERYTHING])
    assert_no_formula(path)
