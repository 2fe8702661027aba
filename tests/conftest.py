"""Shared fixtures: a migrated database on SQLite and, when available, on a real PostgreSQL.

Set ``WIEWEET_TEST_POSTGRES_URL`` (``.ci/run`` does) to run every ``database`` test on PostgreSQL too. Without
it those runs skip with a clear reason — unless ``WIEWEET_REQUIRE_POSTGRES=1`` (CI), where a missing or
unreachable PostgreSQL fails the run instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.setting_values import normalise_database_url
from storage.db import Database
from storage.models import Base

# Property tests check behaviour, never speed: Hypothesis's per-example deadline (200 ms) is a timed assertion
# that fails under a loaded CI machine (a first call loading the word lists, another job on the cores).
settings.register_profile("wieweet", deadline=None)
settings.load_profile("wieweet")

# knowledge bases left open by a test, a module's fixtures or the session's fail the run where they were left
pytest_plugins = ["tests.leaks"]

POSTGRES_URL_ENV = "WIEWEET_TEST_POSTGRES_URL"
REQUIRE_POSTGRES = os.environ.get("WIEWEET_REQUIRE_POSTGRES") == "1"


def _worker_database(url: str, worker: str) -> str:
    """The URL of this xdist worker's own database beside ``url``'s (created when missing): workers run in parallel and
    every ``database`` test empties its database first. ``url`` unchanged when the server cannot be reached, so the
    tests say so as without workers."""
    base = make_url(normalise_database_url(url))
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        return url
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` runs the suite on every core) each worker gets its own PostgreSQL database;
    the variable is rewritten for the worker's process, so the end-to-end bots and CLI runs it starts use it too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get(POSTGRES_URL_ENV)
    if worker and url:
        os.environ[POSTGRES_URL_ENV] = _worker_database(url, worker)


def postgres_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_ENV)
    return normalise_database_url(url) if url else None


def _no_postgres(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required here (WIEWEET_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (fast, and every test starts clean)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[Database | None]:
    url = postgres_url()
    if url is None:
        yield None
        return
    database = Database(url)
    yield database
    database.dispose()


def _truncate_all(database: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_database: Database | None
) -> Iterator[Database]:
    """A clean, migrated database: once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "wieweet.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    if postgres_database is None:
        _no_postgres(f"{POSTGRES_URL_ENV} is not set")
    assert postgres_database is not None
    if not postgres_database.ping():
        _no_postgres(f"cannot connect to {POSTGRES_URL_ENV}")
    _truncate_all(postgres_database)
    yield postgres_database


@pytest.fixture
def database_url(database: Database) -> str:
    """The URL of the ``database`` fixture, for CLI runs that open their own connection."""
    return database.url


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as s:
        yield s


@pytest.fixture(autouse=True)
def _no_slack_calls_inside_written_transactions() -> Iterator[None]:
    """Every bot process a test starts reports Slack calls made inside a database transaction that has written
    (``handlers.txguard``); any such call fails the test. Every bot a test started is stopped after it."""
    from tests.e2e.harness import BotProcess  # noqa: PLC0415 (only the tests that start a bot need it)

    before = len(BotProcess.started)
    yield
    started, BotProcess.started[before:] = BotProcess.started[before:], []
    for process in started:
        process.stop()  # a test that failed before stopping its bots (e.g. the second of two did not start)
    for process in started:
        process.assert_no_slack_calls_in_transactions()
