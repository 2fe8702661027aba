"""Files the ``wieweet`` commands write (``report``, ``export``): a folder that is not there is one clear line and a
non-zero exit code, and a write that fails leaves the old file whole — on both databases."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import bot.files
from bot.cli import main
from bot.errors import WieweetError
from bot.files import replace_file

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-12-01T10:00:00+00:00"


def wieweet(database_url: str, *args: str, language: str = "nl") -> Result:
    env = {"WIEWEET_LANGUAGE": language}
    return CliRunner().invoke(main, ["--database", database_url, *args], env=env, catch_exceptions=False)


def report(database_url: str, output: Path, language: str = "nl") -> Result:
    args = ("report", "--period", "2026-Q4", "--now", NOW, "--embed-seconds", "0", str(output))
    return wieweet(database_url, *args, language=language)


# why a file cannot be written, in the operator's language; the system's own text after it (masked)
NO_FOLDER = {"nl": "{target}: de map {folder} bestaat niet", "en": "{target}: the folder {folder} does not exist"}
DISK_FULL = {
    "nl": "{target}: kan het bestand niet schrijven: de schijf is vol; melding: No space left on device",
    "en": "{target}: cannot write the file: the disk is full; message: No space left on device",
}
IO_ERROR = {
    "nl": "{target}: kan het bestand niet schrijven: het besturingssysteem kan het niet schrijven; melding: I/O error",
    "en": "{target}: cannot write the file: the operating system cannot write it; message: I/O error",
}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder of its own for what a command writes (the SQLite database sits in ``tmp_path``)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def failing_fsync(code: int, text: str) -> object:
    """An ``os.fsync`` that fails as a full or broken disk does, after the new content was written."""

    def fsync(_fd: int) -> None:
        raise OSError(code, text)

    return fsync


def only_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize(("name", "language"), [("r.xlsx", "nl"), ("r.html", "en"), ("r.png", "nl")])
def test_a_report_into_a_folder_that_does_not_exist_is_one_clear_line(
    database_url: str, tmp_path: Path, name: str, language: str
) -> None:
    target = tmp_path / "nonexistent" / name
    result = report(database_url, target, language)
    assert result.exit_code == 2
    assert only_line(result) == "error: " + NO_FOLDER[language].format(target=target, folder=target.parent)
    assert not target.parent.exists()


@pytest.mark.parametrize(("name", "language"), [("r.xlsx", "en"), ("r.html", "nl"), ("r.png", "en")])
def test_a_report_that_cannot_be_written_leaves_the_old_file_whole(
    database_url: str, out: Path, name: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = out / name
    target.write_bytes(b"last quarter's report")
    monkeypatch.setattr(bot.files.os, "fsync", failing_fsync(errno.ENOSPC, "No space left on device"))
    result = report(database_url, target, language)
    assert result.exit_code == 2, result.output
    assert "error: " + DISK_FULL[language].format(target=target) in result.output
    assert target.read_bytes() == b"last quarter's report"  # not truncated, not half-written
    assert [p.name for p in out.iterdir()] == [name]  # no temporary file left behind


@pytest.mark.parametrize("name", ["r.xlsx", "r.html", "r.png"])
def test_a_report_replaces_an_existing_file(database_url: str, out: Path, name: str) -> None:
    target = out / name
    target.write_bytes(b"old")
    result = report(database_url, target)
    assert result.exit_code == 0, result.output
    assert f"{target} geschreven" in result.output  # WIEWEET_LANGUAGE: Dutch unless set
    assert target.read_bytes() != b"old" and [p.name for p in out.iterdir()] == [name]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_an_export_that_cannot_be_written_leaves_the_old_file_whole(
    database_url: str, out: Path, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = out / "experts.xlsx"
    target.write_bytes(b"yesterday's export")
    monkeypatch.setattr(bot.files.os, "fsync", failing_fsync(errno.EIO, "I/O error"))
    result = wieweet(database_url, "export", "experts", str(target), language=language)
    assert result.exit_code == 2 and "error: " + IO_ERROR[language].format(target=target) in result.output
    assert target.read_bytes() == b"yesterday's export" and len(list(out.iterdir())) == 1


def test_replace_file_refuses_a_folder_and_a_file_as_folder(tmp_path: Path) -> None:
    with pytest.raises(WieweetError, match="is a folder; give a file name"):
        replace_file(tmp_path, b"x")
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    with pytest.raises(WieweetError, match=r"the folder .*plain is not a folder"):
        replace_file(tmp_path / "plain" / "r.csv", b"x")


# a command writing a file by itself would skip the checks and the rename of ``bot.files.replace_file``
DIRECT_WRITES = re.compile(r"\bopen\(|\.write_bytes\(|\.write_text\(|\.save\(|savefig\(|\.touch\(")


def test_every_file_the_command_line_writes_goes_through_the_one_helper() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bot" / "cli").glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if DIRECT_WRITES.search(line)
    ]
    assert offenders == []
