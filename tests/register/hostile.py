"""Hand-built .xlsx files, benign and hostile, for the import limits tests.

An .xlsx is a zip of XML parts. ``write_xlsx_parts`` writes one by hand (local headers, deflated data, central
directory) so that a test can make parts no spreadsheet program would: a gigabyte of one repeated character in a
second (each deflated megabyte is repeated instead of compressed again), a declared size that lies, a sheet that
declares the whole grid, XML with entity declarations.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from bot.register.files import LIMITS

MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/sharedStrings.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    b"</Types>"
)
ROOT_RELS = (
    f'<Relationships xmlns="{REL_NS}"><Relationship Id="rId1" Type="{DOC_REL}/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
).encode()
WORKBOOK = (
    f'<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}"><sheets>'
    '<sheet name="Experts" sheetId="1" r:id="rId1"/></sheets></workbook>'
).encode()
WORKBOOK_RELS = (
    f'<Relationships xmlns="{REL_NS}">'
    f'<Relationship Id="rId1" Type="{DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
).encode()


@dataclass
class Part:
    """One zip member: its name, its raw deflate data, and the CRC and size of what the data unpacks to."""

    name: str
    data: bytes
    crc: int
    size: int
    declared_size: int | None = None  # a lie for the central directory and local header, when set


def deflated(name: str, content: bytes) -> Part:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Part(name, packer.compress(content) + packer.flush(), zlib.crc32(content), len(content))


def deflated_repeated(name: str, prefix: bytes, chunk: bytes, times: int, suffix: bytes) -> Part:
    """``prefix + chunk * times + suffix``, deflated in a second however large: ``chunk`` is deflated once with a
    full flush (so it depends on nothing before it) and those bytes are repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    body = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(suffix) + packer.flush()
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    return Part(name, head + body * times + tail, crc, len(prefix) + len(chunk) * times + len(suffix))


def write_zip(path: Path, parts: Iterable[Part]) -> Path:
    """A plain zip (no zip64: every part under 4 GiB) with the parts as given."""
    central = bytearray()
    count = 0
    with path.open("wb") as out:
        for part in parts:
            offset = out.tell()
            name = part.name.encode()
            size = part.size if part.declared_size is None else part.declared_size
            fields = (20, 0, 8, 0, 0x21, part.crc, len(part.data), size, len(name))
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + name)
            out.write(part.data)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset) + name
            count += 1
        start = out.tell()
        out.write(central)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0))
    return path


