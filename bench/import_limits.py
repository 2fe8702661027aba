"""Register imports under their limits: time and peak memory of the largest accepted files and of hostile ones.

Usage::

    python bench/import_limits.py            # every case
    python bench/import_limits.py --quick    # leave out the two slowest accepted .xlsx files

Each file is generated (``tests/register/hostile.py``) and read by ``read_register_file`` in a fresh interpreter
(under a 3 GiB address-space limit), which reports the rows read or the error, and its peak resident memory.
Baseline in the same run: the shipped demo register (``bot/data/demo/experts.csv``, 103 experts), so the cost of
the interpreter and its imports shows. Target: every case below 500 MB (``FileLimits`` in
``bot/register/file_guards.py``); the hostile ones are refused in about the time of the baseline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.register.files import LIMITS  # noqa: E402
from tests.register import hostile  # noqa: E402


def demo_register(path: Path) -> Path:
    shutil.copy(ROOT / "bot" / "data" / "demo" / "experts.csv", path)
    return path


CASES: list[tuple[str, str, Callable[[Path], Path], bool]] = [
    ("baseline: demo register (103 experts)", "demo.csv", demo_register, False),
    ("largest CSV: 100,000 rows, 18.6 MB", "largest.csv", hostile.largest_csv, False),
    ("register .xlsx: 10,000 rows x 11 columns", "register.xlsx", hostile.register_xlsx, False),
    (
        "largest .xlsx: 100,000 rows x 5 columns",
        "rows.xlsx",
        lambda path: hostile.register_xlsx(path, rows=100_000, columns=5, text="v{r}.{c}"),
        True,
    ),
    ("two-letter shared strings up to the part limit", "tiny.xlsx", hostile.tiny_shared_strings, True),
    ("another tab: rows of 16,384 cells up to the unpacked limit", "wide-tab.xlsx", hostile.wide_other_tab, True),
    ("another tab: 1,048,576 empty rows", "long-tab.xlsx", hostile.long_other_tab, False),
    ("hostile: declares A1:XFD1048576 (1.7 KB)", "grid.xlsx", hostile.whole_grid, False),
    ("hostile: one 1.5 GB cell (1.5 MB)", "cell.xlsx", hostile.huge_cell, False),
    ("hostile: zip bomb, 1 GB of sheet XML", "bomb.xlsx", hostile.zip_bomb, False),
    ("hostile: billion laughs", "lol.xlsx", hostile.billion_laughs, False),
    ("hostile: a row at 1048576, small dimension", "far.xlsx", hostile.far_row, False),
    ("hostile: CSV with one 19 MB cell", "cell.csv", hostile.csv_huge_cell, False),
    ("hostile: one row of 1.6 million cells (178 KB)", "bigrow.xlsx", hostile.big_row_xlsx, False),
    ("hostile: CSV with one row of 19 million commas", "commas.csv", hostile.csv_wide_row, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip the slowest accepted .xlsx cases")
    args = parser.parse_args()
    mib = hostile.MIB
    print(
        f"limits: file {LIMITS.max_file_bytes // mib} MB, unpacked .xlsx {LIMITS.max_unpacked_bytes // mib} MB, "
        f"{LIMITS.max_rows:,} rows, {LIMITS.max_columns} columns, {LIMITS.max_cell_chars:,} characters per cell\n"
    )
    print("| file | size | result | seconds | peak RSS MB |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="wieweet-import-bench-") as folder:
        for label, name, make, slow in CASES:
            if slow and args.quick:
                continue
            path = make(Path(folder) / name)
            result = hostile.import_in_child(path, timeout=1800)
            outcome = f"{result['rows']:,} rows read" if "rows" in result else f"refused: {str(result['error'])[:70]}…"
            size = path.stat().st_size
            shown = f"{size / hostile.MIB:,.1f} MB" if size >= hostile.MIB else f"{size / 1024:,.1f} KB"
            print(f"| {label} | {shown} | {outcome} | {result['seconds']:.1f} | {result['peak_mb']:.0f} |", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
