"""The streaming guards of register file reading: what is refused before a file is built in memory.

``FileLimits`` says how big a register file may be. Two checks run before the parsers build anything:
``RecordWidth`` stops a CSV record at its first field past ``max_columns`` while the csv module reads it, and
``check_xlsx_parts`` refuses an .xlsx whose zip parts unpack to too much or whose sheets have a row of too many
cells, counting the cells as the sheet's XML streams past (openpyxl builds each row whole).
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import ParseError
from xml.sax import SAXException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser
from openpyxl.reader.excel import ExcelReader
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import XLSM, XLSX, XLTM, XLTX

from bot.errors import DETAIL_CHARS, Count, Detail, ImportFailed, Size, file_refused
from bot.i18n import MIB, format_size
from bot.text import shown_text, shown_value

SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
EXCEL_COLUMNS = 16_384  # Excel's own size of a sheet: columns A to XFD ...
EXCEL_ROWS = 1_048_576  # ... and rows 1 to 1,048,576
WORKBOOK_TYPES = (XLSX, XLSM, XLTX, XLTM)  # the content types of a workbook part, in the order openpyxl looks
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How big a register file may be. Well above any real register (10,000 experts fit many times over)."""

    max_file_bytes: int = 20 * MIB  # the file on disk, CSV or .xlsx
    max_unpacked_bytes: int = 64 * MIB  # the parts of an .xlsx (a zip of XML files) once unpacked, together
    max_part_bytes: int = 24 * MIB  # one part that is parsed whole (shared strings, styles; sheets are streamed)
    max_parts: int = 1_000  # files inside an .xlsx
    max_rows: int = 100_000  # rows below the header
    max_columns: int = 100
    max_cell_chars: int = 32_767  # Excel's own limit for one cell


LIMITS = FileLimits()


def megabytes(size: int) -> str:
    """A size in an English message (a reader's language: pass it as ``Size``, ``problem_text`` formats it)."""
    return format_size(size, "en")


def too_many_columns(name: str, line: int, limits: FileLimits, *, tab: str = "") -> ImportFailed:
    """A row too wide (``tab``: the tab's name, when the workbook has several)."""
    where = f"row {line} of the tab {shown_value(tab)}" if tab else f"row {line}"
    return file_refused(
        "too_many_columns",
        f"{name}: {where}: more than {limits.max_columns} columns; at most {limits.max_columns} can be "
        "imported (a register file has about a dozen)",
        "too_many_columns_tab" if tab else "too_many_columns",
        file=name,
        row=line,
        tab=shown_value(tab),
        limit=Count(limits.max_columns),
    )


def too_many_rows(name: str, limits: FileLimits) -> ImportFailed:
    return file_refused(
        "too_many_rows",
        f"{name}: more than {limits.max_rows:,} rows below the header; at most {limits.max_rows:,} rows "
        "can be imported from one file (split it into several files)",
        file=name,
        limit=Count(limits.max_rows),
    )


class RecordWidth:
    """Stops a CSV record at ``max_columns`` fields before the csv module builds it whole.

    The csv module builds a record, every field of it, before anything can count them: one line of 20 million
    commas would become a list of 20 million strings. The lines are handed to the reader through ``lines``, which
    counts the delimiters of the record being read (quick: ``str.count``); when there are more than ``max_columns``
    (and again each time they double) the fields are counted as csv does, quotes included, up to one too many.
    """

    def __init__(self, text: str, delimiter: str, limits: FileLimits) -> None:
        self.text = text
        self.delimiter = delimiter
        self.limits = limits
        d = re.escape(delimiter)
        self.field = re.compile(rf'(?:"[^"]*(?:""[^"]*)*"?)?[^{d}\r\n]*')  # one field, quoted or not
        self.record_done()

    def record_done(self) -> None:
        self.pending: list[str] = []
        self.delimiters = 0
        self.next_check = self.limits.max_columns

    def too_wide(self, record: str) -> bool:
        count, pos, most = 0, 0, self.limits.max_columns
        while count <= most:
            count += 1
            match = self.field.match(record, pos)
            pos = match.end() if match else pos
            if record[pos : pos + 1] != self.delimiter:
                break
            pos += 1
        return count > most

    def lines(self, name: str, row: Callable[[], int]) -> Iterator[str]:
        for match in _LINE.finditer(self.text):  # the lines io.StringIO(newline="") gives, without its copy
            line = match.group()
            self.pending.append(line)
            self.delimiters += line.count(self.delimiter)
            if self.delimiters >= self.next_check:
                if self.too_wide("".join(self.pending)):
                    raise too_many_columns(name, row(), self.limits)
                self.next_check = 2 * self.delimiters
            yield line


