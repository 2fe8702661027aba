"""What a new admin meets first (issue 16, "Setup and CLI"): help texts, examples, the console, settings, export."""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.knowledge import KnowledgeBase
from handlers.app import create_app
from handlers.services import Services
from storage.db import Database
from storage.models import KnowledgeGap, SearchLog
from tests.emulator import SlackEmulator
from tests.register.conftest import EXPERT_HEADER

REPO = Path(__file__).resolve().parent.parent
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SLACK_USER = re.compile(r"\bU0[A-Z0-9]{5,}\b")


def wieweet(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env)


def command_tree(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_tree(sub, (*path, name))


COMMANDS = [path for path, _command in command_tree(main)]


def demo_people() -> tuple[set[str], set[str]]:
    with (REPO / "bot" / "data" / "demo" / "experts.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["email"].lower() for r in rows}, {r["slack_user_id"] for r in rows if r["slack_user_id"]}


# --- help and examples -------------------------------------------------------------------------------------------


def test_the_tree_walk_sees_every_command() -> None:
    assert len(COMMANDS) >= 20
    assert {
        ("db", "upgrade"),
        ("db", "status"),
        ("privacy", "export"),
        ("privacy", "erase"),
        ("privacy", "purge"),
    } <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "wieweet")
def test_every_command_has_help_with_examples(path: tuple[str, ...]) -> None:
    result = wieweet(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output, path
    block = result.output.split("Examples:")[1].split("\nOptions:")[0]
    examples = [line.strip() for line in block.splitlines() if line.strip()]
    prefix = " ".join(("wieweet", *path))
    assert examples and all("wieweet" in line for line in examples), examples
    assert any(prefix in line for line in examples), (prefix, examples)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "wieweet")
def test_help_shows_no_markup(path: tuple[str, ...]) -> None:
    # docstrings are the help pages: reST literals (``x``) show up literally in a terminal
    assert "``" not in wieweet(*path, "--help").output, path


def test_db_upgrade_names_every_command_that_fills_the_database() -> None:
    text = " ".join(wieweet("db", "upgrade", "--help").output.split())
    for command in ("demo", "import", "themes import", "digest subscribe", "run"):
        assert command in text.split("automatically by the commands that fill it:")[1].split(")")[0], command


def test_people_in_examples_are_in_the_demo_register() -> None:
    emails, slack_ids = demo_people()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"wieweet register show (\S+)", readme)
    assert shown is not None and shown.group(1).lower() in emails
    texts = [readme.split("## Using it")[1].split("## Register file formats")[0]]
    texts += [wieweet(*path, "--help").output for path in COMMANDS]
    for text in texts:
        assert set(EMAIL.findall(text)) <= emails
        assert set(SLACK_USER.findall(text)) <= slack_ids


def test_the_readme_example_person_is_found_in_the_demo(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"wieweet register show (\S+)", readme)
    assert shown is not None
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert wieweet("--database", url, "demo", "--no-console").exit_code == 0
    result = wieweet("--database", url, "register", "show", shown.group(1))
    assert result.exit_code == 0 and f"<{shown.group(1)}>" in result.output


def test_readme_says_how_to_install_extras_from_a_checkout_and_call_wieweet() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # extras are installed from the checkout (editable), never as if wieweet came from a package index
    assert "pip install -e '.[bench]'" in readme and "pip install wieweet[" not in readme
    quick_start = readme.split("## Quick start")[1].split("## Using it")[0]
    assert ".venv/bin/wieweet" in quick_start and ". .venv/bin/activate" in quick_start
    assert "python3-venv" in quick_start


def test_dev_db_is_ignored_by_git() -> None:
    if not (REPO / ".git").exists():  # a source tarball: check the pattern itself
        assert "/dev.db*" in (REPO / ".gitignore").read_text().splitlines()
        return
    for name in ("dev.db", "dev.db-wal", "wieweet.db", "wieweet-inbox.db", "wieweet-inbox.db-wal", "dev-inbox.db"):
        assert subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO, check=False).returncode == 0, name


# --- make demo ---------------------------------------------------------------------------------------------------


