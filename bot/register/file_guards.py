"""The streaming guards of register file reading: what is refused before a file is built in memory.

``FileLimits`` says how big a register file may be. Two checks run before the parsers build anything:
``RecordWidth`` stops a CSV record at its first field past ``max_columns`` while the csv module reads it, and
``check_xlsx_parts`` refuses an .xlsx whose zip parts unpack to too much or whose sheets have a row of too many
cells, counting the cells as the sheet's XML streams past (openpyxl builds each row whole).
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser

from bot.errors import ImportFailed

MIB = 1024 * 1024

SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
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
    return f"{size / MIB:,.1f} MB" if size >= MIB // 10 else f"{size:,} bytes"


def too_many_columns(name: str, line: int, limits: FileLimits, *, part: str = "") -> ImportFailed:
    where = f"row {line} of {part}" if part else f"row {line}"
    return ImportFailed(
        "too_many_columns",
        f"{name}: {where}: more than {limits.max_columns} columns; at most {limits.max_columns} can be "
        "imported (a register file has about a dozen)",
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
        raise ImportFailed(
            "xlsx_too_big", f"{path.name}: the Excel file holds {len(parts):,} parts; at most {limits.max_parts:,}"
        )
    total = sum(part.file_size for part in parts)
    biggest = max(parts, key=lambda part: part.file_size, default=None)
    if biggest is not None and total > limits.max_unpacked_bytes:
        raise ImportFailed(
            "xlsx_too_big",
            f"{path.name}: the Excel file unpacks to {megabytes(total)} ({biggest.filename} alone "
            f"{megabytes(biggest.file_size)}); at most {megabytes(limits.max_unpacked_bytes)} can be imported "
            "(an enormous cell or a damaged file; save the sheet as CSV UTF-8 or split it)",
        )
    # openpyxl streams worksheets row by row but builds every other part (shared strings, styles, ...) whole.
    for part in parts:
        if part.file_size > limits.max_part_bytes and not SHEET_PART.fullmatch(part.filename):
            raise ImportFailed(
                "xlsx_too_big",
                f"{path.name}: the part {part.filename} of the Excel file unpacks to {megabytes(part.file_size)}; "
                f"at most {megabytes(limits.max_part_bytes)} can be imported (an enormous cell or a damaged file; "
                "save the sheet as CSV UTF-8 or split it)",
            )
    sheets = [part for part in parts if SHEET_PART.fullmatch(part.filename)]
    for part in sheets:
        shown = "" if len(sheets) == 1 else part.filename  # which sheet, when there are several
        try:
            with zipfile.ZipFile(path) as archive, archive.open(part) as source:
                _check_row_widths(path.name, shown, source, limits)
        except ImportFailed:
            raise
        except Exception as exc:  # damaged XML or zip data: the same one line as openpyxl's own failures
            raise unreadable(path, exc) from exc


class _ScanDone(Exception):
    """The scan has seen every row that will be read."""


class _RowScan(ContentHandler):
    """Counts the cells of each row of a worksheet's XML as it streams past, keeping nothing."""

    def __init__(self, name: str, part: str, limits: FileLimits) -> None:
        super().__init__()
        self.name = name
        self.part = part  # the sheet's part in the file, named when the workbook has several
        self.limits = limits
        self.row = 0
        self.cells = 0

    def startElementNS(  # noqa: N802 (the SAX interface's name)
        self, name: tuple[str | None, str], qname: str | None, attrs: AttributesNSImpl
    ) -> None:
        local = name[1]
        if local == "c":
            self.cells += 1
            if self.cells > self.limits.max_columns:
                raise too_many_columns(self.name, self.row, self.limits, part=self.part)
        elif local == "row":
            number = attrs.get((None, "r"), "")
            self.row = int(number) if number.isdigit() and len(number) < 10 else self.row + 1
            self.cells = 0
            if self.row > self.limits.max_rows + 1:
                raise _ScanDone


def _check_row_widths(name: str, part: str, source: IO[bytes], limits: FileLimits) -> None:
    """Refuse a sheet with a row of more than ``max_columns`` cells before openpyxl reads the workbook.

    openpyxl builds each row whole, every cell of it, before ``iter_rows`` leaves out the columns past ``max_col``,
    and opening a workbook without a declared sheet size parses each sheet once to the end: one row of 1.6 million
    cells, 178 KB zipped, took 1.6 GB and 82 seconds. This pass streams the sheet's XML through defusedxml's SAX
    parser, keeps one row's count and stops at the first row too wide (or past the last row read).
    """
    parser = make_parser()
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(_RowScan(name, part, limits))
    with contextlib.suppress(_ScanDone):
        parser.parse(source)


def unreadable(path: Path, exc: BaseException) -> ImportFailed:
    """One line for a file openpyxl cannot read; XML that defusedxml refused is named as such."""
    cause: BaseException | None = exc
    while cause is not None:  # openpyxl wraps what went wrong in its own exceptions
        if isinstance(cause, DefusedXmlException):
            return ImportFailed(
                "unsafe_xml",
                f"{path.name}: refused: the Excel file contains XML entity or DTD declarations, which a spreadsheet "
                f"never needs ({cause})",
            )
        cause = cause.__cause__ or cause.__context__
    detail = " ".join(str(exc).split())
    if len(detail) > 300:
        detail = detail[:299] + "…"
    return ImportFailed("bad_xlsx", f"{path.name}: cannot read this Excel file ({detail or type(exc).__name__})")
