"""Which database a command opens: a command that reads refuses a SQLite file that is not there (and creates
nothing), a command that fills the database creates it and says so, a password warning only for a URL that holds
one, and every message names where the URL came from (``--database``, ``WIEWEET_DATABASE_URL`` or the default)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.dialects import plugins as sqlalchemy_plugins
from sqlalchemy.engine import URL, CreateEnginePlugin, Engine

from bot.cli import main
from bot.errors import ConfigError
from bot.i18n import t
from bot.setting_values import normalise_database_url
from tests.test_cli import EXPERTS
from tests.test_cli_operator import closed_port

READING_COMMANDS = [
    ["register", "list", "experts"],
    ["register", "show", "an.peeters@gent.be"],
    ["themes", "list"],
    ["export", "experts", "out.csv"],
    ["ask", "wie weet iets over leegstand?"],
    ["db", "status"],
    ["report", "--period", "2026-Q4", "r.xlsx"],
    ["needs", "--period", "2026-Q4"],
    ["digest", "list"],
    ["audit"],
    ["escalated"],
    ["privacy", "export", "--email", "an.peeters@gent.be"],
]


@pytest.fixture(autouse=True)
def _no_database_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIEWEET_DATABASE_URL", raising=False)
    monkeypatch.setenv("WIEWEET_SEMANTIC", "false")


def wieweet(*args: str, env: dict[str, str] | None = None, language: str = "en") -> Result:
    """The command line in ``language`` (English unless given: most checks below read the English words)."""
    return CliRunner().invoke(
        main, list(args), env={"WIEWEET_LANGUAGE": language, **(env or {})}, catch_exceptions=False
    )


def only_error(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_that_reads_refuses_a_missing_sqlite_file_and_creates_nothing(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = only_error(wieweet("--database", "notaurl", *command))
    assert line.startswith(f"error: no database at {tmp_path / 'notaurl'} (set with --database): "), line
    assert "`wieweet db upgrade`" in line and "`wieweet demo`" in line
    assert list(tmp_path.iterdir()) == []  # no notaurl, notaurl-inbox.db, lock file, out.csv or r.xlsx


def test_the_message_names_the_variable_or_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = only_error(wieweet("register", "list", "experts", env={"WIEWEET_DATABASE_URL": "sqlite:///./typo.db"}))
    assert f"no database at {tmp_path / 'typo.db'} (set in WIEWEET_DATABASE_URL)" in line
    line = only_error(wieweet("register", "list", "experts"))
    expected = "(the default: neither --database nor WIEWEET_DATABASE_URL is set)"
    assert f"no database at {tmp_path / 'wieweet.db'} {expected}" in line
    assert list(tmp_path.iterdir()) == []


def test_the_database_lines_speak_the_operators_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dutch unless WIEWEET_LANGUAGE says otherwise: a missing file, where its URL came from, a new file, and a URL
    refused, the paths and variable names as they are."""
    monkeypatch.chdir(tmp_path)
    line = only_error(wieweet("--database", "typo.db", "register", "list", "experts", language="nl"))
    assert line.startswith(f"error: geen database in {tmp_path / 'typo.db'} (ingesteld met --database): "), line
    assert "`wieweet db upgrade`" in line and "`wieweet import experts BESTAND`" in line
    line = only_error(wieweet("register", "list", "experts", language="nl"))
    assert "(de standaard: --database noch WIEWEET_DATABASE_URL is ingesteld)" in line
    url = {"WIEWEET_DATABASE_URL": "mysql://wieweet@db/wieweet"}
    line = only_error(wieweet("db", "status", env=url, language="nl"))
    assert line == "error: WIEWEET_DATABASE_URL moet een sqlite:///- of postgresql://-URL zijn, niet 'mysql://…'"
    created = wieweet("db", "upgrade", env={"WIEWEET_DATABASE_URL": "sqlite:///./new.db"}, language="nl")
    assert created.exit_code == 0, created.output
    new = tmp_path / "new.db"
    assert f"note: er wordt een nieuwe database gemaakt in {new} (ingesteld in WIEWEET_DATABASE_URL)" in created.output


