"""The ``wieweet`` process runs NumPy's BLAS on one thread unless the operator sets ``OPENBLAS_NUM_THREADS``: set
before NumPy is first imported (OpenBLAS reads it then), in a fresh process as the command starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# what the command's process sees: the variable, whether NumPy was loaded before the command line's first lines ran,
# and OpenBLAS's own thread count where threadpoolctl is installed (it is with the benchmark extras)
PROBE = """
import os, sys
import bot
before = "numpy" in sys.modules
import bot.cli
import numpy
try:
    from threadpoolctl import threadpool_info
except ImportError:
    threads = "-"
else:
    threads = ",".join(str(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas") or "-"
print(os.environ.get("OPENBLAS_NUM_THREADS"), before, threads)
"""


def _probe(env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT)
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
    )
    return out.stdout.split()


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenBLAS starts one thread anyway")
def test_one_blas_thread_by_default() -> None:
    value, numpy_before, threads = _probe(None)
    assert value == "1"
    assert numpy_before == "False"  # set before NumPy's OpenBLAS read it
    assert threads in ("1", "-")


def test_the_operators_count_wins() -> None:
    value, _, threads = _probe("2")
    assert value == "2"
    assert threads in ("2", "-")
