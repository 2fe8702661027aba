"""What a new operator runs into on a first day with the README: a mistyped database URL, an in-memory database,
a title row above the header, a missing file, an unknown audit entity, a long import, a no-op availability change
and a folder that cannot be written. Each is one clear line with the right exit code, and nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result

import bot.cli.register_cmds as register_cmds
from bot.cli import main
from bot.errors import ConfigError
from bot.setting_values import normalise_database_url
from tests.register.conftest import EXPERT_HEADER
from tests.test_cli import EXPERTS


@pytest.fixture(autouse=True)
def _no_database_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIEWEET_DATABASE_URL", raising=False)
    monkeypatch.setenv("WIEWEET_SEMANTIC", "false")


def wieweet(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def one_line(result: Result, code: int = 2) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == code and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("url", ["sqlite://./wieweet.db", "sqlite://wieweet.db", "sqlite+pysqlite://./w.db"])
def test_a_two_slash_sqlite_url_is_one_line_not_a_traceback(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line(wieweet("--database", url, "register", "list", "experts"))
    assert "sqlite:///" in line and "--database" in line, line
    line = one_line(wieweet("register", "list", "experts", env={"WIEWEET_DATABASE_URL": url}))
    assert "WIEWEET_DATABASE_URL" in line, line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///", "sqlite:///:memory:", ":memory:", "sqlite+pysqlite://", "sqlite:///?mode=ro"]
)
def test_an_in_memory_sqlite_database_is_refused(url: str, tmp_path: Path) -> None:
    experts = tmp_path / "experts.csv"
    experts.write_text(EXPERTS, encoding="utf-8")
    line = one_line(wieweet("import", "experts", str(experts), env={"WIEWEET_DATABASE_URL": url}))
    assert "in het geheugen" in line and "niets bewaart" in line, line  # WIEWEET_LANGUAGE: nl (default)
    line = one_line(wieweet("--database", url, "register", "list", "experts", env={"WIEWEET_LANGUAGE": "en"}))
    assert "in memory" in line and "keeps nothing" in line and "--database" in line, line


def test_the_check_leaves_file_and_server_urls_alone(tmp_path: Path) -> None:
    assert normalise_database_url(f"sqlite:///{tmp_path}/w.db") == f"sqlite:///{tmp_path}/w.db"
    assert normalise_database_url("sqlite:////abs/w.db") == "sqlite:////abs/w.db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError, match="in memory"):
        normalise_database_url("sqlite://")


def test_a_title_row_above_the_header_says_what_row_1_holds(database_url: str, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Expertenregister 2026"])
    sheet.merge_cells("A1:J1")
    sheet.append(EXPERT_HEADER.split(","))
    sheet.append(["An Peeters", "an.peeters@gent.be", "", "Stad Gent", "Gent", "", "", "wonen", "nl", ""])
    path = tmp_path / "title_row.xlsx"
    book.save(path)
    result = wieweet("--database", database_url, "import", "experts", str(path), "--dry-run")
    assert result.exit_code == 1, result.output
    assert "rij 1 bevat 'Expertenregister 2026'" in result.output, result.output  # WIEWEET_LANGUAGE: nl
    assert "verwijder de rijen boven de kop" in result.output


def test_a_header_that_lacks_a_column_still_names_the_missing_one(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_text("name,organisation\nAn,Stad Gent\n", encoding="utf-8")
    result = wieweet("--database", database_url, "import", "experts", str(path))
    assert result.exit_code == 1 and "mist de verplichte kolom 'email'" in result.output, result.output
    assert "rijen boven de kop" not in result.output


@pytest.mark.parametrize("command", [["import", "experts"], ["themes", "import"]])
def test_a_missing_input_file_is_a_usage_error_and_creates_no_database(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line(wieweet(*command, "nope.csv"))
    assert line == "error: nope.csv: dat bestand bestaat niet", line  # the operator's language: Dutch by default
    english = CliRunner().invoke(main, [*command, "nope.csv"], env={"WIEWEET_LANGUAGE": "en"})
    assert english.exit_code == 2 and english.output == "error: nope.csv: no such file\n", english.output
    assert list(tmp_path.iterdir()) == []  # no wieweet.db created for nothing


def test_an_unknown_audit_entity_is_refused_with_the_known_ones(database_url: str) -> None:
    line = one_line(wieweet("--database", database_url, "audit", "--entity", "experts"))
    assert "onbekend soort record 'experts'" in line and "expert" in line and "practice" in line, line
    empty = wieweet("--database", database_url, "audit", "--entity", "practice")
    assert empty.exit_code == 0 and "het auditlog is leeg voor practice" in empty.output, empty.output


def test_refused_picks_are_a_known_audit_entity_before_the_first_one(database_url: str) -> None:
    empty = wieweet("--database", database_url, "audit", "--entity", "refused_pick")
    assert empty.exit_code == 0 and "het auditlog is leeg voor refused_pick" in empty.output, empty.output


def test_a_large_import_says_what_it_is_doing_on_stderr(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(register_cmds, "PROGRESS_LINES_FROM", 4)
    rows = "".join(f"Expert {i},expert{i}@big.example.org,,Stad Test,Gent,,,wonen,nl,\n" for i in range(8))
    path = tmp_path / "big.csv"
    path.write_text(EXPERT_HEADER + "\n" + rows, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["--database", database_url, "import", "experts", str(path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [  # WIEWEET_LANGUAGE: nl (default)
        "experts importeren: 8 records schrijven…",
        "experts importeren: 2 van 8 geschreven",
        "experts importeren: 4 van 8 geschreven",
        "experts importeren: 6 van 8 geschreven",
        "experts importeren: 8 van 8 geschreven",
    ], result.stderr
    assert "schrijven" not in result.stdout and "8 toegevoegd" in result.stdout
    other = tmp_path / "other.csv"
    other.write_text(EXPERT_HEADER + "\n" + rows.replace("@big.", "@other."), encoding="utf-8")
    english = CliRunner().invoke(
        main, ["--database", database_url, "import", "experts", str(other)], env={"WIEWEET_LANGUAGE": "en"}
    )
    assert english.exit_code == 0, english.stderr
    assert english.stderr.splitlines()[0] == "importing experts: writing 8 records…", english.stderr
    assert english.stderr.splitlines()[-1] == "importing experts: 8 of 8 written"
    small = tmp_path / "small.csv"
    small.write_text(EXPERT_HEADER + "\n" + rows.splitlines(keepends=True)[0], encoding="utf-8")
    quiet = CliRunner().invoke(main, ["--database", database_url, "import", "experts", str(small)])
    assert quiet.exit_code == 0 and "importeren" not in quiet.stderr, quiet.stderr


def test_available_on_someone_never_away_changes_nothing(database_url: str, tmp_path: Path) -> None:
    experts = tmp_path / "experts.csv"
    experts.write_text(EXPERTS, encoding="utf-8")
    assert wieweet("--database", database_url, "import", "experts", str(experts)).exit_code == 0
    result = wieweet("--database", database_url, "register", "available", "an.peeters@gent.be")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "An Peeters was al beschikbaar; er is niets gewijzigd"
    english = wieweet(
        "--database", database_url, "register", "available", "an.peeters@gent.be", env={"WIEWEET_LANGUAGE": "en"}
    )
    assert english.output.strip() == "An Peeters was already available; nothing changed"
    audit = wieweet("--database", database_url, "audit", "--entity", "expert", "--json")
    assert audit.exit_code == 0 and '"action": "availability"' not in audit.output, audit.output


def test_an_output_folder_that_cannot_be_written_is_refused_before_the_work(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:  # the tests run as any user, root included
        if Path(str(path)) == folder and mode & os.W_OK:
            return False
        return real_access(path, mode)  # type: ignore[arg-type]

    monkeypatch.setattr("bot.files.os.access", access)
    expected = {  # WIEWEET_LANGUAGE
        "nl": f"error: {folder / 'out.xlsx'}: in de map {folder} mag niet geschreven worden",
        "en": f"error: {folder / 'out.xlsx'}: the folder {folder} is not writable",
    }
    for command, language in ((["report", "--period", "2026-Q4"], "nl"), (["export", "experts"], "en")):
        env = {"WIEWEET_LANGUAGE": language}
        line = one_line(wieweet("--database", database_url, *command, str(folder / "out.xlsx"), env=env))
        assert line == expected[language], line
    assert list(folder.iterdir()) == []


def test_run_with_slack_unreachable_is_one_line(tmp_path: Path) -> None:
    # a process of its own: the log lines go to the real stderr, as an operator sees them
    from tests.test_cli_operator import closed_port  # noqa: PLC0415

    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-1-2",
        "SLACK_APP_TOKEN": "xapp-1-2",
        "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
        "WIEWEET_STAFF_USER_IDS": "U0STAFF",
        "WIEWEET_TRIAGE_CHANNEL": "C0TRIAGE1",
        "WIEWEET_LANGUAGE": "en",
    }
    command = [sys.executable, "-m", "bot", "--database", str(tmp_path / "w.db"), "run"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: creating")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot reach Slack at http://127.0.0.1:"), result.stderr
