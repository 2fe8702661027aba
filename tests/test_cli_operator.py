"""What an operator meets through the real ``wieweet`` entry point: a database that cannot be reached or was upgraded
by a newer wieweet, malformed or misspelt settings — each one clear line naming what is wrong, a non-zero exit code,
no traceback, and never a password or token in what is printed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import make_url, text
from sqlalchemy.exc import OperationalError

from bot.cli import database_reason, main
from bot.config import load_settings
from bot.setting_values import normalise_database_url
from handlers.slack_settings import settings_problems
from storage.db import Database, head_revision
from storage.db_url import shown_url, url_secrets

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "S3cret-pw-4711"
SECRET = "f00dfeedf00dfeedf00dfeedf00dfeed"


def wieweet(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bot`` (the same as the ``wieweet`` script) in a clean environment: this checkout's code."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WIEWEET_"))}
    # the refusals below are checked in English; bot.operator_texts' tests check them in Dutch (the default) too
    clean.update({"PYTHONPATH": str(REPO), "WIEWEET_SEMANTIC": "0", "WIEWEET_LANGUAGE": "en", **(env or {})})
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, cwd=cwd, env=clean, capture_output=True, text=True, timeout=180, check=False)


def one_clear_line(done: subprocess.CompletedProcess[str], *, code: int) -> str:
    """The error line, after checking: the exit code, exactly one line on stderr, no traceback, no secret."""
    everything = done.stdout + done.stderr
    assert done.returncode == code, everything
    assert "Traceback" not in everything, everything
    assert PASSWORD not in everything and SECRET not in everything, everything
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens on it once the socket is closed


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"postgresql://wieweet:{PASSWORD}@127.0.0.1:{{port}}/wieweet", "Connection refused"),
        (f"postgresql://wieweet:{PASSWORD}@db.invalid/wieweet", "db.invalid"),
        ("sqlite:///{tmp}", "unable to open database file"),  # a folder, not a file
    ],
    ids=["refused", "unknown-host", "a-folder"],
)
def test_a_database_that_cannot_be_opened_is_one_line_without_the_password(
    url: str, reason: str, tmp_path: Path
) -> None:
    url = url.format(port=closed_port(), tmp=tmp_path)
    line = one_clear_line(wieweet("themes", "list", cwd=tmp_path, env={"WIEWEET_DATABASE_URL": url}), code=1)
    assert line.startswith("error: database ") and reason in line, line
    if PASSWORD in url:
        assert "wieweet:***@" in line, line


def test_a_wrong_postgres_database_is_one_line_without_the_password(database: Database, tmp_path: Path) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a PostgreSQL server's refusal")
    url = make_url(database.url).set(password=PASSWORD, database="wieweet_no_such_db")
    env = {"WIEWEET_DATABASE_URL": url.render_as_string(hide_password=False)}
    line = one_clear_line(wieweet("db", "status", cwd=tmp_path, env=env), code=1)
    assert 'database "wieweet_no_such_db" does not exist' in line and ":***@" in line, line


# libpq's secret connection parameters in the URL's query (``storage.db_url.SECRET_QUERY_KEYS``), and a passfile
QUERY_SECRETS = f"password={PASSWORD}&sslpassword=Key-{PASSWORD}&passfile=/srv/pgpass-4711&sslmode=prefer"


def test_secrets_in_the_urls_query_are_masked_as_the_password_is() -> None:
    url = f"postgresql+psycopg://wieweet@db/wieweet?{QUERY_SECRETS}"
    assert shown_url(url) == (
        "postgresql+psycopg://wieweet@db/wieweet?sslmode=prefer&passfile=***&password=***&sslpassword=***"
    )
    both = "postgresql+psycopg://wieweet:pw@db/wieweet?oauth_client_secret=o&SCRAM_CLIENT_KEY=s"
    assert shown_url(both) == "postgresql+psycopg://wieweet:***@db/wieweet?SCRAM_CLIENT_KEY=***&oauth_client_secret=***"
    assert url_secrets(url) == [f"Key-{PASSWORD}", PASSWORD] and url_secrets(both) == ["pw", "o", "s"]
    said = Exception(f"could not decrypt the key with Key-{PASSWORD} (password {PASSWORD}), see /srv/pgpass-4711")
    error = OperationalError("SELECT 1", {}, said)
    assert database_reason(error, url) == "could not decrypt the key with *** (password ***), see /srv/pgpass-4711"


def test_a_database_with_a_password_in_the_urls_query_is_one_line_without_it(tmp_path: Path) -> None:
    url = f"postgresql://wieweet@127.0.0.1:{closed_port()}/wieweet?{QUERY_SECRETS}"
    line = one_clear_line(wieweet("db", "status", cwd=tmp_path, env={"WIEWEET_DATABASE_URL": url}), code=1)
    assert "Connection refused" in line and "&password=***&sslpassword=***" in line, line
    assert "pgpass-4711" not in line, line


def test_a_wrong_postgres_database_named_with_a_query_password_is_one_line_without_it(
    database: Database, tmp_path: Path
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a PostgreSQL server's refusal; SQLite takes no password")
    url = make_url(database.url).set(database="wieweet_no_such_db").update_query_string(QUERY_SECRETS)
    env = {"WIEWEET_DATABASE_URL": url.render_as_string(hide_password=False)}
    line = one_clear_line(wieweet("db", "status", cwd=tmp_path, env=env), code=1)
    assert 'database "wieweet_no_such_db" does not exist' in line and "&passfile=***&password=***" in line, line


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"postgresql://wieweet:{PASSWORD}@db:54x2/wieweet", "WIEWEET_DATABASE_URL has a port that is not a number"),
        (f"postgresql:/wieweet:{PASSWORD}@db/wieweet", "WIEWEET_DATABASE_URL is neither"),
        (f"mysql://wieweet:{PASSWORD}@db/wieweet", "WIEWEET_DATABASE_URL must be a sqlite:/// or postgresql://"),
        ("db.example.org:5432/wieweet", "WIEWEET_DATABASE_URL is neither"),
        (f"wieweet:{PASSWORD}@db.example.org/wieweet", "WIEWEET_DATABASE_URL is neither"),
    ],
    ids=["port", "one-slash", "scheme", "host-port", "no-scheme"],
)
def test_a_malformed_database_url_names_the_setting(url: str, problem: str, tmp_path: Path) -> None:
    line = one_clear_line(wieweet("themes", "list", cwd=tmp_path, env={"WIEWEET_DATABASE_URL": url}), code=2)
    assert problem in line, line
    assert not list(tmp_path.iterdir()), "no database file may be made from a mangled URL"


DUTCH_UNUSED_TOKEN = {"SLACK_BOT_TOKEN": "xoxb-unused", "WIEWEET_LANGUAGE": "nl"}


def test_a_database_upgraded_by_a_newer_wieweet_is_refused_clearly(database: Database, tmp_path: Path) -> None:
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    try:
        # ``digest --send-due`` runs the digest pass, which in ``wieweet run`` only runs at this code's schema: refused
        # the same way, before any Slack call (the token is never used)
        for args in (("themes", "list"), ("db", "status"), ("db", "upgrade"), ("digest", "--send-due")):
            done = wieweet("--database", database.url, *args, cwd=tmp_path, env=DUTCH_UNUSED_TOKEN)
            line = one_clear_line(done, code=2)
            # in the operator's language (WIEWEET_LANGUAGE: Dutch unless set)
            assert "schema van de databank staat op revisie 0099_future, die deze versie van wieweet niet kent" in line
            assert "een nieuwere wieweet heeft ze bijgewerkt" in line and "run `wieweet db upgrade`" not in done.stdout
    finally:
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})


def test_a_misspelt_setting_is_named_without_its_value(tmp_path: Path) -> None:
    env = {
        "WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "WIEWEET_TIMEZON": "Europe/Brussels",
        "SLACK_SIGNING_SECRT": SECRET,
        "SLACK_CLIENT_ID": "123.456",  # another tool's variable: not ours to warn about
        "WIEWEET_TEST_POSTGRES_URL": "postgresql://localhost/test",  # the test suite's own
    }
    (tmp_path / "w.db").touch()  # `themes list` reads: the database must exist
    done = wieweet("themes", "list", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: SLACK_SIGNING_SECRT is not a wieweet setting and is ignored (did you mean SLACK_SIGNING_SECRET?)",
        "warning: WIEWEET_TIMEZON is not a wieweet setting and is ignored (did you mean WIEWEET_TIMEZONE?)",
    ]
    assert SECRET not in done.stdout + done.stderr


def test_demo_names_its_database_without_the_password(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("a URL with a password: PostgreSQL")
    url = make_url(database.url).set(password=PASSWORD).render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["--database", url, "demo", "--no-console"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and ":***@" in result.output, result.output


def test_replicas_starting_at_once_on_a_new_sqlite_file_all_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WIEWEET_"))}
    env.update({"PYTHONPATH": str(REPO), "WIEWEET_SEMANTIC": "0"})
    command = [sys.executable, "-m", "bot", "--database", url, "db", "upgrade"]
    started = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=180)[0] for process in started]
    assert [process.returncode for process in started] == [0, 0, 0, 0], outputs
    assert all(f"database op revisie {head_revision()} (sqlite)" in output for output in outputs), outputs


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL must be an http(s):// URL such as https://slack.com/api/"),
        ("SLACK_API_URL", "ftp://slack.example/api/", "SLACK_API_URL must be an http(s):// URL"),
        ("SLACK_SIGNING_SECRET", f"'{SECRET}' ", "SLACK_SIGNING_SECRET holds 3 characters other than letters"),
        ("SLACK_SIGNING_SECRET", "SIGNSECRET123", "SLACK_SIGNING_SECRET is too short (13 characters); Slack's Signing"),
        ("WIEWEET_TIMEZONE", "Mars/Olympus", "WIEWEET_TIMEZONE must be an IANA time zone name"),
        ("WIEWEET_JOB_INTERVAL", "-5", "WIEWEET_JOB_INTERVAL must be more than 0 seconds"),
    ],
)
def test_run_names_a_malformed_setting_in_one_line(setting: str, value: str, problem: str, tmp_path: Path) -> None:
    env = {
        "WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}",
        "SLACK_BOT_TOKEN": "xoxb-1-operator",
        "SLACK_SIGNING_SECRET": SECRET,
        setting: value,
    }
    line = one_clear_line(wieweet("run", "--http", cwd=tmp_path, env=env), code=2)
    assert problem in line, line


def test_a_signing_secret_ending_in_a_line_break_is_refused_saying_so() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1-operator", "SLACK_SIGNING_SECRET": f"{SECRET}\n"})
    [problem] = settings_problems(settings, http=True)  # every request would have failed its signature check
    assert problem.startswith("SLACK_SIGNING_SECRET holds 1 character other than letters and digits"), problem
    assert "32 characters" in problem and SECRET not in problem, problem


BOT = "xoxb-1234-5678-AbCdEf"
APP = "xapp-1-A0123-4567-abcdef"


@pytest.mark.parametrize(
    ("env", "http", "problem"),
    [
        ({"SLACK_BOT_TOKEN": f"{BOT}\n"}, True, "SLACK_BOT_TOKEN holds 1 line break besides the token's letters"),
        ({"SLACK_BOT_TOKEN": f"{BOT} {BOT}"}, True, "SLACK_BOT_TOKEN holds 1 space or tab besides"),
        ({"SLACK_BOT_TOKEN": f"{BOT}\r\n{BOT}"}, True, "2 line breaks besides"),
        ({"SLACK_BOT_TOKEN": f"'{BOT}'"}, True, "SLACK_BOT_TOKEN is in quotes, kept as part of the value"),
        ({"SLACK_BOT_TOKEN": f'"{BOT}"'}, True, "SLACK_BOT_TOKEN is in quotes, kept as part of the value (docker"),
        ({"SLACK_BOT_TOKEN": f"“{BOT}”\n"}, True, "; give a bot token (xoxb-…) without them"),
        ({"SLACK_BOT_TOKEN": f"Bearer {BOT}"}, True, 'SLACK_BOT_TOKEN starts with "Bearer ", the word before a token'),
        ({"SLACK_BOT_TOKEN": f'"bearer {BOT}"'}, True, 'SLACK_BOT_TOKEN starts with "Bearer "'),
        ({"SLACK_BOT_TOKEN": f"token={BOT}"}, True, "SLACK_BOT_TOKEN holds 6 characters before xoxb- (a name or"),
        ({"SLACK_BOT_TOKEN": f"'{BOT}"}, True, "SLACK_BOT_TOKEN holds 1 quote besides"),
        ({"SLACK_BOT_TOKEN": f'"{BOT} {BOT}"'}, True, "holds 2 quotes, 1 space or tab besides"),
        ({"SLACK_BOT_TOKEN": f"{BOT}'"}, True, "SLACK_BOT_TOKEN holds 1 quote besides"),
        ({"SLACK_BOT_TOKEN": "xoxp-1-user"}, True, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-"}, True, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-, followed by"),
        ({"SLACK_APP_TOKEN": f"{APP}\n"}, False, "SLACK_APP_TOKEN holds 1 line break besides"),
        ({"SLACK_APP_TOKEN": f"{APP} {APP}"}, False, "(two tokens pasted together?); give an app-level token"),
        ({"SLACK_APP_TOKEN": BOT}, False, "SLACK_APP_TOKEN must be an app-level token starting with xapp-"),
        ({"SLACK_APP_TOKEN": f'"{APP}"'}, False, "SLACK_APP_TOKEN is in quotes, kept as part of the value"),
        ({"SLACK_APP_TOKEN": f"Bearer {APP}"}, False, 'SLACK_APP_TOKEN starts with "Bearer "'),
        ({"SLACK_BOT_TOKEN": '"xoxp-1-user"'}, True, "SLACK_BOT_TOKEN must be a bot token starting with xoxb-"),
        ({"SLACK_BOT_TOKEN": '"xoxb-"'}, True, "SLACK_BOT_TOKEN holds 2 quotes besides"),
    ],
)
def test_a_slack_token_with_something_pasted_along_is_refused_saying_what(
    env: dict[str, str], http: bool, problem: str
) -> None:
    # a prefix match let these through: Slack refused them later, in its own obscure words
    settings = load_settings({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_SIGNING_SECRET": SECRET, **env})
    [found] = settings_problems(settings, http=http)
    assert problem in found, found
    assert "AbCdEf" not in found and "abcdef" not in found and "\n" not in found, found  # never the token


def test_well_formed_slack_tokens_pass() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP, "SLACK_SIGNING_SECRET": SECRET})
    assert settings_problems(settings, http=True) == [] and settings_problems(settings, http=False) == []


def test_run_names_a_token_with_a_line_break_in_one_line(tmp_path: Path) -> None:
    env = {"WIEWEET_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "SLACK_BOT_TOKEN": f"{BOT}\n"}
    line = one_clear_line(wieweet("run", "--http", cwd=tmp_path, env={**env, "SLACK_SIGNING_SECRET": SECRET}), code=2)
    assert "SLACK_BOT_TOKEN holds 1 line break besides" in line and "AbCdEf" not in line, line


def test_the_slack_api_url_gets_its_closing_slash() -> None:
    # without it the client asked https://slack.example/auth.test instead of …/api/auth.test
    assert load_settings({"SLACK_API_URL": "https://slack.example/api"}).slack_api_url == "https://slack.example/api/"
    assert load_settings({}).slack_api_url == "https://slack.com/api/"


def test_every_command_is_in_the_readmes_using_it() -> None:
    using = (REPO / "README.md").read_text(encoding="utf-8").split("## Using it")[1].split("\n## ")[0]
    missing = []
    stack: list[tuple[str, click.Command]] = [("wieweet", main)]
    while stack:
        name, command = stack.pop()
        if isinstance(command, click.Group):
            stack += [(f"{name} {sub}", child) for sub, child in command.commands.items()]
        elif name not in using:
            missing.append(name)
    assert not missing, f"commands a new user cannot find in README 'Using it': {sorted(missing)}"


def test_the_settings_never_show_their_secrets() -> None:
    settings = load_settings(
        {
            "WIEWEET_DATABASE_URL": f"postgresql://wieweet:{PASSWORD}@db/wieweet",
            "SLACK_BOT_TOKEN": "xoxb-1-bot-secret",
            "SLACK_APP_TOKEN": "xapp-1-app-secret",
            "SLACK_SIGNING_SECRET": SECRET,
        }
    )
    shown = repr(settings) + str(settings)
    assert "timezone='Europe/Brussels'" in shown
    for secret in (PASSWORD, "xoxb-1-bot-secret", "xapp-1-app-secret", SECRET):
        assert secret not in shown


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://wieweet:{PASSWORD}@db.invalid/wieweet",
        f"postgres://wieweet@db.invalid/wieweet?password={PASSWORD}",
    ],
    ids=["in-the-authority", "in-the-query"],
)
def test_a_password_on_the_command_line_is_warned_about(url: str, tmp_path: Path) -> None:
    """A command line is visible to every user of the machine (``ps``, /proc/<pid>/cmdline): a password in
    ``--database`` is warned about, pointing at WIEWEET_DATABASE_URL and a PostgreSQL passfile; not refused (a
    one-off on a workstation)."""
    done = wieweet("--database", url, "db", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: the --database URL holds a password, which any user of this machine can read in the process list"
        " (ps); set WIEWEET_DATABASE_URL instead, or leave the password out of the URL and put it in a PostgreSQL"
        " passfile (~/.pgpass)"
    ]
    assert PASSWORD not in done.stdout + done.stderr


def test_no_warning_for_a_password_in_the_environment_or_a_url_without_one(tmp_path: Path) -> None:
    with_password = f"postgresql://wieweet:{PASSWORD}@db.invalid/wieweet"
    done = wieweet("db", "--help", cwd=tmp_path, env={"WIEWEET_DATABASE_URL": with_password})
    assert (done.returncode, done.stderr) == (0, "")
    for url in ("postgresql://wieweet@db.invalid/wieweet", f"sqlite:///{tmp_path / 'w.db'}"):
        done = wieweet("--database", url, "db", "--help", cwd=tmp_path)
        assert (done.returncode, done.stderr) == (0, ""), url


@pytest.mark.parametrize("name", ["db@prod.sqlite", "data/wieweet:2026.db", "stad/archief@2026/wieweet.db"])
def test_a_file_path_with_a_colon_or_at_sign_is_a_sqlite_file(name: str, tmp_path: Path) -> None:
    """Only mangled URL shapes are refused; a file name may hold ":" or "@" (absolute or relative; a relative
    "name@host/..." reads as a URL without its scheme and is refused)."""
    for path in (str(tmp_path / name), name):
        assert normalise_database_url(path) == "sqlite:///" + str(Path(path))
