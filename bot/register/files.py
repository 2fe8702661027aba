"""Reading and writing register files: CSV (also as Excel writes it in Belgium) and .xlsx, chosen by extension.

Reading accepts UTF-8 with or without a BOM, ``,`` or ``;`` (or tab) as the delimiter — detected from the header
line — an optional Excel ``sep=;`` first line, RFC 4180 quoting and cells spanning several lines. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first record row 2 (a cell spanning several lines
is still one row). Column names are compared case-insensitively; spaces and dashes count as underscores.

Writing is deterministic: CSV with ``,``, ``\\n`` line endings, no BOM and minimal RFC 4180 quoting; .xlsx with
every text cell stored as text (never as a formula).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from bot.errors import ImportFailed, WieweetError

CSV_SUFFIXES = frozenset({".csv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
Cell = str | int | None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its row number as a spreadsheet shows it (header = 1) and its cells by column name."""

    line: int
    values: dict[str, str]
    extra: tuple[str, ...] = ()  # non-empty cells to the right of the last column of the header


@dataclass(frozen=True, slots=True)
class RegisterFile:
    name: str  # the file name as shown in messages
    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]
    delimiter: str | None = None  # CSV only


def normalise_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.replace("\ufeff", "").strip().lower())


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _build(name: str, records: Iterable[tuple[int, Sequence[str]]], delimiter: str | None) -> RegisterFile:
    iterator = iter(records)
    first = next(iterator, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise ImportFailed("empty_file", f"{name}: the file is empty (row 1 must be the header with the column names)")
    header = list(first[1])
    while header and not header[-1].strip():
        header.pop()
    columns: list[str] = []
    for index, raw in enumerate(header, start=1):
        column = normalise_column(raw) or f"column {index} (no name)"
        if column in columns:
            raise ImportFailed("duplicate_column", f"{name}: the header (row 1) has the column {column!r} twice")
        columns.append(column)
    rows: list[RawRow] = []
    for line, record in iterator:
        if not any(cell.strip() for cell in record):
            continue  # a blank row
        values = {column: (record[i] if i < len(record) else "") for i, column in enumerate(columns)}
        extra = tuple(cell for cell in record[len(columns) :] if cell.strip())
        rows.append(RawRow(line=line, values=values, extra=extra))
    return RegisterFile(name=name, columns=tuple(columns), rows=tuple(rows), delimiter=delimiter)


def _detect_delimiter(header_line: str) -> str:
    counts = dict.fromkeys(",;\t", 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def parse_csv(data: bytes, *, name: str) -> RegisterFile:
    """Parse CSV bytes (see the module docstring for what is accepted)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            "not_utf8",
            f"{name}: this file is not UTF-8 text (unreadable byte at position {exc.start + 1}). In Excel use "
            "Save As → “CSV UTF-8 (comma delimited)” (Dutch Excel: “CSV UTF-8 (door komma's gescheiden)”), "
            "or import the .xlsx file itself",
        ) from exc
    if not text.strip():
        raise ImportFailed("empty_file", f"{name}: the file is empty (row 1 must be the header with the column names)")
    lines = text.split("\n", 1)
    first_line = lines[0].rstrip("\r")
    sep = re.fullmatch(r"\s*sep=(.)\s*", first_line)
    if sep:  # Excel's "sep=;" hint line: not a row of the sheet
        text = lines[1] if len(lines) > 1 else ""
        delimiter = sep.group(1)
    else:
        delimiter = _detect_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            records.append((len(records) + 1, record))
    except csv.Error as exc:
        raise ImportFailed(
            "bad_csv",
            f"{name}: row {len(records) + 1}: this is not valid CSV ({exc}); a value containing the delimiter "
            f'{delimiter!r}, a quote or a line break must be in double quotes, with quotes inside doubled ("")',
        ) from exc
    return _build(name, records, delimiter)


def read_xlsx(path: Path) -> RegisterFile:
    """The first sheet of an Excel workbook; formulas count with their last computed value."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise ImportFailed("bad_xlsx", f"{path.name}: cannot read this Excel file ({exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        records = [
            (line, [_cell_text(value) for value in row])
            for line, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        workbook.close()
    return _build(path.name, records, None)


def read_register_file(path: Path) -> RegisterFile:
    """Read a .csv or .xlsx register file; every problem is an ``ImportFailed`` with a clear message."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportFailed(
            "bad_format", f"{path.name}: the old .xls format is not supported; save it as .xlsx or as CSV UTF-8"
        )
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise ImportFailed("bad_format", f"{path.name}: use a .csv or .xlsx file")
    if not path.is_file():
        raise ImportFailed("no_file", f"{path}: no such file")
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailed("unreadable", f"{path}: cannot read the file ({exc.strerror})") from exc
    return parse_csv(data, name=path.name)


def format_csv(columns: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue()


def write_register_file(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """Write CSV or .xlsx (by extension), replacing ``path`` only once the new file is complete."""
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise WieweetError("bad_format", f"{path.name}: export to a .csv or .xlsx file")
    directory = path.parent if str(path.parent) else Path()
    if not directory.is_dir():
        raise WieweetError("no_directory", f"{path}: the folder {directory} does not exist")
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.close(handle)
    temporary = Path(name)
    try:
        if suffix in XLSX_SUFFIXES:
            _write_xlsx(temporary, columns, rows)
        else:
            temporary.write_bytes(format_csv(columns, rows).encode("utf-8"))
        temporary.replace(path)
    except OSError as exc:
        raise WieweetError("export_failed", f"{path}: cannot write the file ({exc.strerror})") from exc
    finally:
        temporary.unlink(missing_ok=True)


def _write_xlsx(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for col, name in enumerate(columns, start=1):
        sheet.cell(row=1, column=col, value=name).font = Font(bold=True)
    for row_number, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=row_number, column=col, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text that starts with "=" stays text, never a formula
    sheet.freeze_panes = "A2"
    workbook.save(path)
