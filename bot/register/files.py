"""Reading and writing register files: CSV (as Excel writes it in Belgium, too) and .xlsx."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

from bot.errors import ImportFailed


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its row number as a spreadsheet shows it (header = 1) and its cells by column name."""

    row: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class RegisterFile:
    path: Path
    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _build(path: Path, header: Sequence[str], records: Sequence[Sequence[str]]) -> RegisterFile:
    columns = tuple(h.strip().lstrip("\ufeff").strip().lower() for h in header)
    if not any(columns):
        raise ImportFailed("empty_file", f"{path.name}: the first row must be the header with the column names")
    rows: list[RawRow] = []
    for number, record in enumerate(records, start=2):
        if not any((cell or "").strip() for cell in record):
            continue  # blank line
        values = {column: (record[i] if i < len(record) else "") for i, column in enumerate(columns) if column}
        if len(record) > len(columns) and any((c or "").strip() for c in record[len(columns) :]):
            values["__extra__"] = "; ".join(c for c in record[len(columns) :] if c.strip())
        rows.append(RawRow(row=number, values=values))
    return RegisterFile(path=path, columns=columns, rows=tuple(rows))


def read_csv(path: Path) -> RegisterFile:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            "not_utf8",
            f"{path.name}: the file is not UTF-8 (byte {exc.start + 1}); in Excel use Save As → "
            "“CSV UTF-8 (comma delimited)”",
        ) from exc
    if not text.strip():
        raise ImportFailed("empty_file", f"{path.name}: the file is empty")
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ImportFailed("bad_csv", f"{path.name}: row {reader.line_num}: {exc} (check the quotes)") from exc
    return _build(path, records[0], records[1:])


def read_xlsx(path: Path) -> RegisterFile:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise ImportFailed("bad_xlsx", f"{path.name}: cannot read this Excel file ({exc})") from exc
    try:
        sheet = workbook.worksheets[0]
        records = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    if not records:
        raise ImportFailed("empty_file", f"{path.name}: the first sheet is empty")
    return _build(path, records[0], records[1:])


def read_register_file(path: Path) -> RegisterFile:
    if not path.exists():
        raise ImportFailed("no_file", f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return read_xlsx(path)
    if suffix in {".csv", ".txt", ""}:
        return read_csv(path)
    raise ImportFailed("bad_format", f"{path.name}: use a .csv or .xlsx file")


def write_register_file(path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write CSV (comma, ``\\n``, minimal RFC 4180 quoting, no BOM) or .xlsx, chosen by the extension."""
    if path.suffix.lower() == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.append(list(columns))
        for row in rows:
            sheet.append(list(row))
        workbook.save(path)
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
