"""Bytes that are not UTF-8 text in what ``wieweet ask`` and ``wieweet console`` read (a file in Latin-1 piped in, a
cut character): before, the first such line ended the run with a traceback (a ``UnicodeDecodeError`` under a strict
UTF-8 locale, the search log's INSERT failing under C.UTF-8) and every line after it went unanswered. Now that one
line is refused like any other query that cannot be searched, and the rest is answered. A real process reading a
real pipe (bytes, not text), under both ways Python may read standard input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.test_cli import EXPERTS, wieweet

ROOT = Path(__file__).resolve().parents[1]
LATIN1 = "wonen en leegstand in één stad".encode("latin-1")  # 0xE9: not UTF-8
PIPED = b"leegstandsheffing\n" + LATIN1 + b"\nmeerjarenplanning BBC\n"
# a strict UTF-8 locale (en_US.UTF-8) and C.UTF-8/POSIX, where Python reads standard input with surrogateescape
READERS = {"strict": "utf-8:strict", "surrogateescape": "utf-8:surrogateescape"}


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> str:
    csv = tmp_path / "experts.csv"
    csv.write_text(EXPERTS, encoding="utf-8")
    assert wieweet(database_url, "import", "experts", str(csv)).exit_code == 0
    return database_url


def _run(url: str, *args: str, data: bytes, reader: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIEWEET_")}
    env |= {"WIEWEET_SEMANTIC": "0", "PYTHONIOENCODING": READERS[reader]}
    return subprocess.run(
        [sys.executable, "-m", "bot", "--database", url, *args],
        input=data,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("reader", READERS)
def test_ask_json_refuses_the_line_and_answers_the_rest(url: str, reader: str) -> None:
    done = _run(url, "ask", "--json", "--limit", "1", "--lang", "en", data=PIPED, reader=reader)
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")[-600:]
    rows = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [r.get("error") for r in rows] == [None, "not_text", None]
    assert rows[0]["experts"][0]["email"] == "an.peeters@gent.be"
    assert rows[2]["experts"][0]["email"] == "bram@vvsg.be"  # the line after the bad one is answered
    assert rows[1]["query"] == "wonen en leegstand in \ufffd\ufffdn stad"
    assert rows[1]["message"].startswith("Your question is not readable text: byte 0xE9 is not valid UTF-8")
    assert done.returncode == 0  # as for any other refused line among answered ones


@pytest.mark.parametrize("reader", READERS)
def test_ask_text_says_error_and_answers_the_rest(url: str, reader: str) -> None:
    done = _run(url, "ask", "--limit", "1", data=PIPED, reader=reader)
    err = done.stderr.decode("utf-8")
    assert "Traceback" not in err and done.returncode == 0
    assert "error: Je vraag is geen leesbare tekst: byte 0xE9 is geen geldige UTF-8" in err
    assert "Bram De Smet" in done.stdout.decode("utf-8")
    only_bad = _run(url, "ask", "--limit", "1", data=LATIN1 + b"\n", reader=reader)
    assert only_bad.returncode == 2  # every line refused: as for other queries that cannot be searched


@pytest.mark.parametrize("reader", READERS)
def test_console_refuses_the_line_and_answers_the_rest(url: str, reader: str) -> None:
    done = _run(url, "console", data=PIPED, reader=reader)
    out = done.stdout.decode("utf-8")
    assert b"Traceback" not in done.stderr and done.returncode == 0, done.stderr.decode(errors="replace")[-600:]
    assert "Je vraag is geen leesbare tekst: byte 0xE9" in out
    after = out[out.index("geen leesbare tekst") :]
    assert "wieweet> meerjarenplanning BBC" in after and "Bram De Smet" in after  # the line after it is answered


def test_an_argument_with_an_undecodable_byte_is_refused(database_url: str) -> None:
    """Python reads an argument's undecodable byte as a lone surrogate (``wieweet ask "$(printf 'x\\xff')"``)."""
    result = CliRunner().invoke(main, ["--database", database_url, "ask", "--lang", "en", "leegstand \udcff"])
    assert result.exit_code == 2 and (result.exception is None or isinstance(result.exception, SystemExit))
    assert "error: Your question is not readable text: byte 0xFF is not valid UTF-8" in result.output
    as_json = CliRunner().invoke(main, ["--database", database_url, "ask", "--json", "leegstand \udcff"])
    assert json.loads(as_json.output)["error"] == "not_text" and as_json.exit_code == 2