def check_xlsx_parts(path: Path, limits: FileLimits) -> None:
    """Refuse an .xlsx whose parts unpack to too much (a zip bomb, or one enormous cell) before openpyxl reads it.

    Python's zip reader never returns more than a part's declared size (a part that unpacks to more fails its
    checksum), so the declared sizes are a real bound.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise unreadable(path, exc) from exc
    if len(parts) > limits.max_parts:
        raise file_refused(
            "xlsx_too_big",
            f"{path.name}: the Excel file holds {len(parts):,} parts; at most {limits.max_parts:,}",
            "xlsx_parts",
            file=path.name,
            parts=Count(len(parts)),
            limit=Count(limits.max_parts),
        )
    total = sum(part.file_size for part in parts)
    biggest = max(parts, key=lambda part: part.file_size, default=None)
    if biggest is not None and total > limits.max_unpacked_bytes:
        raise file_refused(
            "xlsx_too_big",
            f"{path.name}: the Excel file unpacks to {megabytes(total)} ({biggest.filename} alone "
            f"{megabytes(biggest.file_size)}); at most {megabytes(limits.max_unpacked_bytes)} can be imported "
            "(an enormous cell or a damaged file; save the sheet as CSV UTF-8 or split it)",
            "xlsx_unpacked",
            file=path.name,
            size=Size(total),
            part=biggest.filename,
            part_size=Size(biggest.file_size),
            limit=Size(limits.max_unpacked_bytes),
        )
    # openpyxl streams worksheets row by row but builds every other part (shared strings, styles, ...) whole.
    for part in parts:
        if part.file_size > limits.max_part_bytes and not SHEET_PART.fullmatch(part.filename):
            raise file_refused(
                "xlsx_too_big",
                f"{path.name}: the part {part.filename} of the Excel file unpacks to {megabytes(part.file_size)}; "
                f"at most {megabytes(limits.max_part_bytes)} can be imported (an enormous cell or a damaged file; "
                "save the sheet as CSV UTF-8 or split it)",
                "xlsx_part_too_big",
                file=path.name,
                part=part.filename,
                size=Size(part.file_size),
                limit=Size(limits.max_part_bytes),
            )
    sheets = [part for part in parts if SHEET_PART.fullmatch(part.filename)]
    tabs = _worksheet_tabs(path)  # None: unknown, and every sheet is then held to the limits of the import
    imported = next(iter(tabs), "") if tabs is not None else ""
    for part in sheets:
        limit: _ImportLimit | _ExcelLimit
        if tabs is None or part.filename == imported:
            named = tabs[imported] if tabs is not None and len(tabs) > 1 else ""  # which tab, when there are several
            limit = _ImportLimit(path.name, named, limits)
        else:  # a tab that is not imported, or a sheet no tab shows
            limit = _ExcelLimit(path.name, tabs.get(part.filename, part.filename), tabs.get(imported, ""))
        try:
            with zipfile.ZipFile(path) as archive, archive.open(part) as source:
                _check_row_widths(source, limit)
        except ImportFailed:
            raise
        except Exception as exc:  # damaged XML or zip data: the same one line as openpyxl's own failures
            raise unreadable(path, exc) from exc


def _worksheet_tabs(path: Path) -> dict[str, str] | None:
    """The workbook's worksheets, part name -> tab title, in the order openpyxl opens them (its first is the one
    imported); None when the workbook part cannot be found or read (openpyxl then refuses the file itself)."""
    try:
        opened = ExcelReader(path, read_only=True)
        with opened.archive as archive:
            opened.read_manifest()
            found = next((part for kind in WORKBOOK_TYPES if (part := opened.package.find(kind)) is not None), None)  # type: ignore[no-untyped-call]
            reader = WorkbookParser(archive, found.PartName[1:] if found is not None else "xl/workbook.xml")
            reader.parse()
            present = set(archive.namelist())
            return {
                rel.target: str(sheet.name)
                for sheet, rel in reader.find_sheets()
                if rel.target in present and "chartsheet" not in str(rel.Type)
            }
    except Exception:  # any damage: every sheet is then held to the import's limits
        return None


class _ImportLimit:
    """The sheet that is imported: at most ``max_columns`` cells a row and ``max_rows`` rows below the header."""

    def __init__(self, name: str, tab: str, limits: FileLimits) -> None:
        self.name, self.tab, self.limits = name, tab, limits  # tab: named when the workbook has several
        self.cells = limits.max_columns
        self.rows = limits.max_rows + 1

    def too_wide(self, row: int) -> ImportFailed:
        return too_many_columns(self.name, row, self.limits, tab=self.tab)

    def too_long(self) -> ImportFailed:
        return too_many_rows(self.name, self.limits)


class _ExcelLimit:
    """Another tab: never imported, but openpyxl parses it to its end when it opens the file (keeping an element
    for each row until the end), so it is held to what Excel itself can save: 16,384 cells a row and 1,048,576
    rows. The widest and the longest such tab cost under 150 MB (``bench/import_limits.py``)."""

    cells = EXCEL_COLUMNS
    rows = EXCEL_ROWS

    def __init__(self, name: str, tab: str, imported: str) -> None:
        self.name, self.tab, self.imported = name, tab, imported

    def _refusal(self, problem: str, code: str, **values: object) -> ImportFailed:
        first = f"the first tab, {shown_value(self.imported)}," if self.imported else "the first tab"
        return file_refused(
            "sheet_too_big",
            f"{self.name}: {problem}, more than Excel itself allows (a damaged file?). Only {first} is imported: "
            "delete the other tabs, or save that one as CSV UTF-8",
            code if self.imported else f"{code}_first",
            file=self.name,
            tab=shown_value(self.tab),
            first=shown_value(self.imported),
            **values,
        )

    def too_wide(self, row: int) -> ImportFailed:
        return self._refusal(
            f"row {row} of the tab {shown_value(self.tab)} has more than {EXCEL_COLUMNS:,} cells",
            "excel_tab_too_wide",
            row=row,
            limit=Count(EXCEL_COLUMNS),
        )

    def too_long(self) -> ImportFailed:
        return self._refusal(
            f"the tab {shown_value(self.tab)} has more than {EXCEL_ROWS:,} rows",
            "excel_tab_too_long",
            limit=Count(EXCEL_ROWS),
        )


class _RowScan(ContentHandler):
    """Counts the cells of each row of a worksheet's XML as it streams past, keeping nothing.

    A row is as far down as its own ``r`` says, or as the number of ``<row>`` elements so far, whichever is more:
    openpyxl keeps an element for each of them whatever it says its number is (``<row r="2"/>`` again and again
    would otherwise never be past the last row that counts)."""

    def __init__(self, limit: _ImportLimit | _ExcelLimit) -> None:
        super().__init__()
        self.limit = limit
        self.row = 0  # the row's number, as the sheet says (``r``) or counted on from the row before
        self.seen = 0  # the rows streamed past
        self.cells = 0

    def startElementNS(  # noqa: N802 (the SAX interface's name)
        self, name: tuple[str | None, str], qname: str | None, attrs: AttributesNSImpl
    ) -> None:
        local = name[1]
        if local == "c":
            self.cells += 1
            if self.cells > self.limit.cells:
                raise self.limit.too_wide(self.row)
        elif local == "row":
            number = attrs.get((None, "r"), "")
            self.row = int(number) if number.isdigit() and len(number) < 10 else self.row + 1
            self.seen += 1
            self.cells = 0
            if max(self.row, self.seen) > self.limit.rows:
                raise self.limit.too_long()


def _check_row_widths(source: IO[bytes], limit: _ImportLimit | _ExcelLimit) -> None:
    """Refuse a sheet with a row of more cells than ``limit`` allows before openpyxl reads the workbook.

    openpyxl builds each row whole, every cell of it, before ``iter_rows`` leaves out the columns past ``max_col``,
    and opening a workbook without a declared sheet size parses each sheet (every tab, not only the one imported)
    once to the end: one row of 1.6 million cells, 178 KB zipped, took 1.6 GB and 82 seconds. This pass streams
    the sheet's XML through defusedxml's SAX parser, keeps one row's count and stops at the first row too wide (or
    past the last row that counts).
    """
    parser = make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(_RowScan(limit))
    parser.parse(source)


# what a library's error text is about, by the words it holds (the CSV reader's messages, Python 3.11 to 3.13)
_CSV_KINDS = (
    ("expected after", "csv_after_quote"),
    ("unexpected end of data", "csv_open_quote"),
    ("NUL", "csv_nul"),
    ("new-line character", "csv_newline"),
)
_OS_KINDS: tuple[tuple[type[OSError], str], ...] = (
    (FileNotFoundError, "no_such_file"),
    (PermissionError, "denied"),
    (IsADirectoryError, "is_directory"),
)


def library_detail(exc: BaseException) -> Detail:
    """A library's error as a problem line's detail: what kind of failure it is (said in the reader's language) and
    its own text, printable and one line, its secrets masked, cut at ``DETAIL_CHARS``."""
    if isinstance(exc, OSError):
        kind = next((k for cls, k in _OS_KINDS if isinstance(exc, cls)), "system")
        return Detail(shown_text(exc.strerror or type(exc).__name__, DETAIL_CHARS), kind)
    said = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)  # a KeyError's str is a repr
    text = shown_text(said, DETAIL_CHARS) or type(exc).__name__
    if isinstance(exc, csv.Error):
        kind = next((k for words, k in _CSV_KINDS if words in str(exc)), "csv_other")
    elif isinstance(exc, zipfile.BadZipFile):
        kind = "not_zip" if "not a zip file" in str(exc) else "damaged_zip"
    elif isinstance(exc, DefusedXmlException):
        kind = "xml_forbidden"
    elif isinstance(exc, InvalidFileException):
        kind = "not_xlsx"
    elif isinstance(exc, KeyError) and "no item named" in str(exc):
        kind = "xlsx_part_missing"
    elif isinstance(exc, (ParseError, SAXException)) or type(exc).__name__ == "XMLSyntaxError":
        kind = "damaged_xml"
    else:
        kind = "other"
    return Detail(text, kind)


def unreadable(path: Path, exc: BaseException) -> ImportFailed:
    """One line for a file openpyxl cannot read; XML that defusedxml refused is named as such."""
    cause: BaseException | None = exc
    while cause is not None:  # openpyxl wraps what went wrong in its own exceptions
        if isinstance(cause, DefusedXmlException):
            detail = library_detail(cause)
            return file_refused(
                "unsafe_xml",
                f"{path.name}: refused: the Excel file contains XML entity or DTD declarations, which a spreadsheet "
                f"never needs ({detail})",
                "xml_declarations",
                file=path.name,
                detail=detail,
            )
        cause = cause.__cause__ or cause.__context__
    detail = library_detail(exc)
    return file_refused(
        "bad_xlsx", f"{path.name}: cannot read this Excel file ({detail})", file=path.name, detail=detail
    )
