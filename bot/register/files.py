"""Reading and writing register files: CSV (also as Excel writes it in Belgium) and .xlsx, chosen by extension.

Reading accepts UTF-8 with or without a BOM, ``,`` or ``;`` (or tab) as the delimiter — detected from the header
line — an optional Excel ``sep=;`` first line, RFC 4180 quoting and cells spanning several lines. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first record row 2 (a cell spanning several lines
is still one row). Column names are compared case-insensitively; spaces and dashes count as underscores.

Reading is bounded (``FileLimits``; the checks that stream are in ``file_guards``): file size, unpacked size of an
.xlsx, declared sheet dimension, rows, columns and cell length each have a limit, and a file over one is refused
with one line ("file: problem") before it can take much memory or time.
.xlsx XML is parsed by openpyxl through defusedxml (entity declarations are refused).

Writing is deterministic: CSV with ``,``, ``\\n`` line endings, no BOM and minimal RFC 4180 quoting (or, with
``excel=True``, what Excel in a Dutch/Belgian locale opens as columns: ``;``, a UTF-8 BOM and ``\\r\\n``); .xlsx with
every text cell stored as text (never as a formula).

CSV injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width
forms) would be run as a formula by a spreadsheet. Every cell is written by ``bot.sheets``, the one rule for every
file wieweet writes: in CSV with a leading ``'`` (the OWASP rule, also before ``'`` followed by one of those or by
another ``'``), in .xlsx as a text cell with Excel's quote prefix. Reading a CSV removes exactly that prefix again,
so export → import → export is byte-identical for every value, and a value such as ``'s-Hertogenbosch`` is left
alone.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import BinaryIO

import openpyxl.xml.functions as openpyxl_xml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from bot.errors import Count, Detail, ImportFailed, Size, WieweetError, file_refused
from bot.files import replace_file
from bot.register.file_guards import (
    LIMITS,
    FileLimits,
    RecordWidth,
    check_xlsx_parts,
    library_detail,
    megabytes,
    too_many_columns,
    too_many_rows,
    unreadable,
)
from bot.sheets import neutralise, put, unneutralise
from bot.text import shown_text, shown_value

CSV_SUFFIXES = frozenset({".csv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
EXPORT_SUFFIXES = frozenset({".csv", ".xlsx"})
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
    header: tuple[str, ...] = ()  # row 1's cells as written (for messages)


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


def _check_cells(name: str, line: int, cells: Sequence[str], header: Sequence[str], limits: FileLimits) -> None:
    if len(cells) > limits.max_columns:
        raise too_many_columns(name, line, limits)
    for index, cell in enumerate(cells):
        if len(cell) > limits.max_cell_chars:
            column = header[index] if index < len(header) else str(index + 1)
            raise file_refused(
                "cell_too_long",
                f"{name}: row {line}, column {column}: a cell of {len(cell):,} characters; at most "
                f"{limits.max_cell_chars:,} characters per cell can be imported",
                file=name,
                row=line,
                column=column,
                length=Count(len(cell)),
                limit=Count(limits.max_cell_chars),
            )


def _empty(name: str) -> ImportFailed:
    return file_refused(
        "empty_file", f"{name}: the file is empty (row 1 must be the header with the column names)", file=name
    )


def _build(
    name: str,
    records: Iterable[tuple[int, Sequence[str]]],
    delimiter: str | None,
    limits: FileLimits = LIMITS,
) -> RegisterFile:
    iterator = iter(records)
    first = next(iterator, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise _empty(name)
    _check_cells(name, first[0], first[1], (), limits)
    header = list(first[1])
    while header and not header[-1].strip():
        header.pop()
    columns: list[str] = []
    for index, raw in enumerate(header, start=1):
        column = normalise_column(raw) or f"column {index} (no name)"
        if column in columns:
            raise file_refused(
                "duplicate_column",
                f"{name}: the header (row 1) has the column {shown_value(column)} twice",
                file=name,
                column=shown_value(column),
            )
        columns.append(column)
    rows: list[RawRow] = []
    for line, record in iterator:
        if line > limits.max_rows + 1:
            raise too_many_rows(name, limits)
        _check_cells(name, line, record, columns, limits)
        if not any(cell.strip() for cell in record):
            continue  # a blank row
        values = {column: (record[i] if i < len(record) else "") for i, column in enumerate(columns)}
        extra = tuple(cell for cell in record[len(columns) :] if cell.strip())
        rows.append(RawRow(line=line, values=values, extra=extra))
    shown = tuple(cell.strip() for cell in header)
    return RegisterFile(name=name, columns=tuple(columns), rows=tuple(rows), delimiter=delimiter, header=shown)


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


def _check_size(name: str, size: int, limits: FileLimits) -> None:
    if size > limits.max_file_bytes:
        raise file_refused(
            "file_too_big",
            f"{name}: the file is {megabytes(size)}; at most {megabytes(limits.max_file_bytes)} can be imported "
            "(split the register into several files)",
            file=name,
            size=Size(size),
            limit=Size(limits.max_file_bytes),
        )


def _where(error: UnicodeDecodeError) -> tuple[int, int]:
    """The line and column of the first byte that is not UTF-8 (what an editor shows), not a byte offset."""
    before = bytes(error.object[: error.start])
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    line = before.count(b"\n") + 1
    return line, column


def _decode(data: bytes, name: str) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 with its BOM: what Excel saves as "Unicode Text" (tab-separated)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # the BOM gives the byte order and is dropped
        except UnicodeDecodeError as exc:
            raise file_refused(
                "not_utf8",
                f"{name}: this UTF-16 file is damaged (an unreadable character at byte {exc.start:,}). In Excel use "
                "Save As → “CSV UTF-8 (comma delimited)” (Dutch Excel: “CSV UTF-8 (door komma's gescheiden)”), "
                "or import the .xlsx file itself",
                "utf16_damaged",
                file=name,
                byte=Count(exc.start),
            ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _where(exc)
        raise file_refused(
            "not_utf8",
            f"{name}: this file is not UTF-8 text (an unreadable character in line {line}, column {column}). In "
            "Excel use Save As → “CSV UTF-8 (comma delimited)” (Dutch Excel: “CSV UTF-8 (door komma's "
            "gescheiden)”), or import the .xlsx file itself",
            file=name,
            line=line,
            column=column,
        ) from exc


def parse_csv(data: bytes, *, name: str, limits: FileLimits = LIMITS) -> RegisterFile:
    """Parse CSV bytes (see the module docstring for what is accepted)."""
    _check_size(name, len(data), limits)
    text = _decode(data, name)
    if not text.strip():
        raise _empty(name)
    end = text.find("\n")
    first_line = (text if end < 0 else text[:end]).rstrip("\r")
    sep = re.fullmatch(r"\s*sep=(.)\s*", first_line)
    if sep:  # Excel's "sep=;" hint line: not a row of the sheet
        text = "" if end < 0 else text[end + 1 :]
        delimiter = sep.group(1)
    else:
        delimiter = _detect_delimiter(first_line[: 100 * limits.max_columns])  # a header is far shorter
    line = 0
    width = RecordWidth(text, delimiter, limits)
    reader = csv.reader(width.lines(name, lambda: line + 1), delimiter=delimiter, strict=True)

    def records() -> Iterator[tuple[int, list[str]]]:
        nonlocal line
        try:
            for record in reader:
                line += 1
                width.record_done()
                yield line, [unneutralise(cell) for cell in record]
        except csv.Error as exc:
            if "field limit" in str(exc):  # csv's own guard against a huge cell (131,072 characters)
                raise file_refused(
                    "cell_too_long",
                    f"{name}: row {line + 1}: a cell of more than {limits.max_cell_chars:,} characters; at most "
                    f"{limits.max_cell_chars:,} characters per cell can be imported",
                    "cell_too_long_csv",
                    file=name,
                    row=line + 1,
                    limit=Count(limits.max_cell_chars),
                ) from exc
            detail = library_detail(exc)
            raise file_refused(
                "bad_csv",
                f"{name}: row {line + 1}: this is not valid CSV ({detail}); a value containing the delimiter "
                f'{delimiter!r}, a quote or a line break must be in double quotes, with quotes inside doubled ("")',
                file=name,
                row=line + 1,
                detail=detail,
                delimiter=repr(delimiter),
            ) from exc

    return _build(name, records(), delimiter, limits)


def xml_is_hardened() -> bool:
    """True when openpyxl parses workbook XML with defusedxml (it does when defusedxml is installed)."""
    return bool(openpyxl_xml.iterparse.__module__.startswith("defusedxml"))


def _check_dimension(name: str, sheet: ReadOnlyWorksheet, limits: FileLimits) -> None:
    """The sheet's declared size (what Excel writes as its used range) must fit the limits."""
    rows, columns = sheet.max_row or 0, sheet.max_column or 0
    if rows > limits.max_rows + 1 or columns > limits.max_columns:
        last = f"{get_column_letter(min(columns, 18_278))}{rows}" if columns else str(rows)
        raise file_refused(
            "sheet_too_big",
            f"{name}: the sheet declares the range A1:{last} ({rows:,} rows × {columns:,} columns); at most "
            f"{limits.max_rows + 1:,} rows and {limits.max_columns} columns can be imported (delete the empty "
            "rows and columns after the data, or save the sheet as CSV UTF-8)",
            file=name,
            last=last,
            rows=Count(rows),
            columns=Count(columns),
            max_rows=Count(limits.max_rows + 1),
            max_columns=Count(limits.max_columns),
        )