def test_make_demo_installs_wieweet_without_the_test_tools_and_says_how_to_call_it(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    dry = subprocess.run(
        ["make", "-n", "demo", f"VENV={venv}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert "pip install --quiet -e ." in dry and "[test]" not in dry
    assert f"{venv}/bin/wieweet demo" in dry
    assert f"Run it as {venv}/bin/wieweet" in dry and f". {venv}/bin/activate" in dry
    make_n = ["make", "-n", "pytest", f"VENV={venv}"]
    tests = subprocess.run(make_n, cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "pip install --quiet -e '.[test]'" in tests


def test_make_says_when_python3_venv_is_missing(tmp_path: Path) -> None:
    fake = tmp_path / "python3"  # a Python without ensurepip, as Debian's without python3-venv
    fake.write_text('#!/bin/sh\ncase "$*" in *ensurepip*) exit 1 ;; *) exit 0 ;; esac\n')
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    done = subprocess.run(
        ["make", f"{venv}/bin/wieweet", f"VENV={venv}", f"PYTHON={fake}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "the venv module is missing" in done.stderr and "sudo apt-get install python3-venv" in done.stderr
    assert not venv.exists()


# --- the console -------------------------------------------------------------------------------------------------


def test_unknown_console_commands_list_the_known_ones_and_search_nothing(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "experts.csv"
    path.write_text(EXPERT_HEADER + "\nAn Peeters,an@gent.be,U0AN,Stad Gent,Gent,,leegstand,wonen,nl,\n")
    assert wieweet("--database", database.url, "import", "experts", str(path)).exit_code == 0
    result = wieweet("--database", database.url, "console", input=":fr\n:zoek leegstand\n:help\n:quit\n")
    assert result.exit_code == 0
    assert "unknown command :fr (nothing searched); the commands are :nl, :en, :help, :quit" in result.output
    assert "unknown command :zoek" not in result.output  # two words: a question, not a command
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeGap).where(KnowledgeGap.query == ":fr")) == 0
        assert session.scalar(select(func.count()).select_from(SearchLog)) == 0  # the console records nothing
    assert "wieweet> :zoek leegstand" in result.output and "An Peeters" in result.output  # searched and answered


# --- settings ----------------------------------------------------------------------------------------------------


@pytest.fixture
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "WIEWEET_JOB_INTERVAL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_slack_env")
def test_run_lists_every_missing_setting_of_its_mode_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    socket = wieweet("--database", url, "run")  # WIEWEET_LANGUAGE: nl (default)
    assert socket.exit_code == 2
    assert "2 instellingen om te verbeteren:" in socket.output
    assert "stel SLACK_BOT_TOKEN in" in socket.output and "stel SLACK_APP_TOKEN in" in socket.output
    http = wieweet("--database", url, "run", "--http", env={"SLACK_BOT_TOKEN": "xoxp-user", "WIEWEET_LANGUAGE": "en"})
    assert http.exit_code == 2 and "2 settings to fix:" in http.output
    assert "SLACK_BOT_TOKEN must be a bot token starting with xoxb-" in http.output
    assert "set SLACK_SIGNING_SECRET" in http.output and "SLACK_APP_TOKEN" not in http.output
    everything = wieweet(
        "--database",
        url,
        "run",
        env={
            "WIEWEET_JOB_INTERVAL": "soon",
            "WIEWEET_REQUIRE_CONSENT": "perhaps",
            "SLACK_APP_TOKEN": "xoxb-x",
            "WIEWEET_LANGUAGE": "en",
        },
    )
    assert everything.exit_code == 2 and "4 settings to fix:" in everything.output
    for part in ("WIEWEET_JOB_INTERVAL", "WIEWEET_REQUIRE_CONSENT", "set SLACK_BOT_TOKEN", "SLACK_APP_TOKEN must"):
        assert part in everything.output
    assert "Traceback" not in everything.output


@pytest.mark.usefixtures("no_slack_env")
def test_other_commands_list_every_malformed_setting_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = wieweet("--database", url, "themes", "list", env={"WIEWEET_JOB_INTERVAL": "x", "WIEWEET_LANGUAGE": "fr"})
    assert result.exit_code == 2
    # a language that is none: the default language's words, and the language's own line in English too
    assert "2 instellingen om te verbeteren:" in result.output
    assert "WIEWEET_JOB_INTERVAL moet een aantal seconden zijn, niet 'x'" in result.output
    assert "WIEWEET_LANGUAGE moet 'nl' of 'en' zijn" in result.output
    assert (
        " / WIEWEET_LANGUAGE must be 'nl' or 'en' (any case; a region such as en-GB allowed), not 'fr'" in result.output
    )
    with pytest.raises(ConfigError, match="WIEWEET_RECONFIRM_DAYS must be at least 1 day"):
        load_settings({"WIEWEET_RECONFIRM_DAYS": "0"})


def test_the_app_is_built_without_bolts_token_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'app.db'}")
    with SlackEmulator() as emu:
        monkeypatch.setenv("SLACK_BOT_TOKEN", emu.bot_token)  # as in production: the token is in the environment
        settings = load_settings({"SLACK_BOT_TOKEN": emu.bot_token, "SLACK_API_URL": emu.api_url})
        services = Services(settings=settings, db=database, knowledge=KnowledgeBase(database))
        with caplog.at_level(logging.DEBUG):
            app = create_app(services, http=False)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert app.client.base_url == emu.api_url and len(emu.calls_to("auth.test")) == 1
        wrong = load_settings({"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_API_URL": emu.api_url})
        with pytest.raises(ConfigError, match="Slack refused SLACK_BOT_TOKEN: invalid_auth"):
            create_app(Services(settings=wrong, db=database, knowledge=KnowledgeBase(database)), http=True)
    database.dispose()


# --- export ------------------------------------------------------------------------------------------------------


@pytest.fixture
def register(database: Database, tmp_path: Path) -> str:
    path = tmp_path / "experts.csv"
    path.write_text(
        EXPERT_HEADER + '\nJosé Peeters,jose@gent.be,,Stad Gent,Gent,=1+1,leegstand,mobiliteit,nl;fr,"a;b"\n',
        encoding="utf-8",
    )
    result = wieweet("--database", database.url, "import", "experts", str(path))
    assert result.exit_code == 0, result.output
    assert "note: experts.csv: rij 2, kolom themes: mobiliteit → publieke-ruimte" in result.output  # Dutch default
    return database.url


def test_export_to_standard_output(register: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["--database", register, "export", "experts", "-"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(EXPERT_HEADER + "\nJosé Peeters,jose@gent.be,")
    assert result.stderr == "1 expert geschreven naar de standaarduitvoer\n"  # WIEWEET_LANGUAGE: nl (default)
    assert "geschreven" not in result.stdout
    english = runner.invoke(main, ["--database", register, "export", "experts", "-"], env={"WIEWEET_LANGUAGE": "en"})
    assert english.stderr == "1 expert written to standard output\n" and english.stdout == result.stdout
    assert not Path("-").exists()


@pytest.mark.parametrize("name", ["out.txt", "out.json", "out.xlsm", "out"])
def test_export_refuses_unknown_extensions(register: str, tmp_path: Path, name: str) -> None:
    result = wieweet("--database", register, "export", "experts", str(tmp_path / name))
    assert result.exit_code == 2
    kind = f"een {Path(name).suffix}-bestand" if Path(name).suffix else "een bestand zonder extensie"
    assert (
        result.output
        == f"error: '{name}': kan niet exporteren naar {kind}; gebruik .csv of .xlsx (of - voor de standaarduitvoer)\n"
    )
    english = wieweet("--database", register, "export", "experts", str(tmp_path / name), env={"WIEWEET_LANGUAGE": "en"})
    kind = f"a {Path(name).suffix} file" if Path(name).suffix else "a file without an extension"
    assert english.exit_code == 2
    assert english.output == f"error: '{name}': cannot export to {kind}; use .csv or .xlsx (or - for standard output)\n"
    assert list(tmp_path.glob("out*")) == []


def test_excel_csv_opens_as_columns_in_a_belgian_excel(register: str, tmp_path: Path) -> None:
    out = tmp_path / "experts.csv"
    result = wieweet("--database", register, "export", "experts", "--excel", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), dialect="excel", delimiter=";"))
    assert rows[0] == EXPERT_HEADER.split(",")
    assert rows[1][:6] == ["José Peeters", "jose@gent.be", "", "Stad Gent", "Gent", "'=1+1"]
    assert rows[1][7:10] == ["publieke-ruimte", "nl;fr", "a;b"]
    again = wieweet("--database", register, "import", "experts", str(out))
    assert again.exit_code == 0 and "0 toegevoegd, 0 gewijzigd, 1 ongewijzigd" in again.output
    plain = tmp_path / "plain.csv"
    assert wieweet("--database", register, "export", "experts", str(plain)).exit_code == 0
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r" not in plain.read_bytes()
    assert list(csv.reader(io.StringIO(plain.read_text(encoding="utf-8"), newline="")))[1] == rows[1]
    refused = wieweet("--database", register, "export", "experts", "--excel", str(tmp_path / "x.xlsx"))
    assert refused.exit_code == 2 and "het Excel-CSV-formaat is voor .csv-bestanden" in refused.output
    args = ("--database", register, "export", "experts", "--excel", str(tmp_path / "x.xlsx"))
    english = wieweet(*args, env={"WIEWEET_LANGUAGE": "en"})
    assert english.exit_code == 2 and "the Excel CSV format is for .csv files" in english.output


# --- the test PostgreSQL script ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _postgres_binaries() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.mark.skipif(shutil.which("su") is None, reason="needs su")
def test_the_test_postgres_script_is_quiet_and_cleans_up(tmp_path: Path) -> None:
    if not _postgres_binaries():
        pytest.skip("PostgreSQL's Debian binaries are not installed (.ci/run installs them)")
    data = Path(tempfile.mkdtemp(prefix="wieweet-script-pg-", dir="/tmp"))
    private = tmp_path / "private"  # a folder the postgres user may not enter, as a CI checkout can be
    private.mkdir(mode=0o700)
    port = _free_port()  # not a fixed one: a developer's or CI's own test server may hold it
    env = {"WIEWEET_TEST_PGPORT": str(port), "WIEWEET_TEST_PGDATA": str(data), "PATH": "/usr/bin:/bin"}
    script = str(REPO / "scripts" / "test-postgres.sh")
    try:
        started = subprocess.run(
            ["bash", script, "start"], cwd=private, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert started.returncode == 0, started.stderr
        assert started.stdout.strip() == (
            f"export WIEWEET_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:{port}/wieweet_test"
        )
        assert "could not change directory" not in started.stderr, started.stderr
        assert (data / "PG_VERSION").exists()
    finally:
        stopped = subprocess.run(
            ["bash", script, "stop"], cwd=private, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    assert stopped.returncode == 0 and "could not change directory" not in stopped.stderr
    assert not data.exists()
