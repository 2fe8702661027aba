"""End-to-end fixtures: a demo register, the Slack emulator with users and channels, the real bot process.

The demo register (``demo_db_url``) is a fresh SQLite file per test. A test marked ``postgres_too`` runs a second
time on PostgreSQL when ``WIEWEET_TEST_POSTGRES_URL`` is set (skipped otherwise, a failure under
``WIEWEET_REQUIRE_POSTGRES=1``), on a fresh schema loaded with the same demo register — like the ``database`` tests,
but only for the marked ones: starting the bot is what makes these tests slow, and loading the demo on PostgreSQL
adds seconds to each. With the ``bot`` fixture the PostgreSQL run is in Socket Mode only (HTTP or Socket Mode is the
transport, the database underneath is the same).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.demo import load_demo
from storage.db import Database
from tests.conftest import _no_postgres as no_postgres
from tests.e2e.chaos import ACK_WAIT, postgres_demo
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, BotProcess
from tests.e2e.staffing import MONDAY, run_routing_bot
from tests.emulator import SlackEmulator

NL_USER = "U0NLUSER1"
EN_USER = "U0ENUSER1"
CHANNEL = "C0WONEN01"
PRIVATE = "G0PRIVAT1"  # a legacy private channel (G id)
PRIVATE_C = "C0GEHEIM1"  # a private channel as Slack makes them today: a C id, like a public one
OUTSIDER = "U0OUTSID1"  # in the workspace, in none of the channels above


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-template") / "demo.db"
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        load_demo(session, now=datetime.now(UTC))
    database.dispose()
    return path


SQLITE, POSTGRESQL = "sqlite", "postgresql"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A ``postgres_too`` test that uses the demo register: once on SQLite, once on PostgreSQL."""
    if "e2e_database" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgres_too"):
        metafunc.parametrize(
            "e2e_database", [SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)], indirect=True
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """No PostgreSQL run over HTTP: the Socket Mode one covers the database (see the module docstring)."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (dropped if params.get("e2e_database") == POSTGRESQL and params.get("bot") == "http" else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def e2e_database(request: pytest.FixtureRequest) -> str:
    """Which database the demo register is on: SQLite, or PostgreSQL for a ``postgres_too`` test's second run."""
    return str(getattr(request, "param", SQLITE))


@pytest.fixture
def demo_db_url(e2e_database: str, tmp_path: Path, demo_template: Path, request: pytest.FixtureRequest) -> str:
    if e2e_database == POSTGRESQL:
        return str(request.getfixturevalue("postgres_demo_url"))
    path = tmp_path / "wieweet.db"
    shutil.copy(demo_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    # Slack's 3 s ack window is a speed target (bench/): here the emulator waits long, so a loaded machine never turns a
    # slow ack into a missing one. Whether an ack waited for the bot's slow work is checked by order
    # (``tests.e2e.chaos.acks_while_locked``).
    emu.config.ack_timeout = ACK_WAIT
    emu.start()
    emu.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE")
    emu.add_user(EN_USER, name="sam", real_name="Sam Carter", locale="en-GB")
    emu.add_channel(CHANNEL, name="wonen", members=[NL_USER, EN_USER, emu.bot_user_id])
    emu.add_channel(PRIVATE, name="geheim", is_private=True, members=[NL_USER])
    emu.add_channel(PRIVATE_C, name="vertrouwelijk", is_private=True, members=[NL_USER, EN_USER, emu.bot_user_id])
    emu.add_user(OUTSIDER, name="buiten", real_name="Bo Buiten", locale="nl-BE")
    yield emu
    emu.stop()


@pytest.fixture(params=["socket", "http"])
def bot(
    request: pytest.FixtureRequest, emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> Iterator[BotProcess]:
    process = BotProcess(emulator, database_url=demo_db_url, mode=request.param, log_path=tmp_path / "bot.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def postgres_demo_url() -> str:
    url = os.environ.get("WIEWEET_TEST_POSTGRES_URL")
    if not url:
        no_postgres("WIEWEET_TEST_POSTGRES_URL is not set")  # a failure in CI, a skip on a laptop
        raise AssertionError("unreachable")
    return postgres_demo(url)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """The demo database on SQLite, then on PostgreSQL (skipped without WIEWEET_TEST_POSTGRES_URL)."""
    name = "demo_db_url" if request.param == "sqlite" else "postgres_demo_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def db(demo_db_url: str) -> Iterator[Database]:
    """The bot's database, to arrange the register before the bot starts and to check what it stored."""
    database = Database(demo_db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    """The bot's injected clock (``WIEWEET_FAKE_NOW_FILE``), at ``MONDAY``; a test moves it by writing the file."""
    path = tmp_path / "now.txt"
    path.write_text(MONDAY, encoding="utf-8")
    return path


@pytest.fixture
def routing_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[BotProcess]:
    """The bot with staff, the triage channel and the demo experts in Slack, on the injected clock."""
    yield from run_routing_bot(emulator, demo_db_url, tmp_path, clock_file)