def read_xlsx(path: Path, *, limits: FileLimits = LIMITS) -> RegisterFile:
    """The first sheet of an Excel workbook; formulas count with their last computed value."""
    if not xml_is_hardened():
        raise file_refused(
            "unsafe_xml",
            f"{path.name}: .xlsx files are only read with defusedxml installed (pip install defusedxml; "
            "and OPENPYXL_DEFUSEDXML must not be False)",
            "no_defusedxml",
            file=path.name,
        )
    check_xlsx_parts(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise unreadable(path, exc) from exc
    try:
        sheet = workbook.worksheets[0]
        if not isinstance(sheet, ReadOnlyWorksheet):  # pragma: no cover - read_only=True always gives one
            raise file_refused(
                "bad_xlsx",
                f"{path.name}: cannot read this Excel file (no worksheet)",
                file=path.name,
                detail=Detail("", "no_worksheet"),
            )
        _check_dimension(path.name, sheet, limits)
        # The declared size is not trusted any further: a too small one would cut rows off silently. Reading
        # stops one row and one column past the limits, and _build refuses a file that reaches either.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_row=limits.max_rows + 2, max_col=limits.max_columns + 1, values_only=True)

        def records() -> Iterator[tuple[int, list[str]]]:
            for line, row in enumerate(rows, start=1):
                end = len(row)  # each row comes padded to max_col: leave the empty cells on the right out
                while end and row[end - 1] is None:
                    end -= 1
                yield line, [_cell_text(row[i]) for i in range(end)]

        return _build(path.name, records(), None, limits)
    except ImportFailed:
        raise
    except Exception as exc:
        raise unreadable(path, exc) from exc
    finally:
        workbook.close()


def check_register_path(path: Path) -> None:
    """Refuse a file name that cannot be a register file (a usage error: the command line checks it before it
    opens, or creates, the database)."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise file_refused(
            "bad_format",
            f"{path.name}: the old .xls format is not supported; save it as .xlsx or as CSV UTF-8",
            "old_xls",
            file=path.name,
        )
    if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
        raise file_refused("bad_format", f"{path.name}: use a .csv or .xlsx file", file=path.name)
    if not path.is_file():
        raise file_refused("no_file", f"{path}: no such file", file=str(path))


def _unreadable(path: Path, exc: OSError) -> ImportFailed:
    detail = library_detail(exc)
    return file_refused("unreadable", f"{path}: cannot read the file ({detail})", file=str(path), detail=detail)


def read_register_file(path: Path, *, limits: FileLimits = LIMITS) -> RegisterFile:
    """Read a .csv or .xlsx register file; every problem is an ``ImportFailed`` with a clear message."""
    check_register_path(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    _check_size(path.name, size, limits)
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(path, limits=limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    return parse_csv(data, name=path.name, limits=limits)


def format_csv(columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, excel: bool = False) -> str:
    """CSV text: RFC 4180 with ``,`` and ``\\n``; with ``excel``, ``;`` and ``\\r\\n`` (add the BOM when encoding)."""
    # The writer quotes a cell holding a character of its line terminator only: with "\r\n" every cell with a \r
    # or a \n is quoted; each record's terminator is then replaced by the one of the format.
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    terminator = "\r\n" if excel else "\n"
    lines: list[str] = []
    for row in [columns, *rows]:
        writer.writerow(["" if cell is None else neutralise(cell) if isinstance(cell, str) else cell for cell in row])
        lines.append(buffer.getvalue()[:-2] + terminator)
        buffer.seek(0)
        buffer.truncate()
    return "".join(lines)


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Cell]], *, excel: bool = False) -> bytes:
    """The bytes of a CSV export: UTF-8, with a BOM for Excel (it reads UTF-8 without one as the local code page)."""
    return format_csv(columns, rows, excel=excel).encode("utf-8-sig" if excel else "utf-8")


def write_register_file(
    target: Path | BinaryIO, columns: Sequence[str], rows: Sequence[Sequence[Cell]], *, excel: bool = False
) -> None:
    """Write CSV or .xlsx (by extension), replacing ``path`` only once the new file is complete.

    ``target`` may also be a binary stream (standard output): CSV is written to it. ``excel`` chooses the CSV
    dialect Excel opens in a Dutch/Belgian locale.
    """
    if not isinstance(target, Path):
        target.write(csv_bytes(columns, rows, excel=excel))
        target.flush()
        return
    path = target
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:  # said in the operator's language (bot.error_texts.OPERATOR_CODES)
        # the operator's name quoted as every value given back is (cut, a token in it masked)
        name, shown_suffix = shown_value(path.name), shown_text(suffix)
        kind = f"a {shown_suffix} file" if suffix else "a file without an extension"
        raise WieweetError(
            "export_suffix" if suffix else "export_no_suffix",
            f"{name}: cannot export to {kind}; use .csv or .xlsx (or - for standard output)",
            values={"file": name, "suffix": shown_suffix},
        )
    if excel and suffix != ".csv":
        raise WieweetError(
            "export_excel_csv",
            f"{path.name}: the Excel CSV format is for .csv files; .xlsx is Excel's own",
            values={"file": path.name},
        )
    if suffix in XLSX_SUFFIXES:
        replace_file(path, _xlsx_bytes(columns, rows))
    else:
        replace_file(path, csv_bytes(columns, rows, excel=excel))


def _xlsx_bytes(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for col, name in enumerate(columns, start=1):
        put(sheet, 1, col, name).font = Font(bold=True)
    for row_number, row in enumerate(rows, start=2):
        for col, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            put(sheet, row_number, col, value)  # a text cell, never a formula (bot.sheets)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