def test_a_command_that_fills_the_database_creates_it_and_says_so(tmp_path: Path) -> None:
    experts = tmp_path / "experts.csv"
    experts.write_text(EXPERTS, encoding="utf-8")
    new = tmp_path / "new.db"
    created = wieweet("--database", str(new), "import", "experts", str(experts))
    assert created.exit_code == 0, created.output
    assert f"note: creating a new database at {new} (set with --database)" in created.output
    assert new.exists()
    listed = wieweet("--database", str(new), "register", "list", "experts")
    assert listed.exit_code == 0 and "An Peeters" in listed.output and "creating" not in listed.output


def test_a_new_database_in_a_folder_that_does_not_exist_is_one_clear_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'w.db'}"
    line = only_error(wieweet("db", "upgrade", env={"WIEWEET_DATABASE_URL": url}))
    assert line == (
        f"error: cannot create the database {tmp_path / 'no' / 'such' / 'w.db'} (set in WIEWEET_DATABASE_URL): "
        f"the folder {tmp_path / 'no' / 'such'} does not exist"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_quick_start_creates_the_default_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what `make demo` runs in a fresh checkout: no --database, no WIEWEET_DATABASE_URL
    monkeypatch.chdir(tmp_path)
    demo = wieweet("demo", "--no-console")
    assert demo.exit_code == 0, demo.output
    assert "note: creating a new database at" in demo.output and "Demo register ready in" in demo.output
    assert (tmp_path / "wieweet.db").exists()
    asked = wieweet("ask", "wie weet iets over leegstandsheffing?")
    assert asked.exit_code == 0 and "EXPERTS" in asked.output and "creating" not in asked.output


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("postgresql:/postgres@db.example.org/wieweet", False),  # one slash: a mangled URL, refused, no password
        ("postgresql://postgres@127.0.0.1:{port}/wieweet", False),
        ("postgresql://postgres:pw@127.0.0.1:{port}/wieweet", True),
        ("postgresql://postgres@127.0.0.1:{port}/wieweet?password=pw", True),
        ("postgresql://postgres@127.0.0.1:{port}/wieweet?sslpassword=pw", True),  # the key's, as secret
        ("postgresql://postgres@127.0.0.1:{port}/wieweet?passfile=/srv/pgpass", False),  # where the warning points
        ("sqlite:///{tmp}/a@b.db", False),
    ],
)
def test_the_password_warning_only_for_a_url_that_holds_one(url: str, warned: bool, tmp_path: Path) -> None:
    result = wieweet("--database", url.format(port=closed_port(), tmp=tmp_path), "db", "status")
    warning = f"warning: {t('cli.password_on_command_line', 'en')}"
    assert (warning in result.output) is warned, result.output
    assert result.exit_code != 0 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("postgresql:/postgres@db.example.org/wieweet", "--database is neither a sqlite:/// or postgresql:// URL"),
        ("postgresql://wieweet@db:54x2/wieweet", "--database has a port that is not a number"),
        ("mysql://wieweet@db/wieweet", "--database must be a sqlite:/// or postgresql:// URL"),
        ("", "--database is empty"),
    ],
)
def test_a_malformed_option_is_named_as_the_option(value: str, problem: str, tmp_path: Path) -> None:
    line = only_error(wieweet("--database", value, "register", "list", "experts"))
    assert problem in line and "WIEWEET_DATABASE_URL" not in line, line


def test_the_option_replaces_a_malformed_variable(tmp_path: Path) -> None:
    experts = tmp_path / "experts.csv"
    experts.write_text(EXPERTS, encoding="utf-8")
    env = {"WIEWEET_DATABASE_URL": "postgresql:/wieweet@db/wieweet"}
    result = wieweet("--database", str(tmp_path / "w.db"), "import", "experts", str(experts), env=env)
    assert result.exit_code == 0, result.output


