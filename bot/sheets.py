"""The one way wieweet writes a spreadsheet cell: every workbook and CSV file the product writes (register exports,
the steering-group report) goes through here, so text that people control (names, organisations, practice titles,
topic labels, theme labels) never becomes a formula.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width forms) would be
run as a formula (or as DDE: ``=cmd|' /C calc'!A0``) by Excel, LibreOffice or Google Sheets. openpyxl itself makes
*any* string starting with ``=`` a live formula. So:

- .xlsx (``put``, ``append``): every string is stored as a text cell (data type ``s``), never as a formula, and a
  formula-like text gets Excel's quote prefix (a leading ``'`` that is not part of the value) so it stays text
  when someone edits the cell. Characters a workbook cannot hold (C0 controls other than tab, line feed and
  carriage return) are dropped and a text longer than Excel's 32,767 characters is cut, so one odd value can never
  stop a whole workbook from being written or opened.
- CSV (``neutralise``): the OWASP rule, a leading ``'``; also for a cell that starts with ``'`` followed by one of
  those characters or by another ``'``, so that ``unneutralise`` (on reading) restores every value exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.worksheet.worksheet import Worksheet

# A cell starting with one of these is run as a formula (or as DDE) by Excel, LibreOffice or Google Sheets.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
QUOTE = "'"
MAX_CELL_CHARS = 32_767  # Excel's limit for one cell
_QUOTED_AFTER = FORMULA_TRIGGERS | {QUOTE}

Value = str | int | float | None


def neutralise(value: str) -> str:
    """The CSV text of a cell: a leading ``'`` where a spreadsheet would otherwise run it (see the module doc)."""
    first = value[:1]
    if first in FORMULA_TRIGGERS or (first == QUOTE and value[1:2] in _QUOTED_AFTER):
        return QUOTE + value
    return value


def unneutralise(text: str) -> str:
    """The cell value of CSV text: removes exactly the prefix ``neutralise`` adds."""
    if text[:1] == QUOTE and text[1:2] in _QUOTED_AFTER:
        return text[1:]
    return text


def text(value: str) -> str:
    """``value`` as a workbook can hold it: without the characters it cannot store, at most 32,767 characters."""
    # openpyxl's own set (the C0 controls but tab, line feed and carriage return), not ``bot.text.CONTROLS``: a cell
    # keeps what the workbook can store, and the values come from the database, which holds no other controls
    return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_CHARS]


def _as_text(cell: Cell | MergedCell) -> None:
    if isinstance(cell, Cell) and isinstance(cell.value, str):
        cell.data_type = "s"  # never "f" (openpyxl's guess for "=...")
        if cell.value[:1] in FORMULA_TRIGGERS:
            cell.quotePrefix = True


def put(sheet: Worksheet, row: int, column: int, value: Value) -> Cell | MergedCell:
    """Write one cell of an .xlsx sheet; a string is always a text cell (see the module doc)."""
    cell = sheet.cell(row=row, column=column, value=text(value) if isinstance(value, str) else value)
    _as_text(cell)
    return cell


def append(sheet: Worksheet, values: Sequence[Value]) -> None:
    """``Worksheet.append`` (the next row; an empty ``values`` leaves a blank row), every string a text cell."""
    sheet.append([text(v) if isinstance(v, str) else v for v in values])
    if any(v is not None for v in values):
        for cell in sheet[sheet.max_row]:
            _as_text(cell)