def cell_ref(column: int, row: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def sheet_xml(rows: Sequence[Sequence[str]], *, dimension: str | None = None, doctype: str = "") -> bytes:
    """A worksheet with inline-string cells (row 1 is the header)."""
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{cell_ref(c, r)}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
            for c, value in enumerate(row, start=1)
            if value
        )
        body.append(f'<row r="{r}">{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'{doctype}<worksheet xmlns="{MAIN_NS}">{dim}<sheetData>{"".join(body)}</sheetData></worksheet>'.encode()


def shared_strings_xml(strings: Sequence[str], *, doctype: str = "", body: str = "") -> bytes:
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + body
    return f'{doctype}<sst xmlns="{MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'.encode()


def write_xlsx_parts(path: Path, *, sheet: bytes | Part, shared: bytes | Part | None = None) -> Path:
    """An .xlsx with one sheet (and optionally a shared strings part) built from raw XML or ready parts."""
    sheet_part = sheet if isinstance(sheet, Part) else deflated("xl/worksheets/sheet1.xml", sheet)
    if shared is None:
        shared = shared_strings_xml([])
    shared_part = shared if isinstance(shared, Part) else deflated("xl/sharedStrings.xml", shared)
    return write_zip(
        path,
        [
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("_rels/.rels", ROOT_RELS),
            deflated("xl/workbook.xml", WORKBOOK),
            deflated("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            sheet_part,
            shared_part,
        ],
    )


def write_xlsx_tabs(path: Path, tabs: Sequence[tuple[str, Part]]) -> Path:
    """An .xlsx with several tabs, in the order given (the first is the one imported); each part keeps its name, so
    the order of the tabs need not be the order of the part names."""
    sheets = "".join(
        f'<sheet name="{escape(title)}" sheetId="{i}" r:id="rId{i}"/>' for i, (title, _) in enumerate(tabs, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{DOC_REL}/worksheet" Target="{part.name.removeprefix("xl/")}"/>'
        for i, (_, part) in enumerate(tabs, 1)
    )
    return write_zip(
        path,
        [
            deflated("[Content_Types].xml", CONTENT_TYPES),
            deflated("_rels/.rels", ROOT_RELS),
            deflated(
                "xl/workbook.xml",
                f'<workbook xmlns="{MAIN_NS}" xmlns:r="{DOC_REL}"><sheets>{sheets}</sheets></workbook>'.encode(),
            ),
            deflated("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{REL_NS}">{rels}</Relationships>'.encode()),
            *(part for _, part in tabs),
            deflated("xl/sharedStrings.xml", shared_strings_xml([])),
        ],
    )


EXPERT_ROWS = [
    ["name", "email", "organisation"],
    ["An Peeters", "an.peeters@gent.be", "Stad Gent"],
]

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)


# --- the files of the memory test and the benchmark ---------------------------------------------------------------


def whole_grid(path: Path) -> Path:  # issue 11: 4.8 KB drove the import to 6 GB and a MemoryError
    return write_xlsx_parts(path, sheet=sheet_xml(EXPERT_ROWS, dimension="A1:XFD1048576"))


def huge_cell(path: Path) -> Path:  # issue 11: 1.5 MB with one 1.5 GB cell took 3.2 GB
    shared = deflated_repeated(
        "xl/sharedStrings.xml", f'<sst xmlns="{MAIN_NS}"><si><t>'.encode(), b"a" * MIB, 1500, b"</t></si></sst>"
    )
    sheet = sheet_xml(EXPERT_ROWS).replace(b"<t>Stad Gent</t></is>", b"</is>")
    return write_xlsx_parts(path, sheet=sheet, shared=shared)


def zip_bomb(path: Path) -> Path:  # 1 GB of sheet XML in ~1 MB
    sheet = deflated_repeated(
        "xl/worksheets/sheet1.xml",
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode(),
        b" " * MIB,
        1024,
        b"</sheetData></worksheet>",
    )
    return write_xlsx_parts(path, sheet=sheet)


def billion_laughs(path: Path) -> Path:
    shared = shared_strings_xml(["name"], doctype=BILLION_LAUGHS, body="<si><t>&lol9;</t></si>")
    return write_xlsx_parts(path, sheet=sheet_xml(EXPERT_ROWS), shared=shared)


def far_row(path: Path) -> Path:  # a small declared size, and a row at the bottom of the grid
    sheet = sheet_xml(EXPERT_ROWS, dimension="A1:C2").replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    return write_xlsx_parts(path, sheet=sheet)


def csv_huge_cell(path: Path) -> Path:  # under the file size limit, one cell of 19 MB
    path.write_bytes(b'name,email,organisation,bio\nAn,an@gent.be,Stad Gent,"' + b"b" * (19 * MIB) + b'"\n')
    return path


def big_row_xlsx(path: Path, *, cells: int = 1_600_000) -> Path:
    """One row of ``cells`` inline-string cells without references (178 KB for 1.6 million): openpyxl built the
    whole row before leaving the columns past the limit out (1.6 GB, 82 seconds)."""
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    head = sheet_xml(EXPERT_ROWS[:1]).split(b"</sheetData>")[0] + b'<row r="2">'
    sheet = deflated_repeated("xl/worksheets/sheet1.xml", head, cell * 10_000, cells // 10_000, _ROW_END)
    return write_xlsx_parts(path, sheet=sheet)


def wide_other_tab(path: Path, *, cells: int = 16_384, unpacked: int = LIMITS.max_unpacked_bytes - MIB) -> Path:
    """A register on its first tab and, on a second one, rows as wide as Excel allows (``cells`` empty cells) up to
    the unpacked limit: openpyxl parses every tab to its end when it opens a workbook without declared sizes."""
    row = b"<row>" + b"<c/>" * cells + b"</row>"
    head = f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    other = deflated_repeated("xl/worksheets/sheet2.xml", head, row, unpacked // len(row), b"</sheetData></worksheet>")
    first = deflated("xl/worksheets/sheet1.xml", sheet_xml(EXPERT_ROWS))
    return write_xlsx_tabs(path, [("Experts", first), ("Lijsten", other)])


def long_other_tab(path: Path, *, rows: int = 1_048_576, reset: bool = False) -> Path:
    """A register on its first tab and, on a second one, ``rows`` empty rows (``<row/>``; Excel's own limit by
    default): openpyxl keeps an element for each row of a tab while it looks for the tab's size. ``reset``: every
    1,024th row says it is row 2 (``<row r="2"/>``), as if the count started again."""
    head = f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    chunk, rest = divmod(rows, 1024)
    end = b"<row/>" * rest + b"</sheetData></worksheet>"
    block = b"<row/>" * 1023 + (b'<row r="2"/>' if reset else b"<row/>")
    other = deflated_repeated("xl/worksheets/sheet2.xml", head, block, chunk, end)
    first = deflated("xl/worksheets/sheet1.xml", sheet_xml(EXPERT_ROWS))
    return write_xlsx_tabs(path, [("Experts", first), ("Lijsten", other)])


_ROW_END = b"</row></sheetData></worksheet>"


def csv_wide_row(path: Path, *, size: int = LIMITS.max_file_bytes - MIB) -> Path:
    """Under the file size limit, a header and one row of nothing but commas (the csv module built a list of 19
    million strings: 610 MB)."""
    path.write_bytes(b"name,email,organisation\nAn,an@gent.be," + b"," * size + b"\n")
    return path


def register_xlsx(path: Path, *, rows: int = 10_000, columns: int = 11, text: str = "value {r} {c} " * 3) -> Path:
    """A register as Excel writes it (shared strings, a dimension): a header and ``rows`` rows of distinct texts."""
    strings = [f"col{c}" for c in range(columns)]
    strings += [text.format(r=r, c=c) for r in range(2, rows + 2) for c in range(columns)]
    last = cell_ref(columns, rows + 1)
    body = [f'<worksheet xmlns="{MAIN_NS}"><dimension ref="A1:{last}"/><sheetData>']
    for r in range(1, rows + 2):
        first = (r - 1) * columns
        body.append(f'<row r="{r}">')
        body.extend(f'<c r="{cell_ref(c + 1, r)}" t="s"><v>{first + c}</v></c>' for c in range(columns))
        body.append("</row>")
    body.append("</sheetData></worksheet>")
    sheet = deflated("xl/worksheets/sheet1.xml", "".join(body).encode())
    return write_xlsx_parts(path, sheet=sheet, shared=shared_strings_xml(strings))


def tiny_shared_strings(path: Path, *, unpacked: int = LIMITS.max_part_bytes - MIB // 2) -> Path:
    """As many (unused) two-letter shared strings as the part limit lets through: the most Python objects openpyxl
    creates for an accepted file (it reads the shared strings whole)."""
    one = "<si><t>{}</t></si>"
    count = (unpacked - 200) // len(one.format("ab"))
    letters = "abcdefghijklmnopqrstuvwxyz"
    strings = [letters[i % 26] + letters[(i // 26) % 26] for i in range(count)]
    return write_xlsx_parts(path, sheet=sheet_xml(EXPERT_ROWS), shared=shared_strings_xml(strings))


def largest_csv(path: Path) -> Path:  # 100,000 rows, just under 20 MB
    row = ",".join(["An Peeters", "an.peeters@gent.be", "Stad Gent", "Gent", "b" * 140]) + "\n"
    path.write_text("name,email,organisation,city,bio\n" + row * 100_000, encoding="utf-8")
    assert path.stat().st_size < LIMITS.max_file_bytes
    return path


# --- importing in a child process, to measure its peak memory ----------------------------------------------------

CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a regression fails here, not on the machine
from pathlib import Path
from bot.errors import ImportFailed
from bot.register.files import read_register_file
try:
    file = read_register_file(Path(sys.argv[1]))
    result = {"rows": len(file.rows), "columns": len(file.columns)}
except ImportFailed as exc:
    result = {"error": exc.message}
try:  # this process's own peak (ru_maxrss would also count the parent's size when it forked us)
    status = Path("/proc/self/status").read_text()
    result["peak_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def import_in_child(path: Path, *, timeout: float = 300) -> dict[str, object]:
    """``read_register_file(path)`` in a fresh interpreter (3 GiB address-space limit): rows and columns read, or
    the error; ``peak_mb`` (peak resident size) and ``seconds`` (wall time, interpreter start included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the import of {path.name} crashed: {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout)
    result["seconds"] = time.perf_counter() - started
    return result