def test_a_command_that_reads_opens_an_existing_database(database_url: str) -> None:
    # both databases: PostgreSQL has no file to check, an existing SQLite file is read as it is
    result = wieweet("--database", database_url, "db", "status", language="nl")
    assert result.exit_code == 0 and "nieuwste" in result.output and "creating" not in result.output, result.output
    listed = wieweet("--database", database_url, "register", "list", "experts", language="nl")
    assert listed.exit_code == 0 and "geen experts in het register" in listed.output, listed.output


# an option libpq does not know (a typo, a stray one): one line naming it, never a password (in the URL or as the
# misspelt option's value), from every command that opens the database, as the option or the variable
UNKNOWN_OPTIONS = [
    ("sslmod=require", "'sslmod'", "did you mean sslmode?"),
    ("foo=bar", "'foo'", "which PostgreSQL does not know"),
    ("passwrod=geheim", "'passwrod'", "did you mean password?"),
    ("SSLMODE=require&foo=bar", "'SSLMODE' (and 1 more)", "did you mean sslmode?"),
]


@pytest.mark.parametrize(("query", "named", "hint"), UNKNOWN_OPTIONS, ids=[q for q, _, _ in UNKNOWN_OPTIONS])
@pytest.mark.parametrize("command", [["db", "status"], ["ask", "wie weet iets over leegstand?"], ["db", "upgrade"]])
def test_an_unknown_connection_option_is_one_line_naming_it(
    query: str, named: str, hint: str, command: list[str]
) -> None:
    url = f"postgresql://postgres:geheim@127.0.0.1:{closed_port()}/wieweet?{query}"
    for result, source in (
        (wieweet(*command, env={"WIEWEET_DATABASE_URL": url}), "WIEWEET_DATABASE_URL"),
        (wieweet("--database", url, *command), "--database"),
    ):
        line = only_error(result) if source != "--database" else result.output.strip().splitlines()[-1]
        assert result.exit_code == 2, result.output
        assert line == f"error: {source} holds the connection option {named}, which PostgreSQL does not know" + (
            f"; {hint}" if hint.startswith("did") else " (see PostgreSQL's list of connection parameters)"
        ), line
        assert "geheim" not in result.output and "Traceback" not in result.output


