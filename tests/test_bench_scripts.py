"""Every bench script the README, ``docs/`` or the Makefile tells an operator to run starts: ``python bench/X.py
--help`` prints its usage. Run as the README says (the script's folder first on the path), so a script named like one
of the project's packages (``bench/digests.py`` once hid ``digests`` from ``bench/routing.py``) fails here."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "docs").glob("*.md"))]
# the scripts, not the modules they share (``bench/_data.py``, ``bench/_ab.py``: a leading underscore)
SCRIPT = re.compile(r"\bbench/[A-Za-z0-9][A-Za-z0-9_]*\.py\b")
NAMED = sorted({name for doc in DOCUMENTS for name in SCRIPT.findall(doc.read_text("utf-8"))})
# what the ``bench`` extra installs (pyproject.toml), by import name: a script needing one starts only with the extra
BENCH_EXTRA_MODULES = ("sklearn", "threadpoolctl")
PACKAGES = {p.parent.name for p in ROOT.glob("*/__init__.py")} | {p.stem for p in ROOT.glob("*.py")}


def test_the_documents_name_bench_scripts() -> None:
    assert "bench/routing.py" in NAMED and "bench/e2e_latency.py" in NAMED, NAMED


def test_no_bench_script_is_named_like_a_package() -> None:
    """The folder of the script run comes first on ``sys.path``: a ``bench/<package>.py`` would be imported instead."""
    assert {"bot", "digests", "handlers", "storage"} <= PACKAGES
    assert sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.stem in PACKAGES) == []


@pytest.mark.parametrize("script", NAMED)
def test_a_documented_bench_script_starts(script: str) -> None:
    assert (ROOT / script).is_file(), f"{script} is named in the documentation but does not exist"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    missing = [m for m in BENCH_EXTRA_MODULES if f"No module named '{m}'" in done.stderr]
    if done.returncode != 0 and missing and all(importlib.util.find_spec(m) is None for m in missing):
        pytest.skip(f"{script} needs the bench extra ({', '.join(missing)}): pip install -e '.[bench]'")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout, done.stdout[:500]
