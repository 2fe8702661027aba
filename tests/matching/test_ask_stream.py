"""``wieweet ask`` reading standard input is a pipe, not a batch: each line is answered as soon as it arrives."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.test_cli import EXPERTS


def _reader(stream: object, out: queue.Queue[str]) -> None:
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        out.put(line.decode("utf-8"))


def test_each_line_is_answered_before_the_next_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ask.db'}"
    csv = tmp_path / "experts.csv"
    csv.write_text(EXPERTS, encoding="utf-8")
    assert CliRunner().invoke(main, ["--database", url, "import", "experts", str(csv)]).exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIEWEET_")} | {"WIEWEET_SEMANTIC": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--database", url, "ask", "--json", "--no-gap", "--limit", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    answers: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, answers), daemon=True).start()
    assert proc.stdin is not None
    try:
        for query, email in (("leegstandsheffing", "an.peeters@gent.be"), ("meerjarenplanning BBC", "bram@vvsg.be")):
            proc.stdin.write(f"{query}\n".encode())
            proc.stdin.flush()  # stdin stays open: the answer must come without waiting for more input
            row = json.loads(answers.get(timeout=60))
            assert row["query"] == query and row["experts"][0]["email"] == email
            assert isinstance(row["took_ms"], float) and 0.0 <= row["took_ms"] < 60_000
        proc.stdin.write(b"\n")  # a blank line is skipped, not answered
        proc.stdin.write(b"wie weet iets over de?\n")  # a bad line gets its error line, and the pipe goes on
        proc.stdin.flush()
        error = json.loads(answers.get(timeout=60))
        assert error["error"] == "only_stopwords" and "took_ms" in error
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    assert answers.empty()


def test_took_ms_in_the_json_of_one_question(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ask.db'}"
    assert CliRunner().invoke(main, ["--database", url, "db", "upgrade"]).exit_code == 0  # `ask` creates none
    result = CliRunner().invoke(main, ["--database", url, "ask", "--json", "leegstandsheffing"])
    data = json.loads(result.output)
    assert data["took_ms"] >= 0.0 and data["gap"] is True