def test_wieweet_run_lists_an_unknown_connection_option_with_its_other_problems() -> None:
    url = f"postgresql://postgres:geheim@127.0.0.1:{closed_port()}/wieweet?sslmod=require"
    result = wieweet("run", env={"WIEWEET_DATABASE_URL": url, "SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""})
    assert result.exit_code == 2, result.output
    assert "WIEWEET_DATABASE_URL holds the connection option 'sslmod'" in result.output, result.output
    assert "SLACK_BOT_TOKEN" in result.output and "geheim" not in result.output


def test_a_value_the_driver_refuses_is_one_line_without_the_password() -> None:
    # a known option with a value psycopg refuses before connecting: the driver's reason, the password masked
    url = f"postgresql://postgres:geheim@127.0.0.1:{closed_port()}/wieweet?connect_timeout=abc&sslpassword=geheim2"
    line = only_error(wieweet("db", "status", env={"WIEWEET_DATABASE_URL": url}))
    assert "(set in WIEWEET_DATABASE_URL): bad value for connect_timeout: 'abc'" in line, line
    assert "geheim" not in line and "postgres:***@" in line and "sslpassword=***" in line, line


class CountingPlugin(CreateEnginePlugin):
    """An installed SQLAlchemy plugin that takes its own option (``counting_label``) off the URL, as plugins do, and
    notes the label of each engine it was loaded for."""

    labels: ClassVar[list[str]] = []

    def __init__(self, url: URL, kwargs: dict[str, Any]) -> None:
        super().__init__(url, kwargs)
        self.label = str(url.query.get("counting_label"))

    def update_url(self, url: URL) -> URL:
        return url.difference_update_query(["counting_label"])

    def engine_created(self, engine: Engine) -> None:
        CountingPlugin.labels.append(self.label)


@pytest.fixture
def counting_plugin() -> Iterator[None]:
    sqlalchemy_plugins.register("counting", __name__, "CountingPlugin")
    CountingPlugin.labels.clear()
    yield
    sqlalchemy_plugins.impls.pop("counting", None)


# options that are not libpq's but are not "unknown" either: SQLAlchemy takes ``plugin`` off the URL before the
# driver sees the rest, and a plugin takes its own options off it (CreateEnginePlugin.update_url)
@pytest.mark.usefixtures("counting_plugin")
@pytest.mark.parametrize(
    "query",
    ["plugin=counting", "plugin=counting&counting_label=w&sslmode=require", "sslmode=require"],
)
def test_sqlalchemys_own_url_options_are_not_refused(query: str) -> None:
    url = f"postgresql://wieweet:geheim@db/wieweet?{query}"
    assert normalise_database_url(url) == f"postgresql+psycopg://wieweet:geheim@db/wieweet?{query}"


def test_a_plugin_that_is_not_installed_is_one_line_naming_it() -> None:
    # create_engine would stop with NoSuchModuleError's traceback
    url = f"postgresql://postgres:geheim@127.0.0.1:{closed_port()}/wieweet?plugin=collectd"
    line = only_error(wieweet("db", "status", env={"WIEWEET_DATABASE_URL": url}))
    assert line == "error: WIEWEET_DATABASE_URL names the SQLAlchemy plugin 'collectd', which is not installed", line


@pytest.mark.usefixtures("counting_plugin")
def test_an_installed_plugin_and_its_option_reach_the_engine(database_url: str) -> None:
    # both databases; on PostgreSQL the plugin's option and SQLAlchemy's own are gone before psycopg connects
    if not database_url.startswith("postgresql"):
        pytest.skip("URL options are PostgreSQL's")
    url = f"{database_url}{'&' if '?' in database_url else '?'}plugin=counting&counting_label=w"
    result = wieweet("--database", url, "db", "status", language="nl")
    assert result.exit_code == 0 and "nieuwste" in result.output, result.output
    assert CountingPlugin.labels and set(CountingPlugin.labels) == {"w"}, CountingPlugin.labels


@pytest.mark.usefixtures("counting_plugin")
@pytest.mark.parametrize(
    "query", ["plugins=counting", "plugin=counting&plugins=counting", "sslmode=require&plugins=x&plugins=y"]
)
def test_plugins_in_the_url_is_refused_as_sqlalchemy_ignores_it(query: str) -> None:
    # SQLAlchemy drops ?plugins= from a URL unread (only create_engine(plugins=[...]) loads from it): the plugin the
    # operator meant would silently not be loaded
    with pytest.raises(ConfigError) as refused:
        normalise_database_url(f"postgresql://wieweet:geheim@db/wieweet?{query}")
    assert str(refused.value) == (
        "WIEWEET_DATABASE_URL holds 'plugins', which SQLAlchemy ignores in a URL: name each plugin with "
        "?plugin=NAME (plugin, not plugins)"
    )


@pytest.mark.parametrize("key", ["autocommit", "prepare_threshold", "row_factory"])
def test_psycopgs_own_arguments_are_refused_saying_what_they_are(key: str) -> None:
    # psycopg.connect() would take them from the URL, as text: ?autocommit=false turns autocommit on
    with pytest.raises(ConfigError) as refused:
        normalise_database_url(f"postgresql://wieweet:geheim@db/wieweet?{key}=false")
    said = str(refused.value)
    assert said.startswith(
        f"WIEWEET_DATABASE_URL holds '{key}', an argument of the psycopg driver, not a connection"
    ), said
    assert (
        "which PostgreSQL does not know" not in said
        and "geheim" not in said
        and "false" not in said.split(";", maxsplit=1)[0]
    )
