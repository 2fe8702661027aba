"""``wieweet needs proposals --propose`` when another process holds the grouping lock before its grouping or between
its units of work (on SQLite the database's write lock, held past the busy timeout: "database is locked"; on
PostgreSQL the advisory lock of a grouping run, held past the command's ``lock_timeout``: SQLSTATE 55P03): the
command does not wait for as long as it is held; it keeps what it proposed, says how many, says in one line that the
rest waits, and fails (exit 1) only when it proposed nothing."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session

import storage.db
from bot.cli import main
from bot.i18n import t
from bot.needs import jobs
from bot.needs.proposals import Proposals
from bot.needs.topics import Topics
from storage.db import create_db_engine
from storage.models import NeedProposal
from storage.needs_repo import claim_needs_lock
from tests.needs.conftest import NOW, Network

MIN_ORGANISATIONS = 2  # the network has two topics asked about by two organisations or more


@pytest.fixture
def two_topics_due(network: Network, monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    """Two topics at the threshold, one proposal per unit of work; the command's database waits for no lock (on
    SQLite a busy timeout of 0, on PostgreSQL a ``lock_timeout`` of 1 ms: the wait past the timeout, at once)."""
    monkeypatch.setenv("WIEWEET_NEEDS_MIN_ORGANISATIONS", str(MIN_ORGANISATIONS))
    monkeypatch.setattr(jobs, "PROPOSALS_PER_UNIT", 1)
    monkeypatch.setattr(jobs, "PROPOSE_LOCK_WAIT_MS", 1)
    monkeypatch.setattr(storage.db, "create_db_engine", functools.partial(create_db_engine, busy_timeout_ms=0))
    yield network


def _hold(holder: Connection) -> None:
    """Take the grouping lock on ``holder``'s transaction, held until it closes: SQLite's write lock (``BEGIN
    IMMEDIATE``), PostgreSQL's advisory lock of a grouping run (as another process's grouping holds it)."""
    if holder.dialect.name == "sqlite":
        holder.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        assert claim_needs_lock(Session(bind=holder), wait=False)


def _held_after(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, network: Network, after: tuple[str, ...]
) -> list[str]:
    """Another connection takes the grouping lock (``_hold``) at the command's first commit once what ``after`` says
    has happened, and holds it until the test ends: the order of what happened."""
    order: list[str] = []
    engine = create_db_engine(network.database.url, pooled=False)
    holder = engine.connect()
    update_topics, due = Topics.update_topics, Proposals.due

    def grouped(self: Topics, *args: Any, **kwargs: Any) -> Any:
        report = update_topics(self, *args, **kwargs)
        order.append("grouped")
        return report

    def proposing(self: Proposals, *args: Any, **kwargs: Any) -> Any:
        order.append("proposing")
        return due(self, *args, **kwargs)

    def committed(_session: Session) -> None:
        if order == list(after):
            order.append("held")
            _hold(holder)

    def release() -> None:
        event.remove(Session, "after_commit", committed)
        holder.close()  # rolls back
        engine.dispose()

    monkeypatch.setattr(Topics, "update_topics", grouped)
    monkeypatch.setattr(Proposals, "due", proposing)
    event.listen(Session, "after_commit", committed)
    request.addfinalizer(release)
    return order


def _propose(network: Network) -> Result:
    return CliRunner().invoke(
        main,
        ["--database", network.database.url, "needs", "proposals", "--propose", "--now", NOW.isoformat()],
        catch_exceptions=False,
    )


@pytest.mark.parametrize(("after", "proposed", "code"), [(("grouped",), 0, 1), (("grouped", "proposing"), 1, 0)])
def test_a_lock_held_between_the_units_is_said_and_the_rest_waits(
    two_topics_due: Network,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    after: tuple[str, ...],
    proposed: int,
    code: int,
) -> None:
    network = two_topics_due
    order = _held_after(monkeypatch, request, network, after)
    result = _propose(network)
    assert order == [*after, "held"], result.output
    _said_stopped(result, network, proposed=proposed, code=code)


def test_a_grouping_running_elsewhere_stops_the_command_before_its_own(
    two_topics_due: Network, request: pytest.FixtureRequest
) -> None:
    """Another process's grouping holds the lock when the command starts (the bot's first grouping can hold it for
    tens of seconds): the command's own grouping does not wait for as long as it runs, it says the database stayed
    busy and exits 1, having proposed nothing."""
    network = two_topics_due
    engine = create_db_engine(network.database.url, pooled=False)
    holder = engine.connect()
    request.addfinalizer(engine.dispose)
    request.addfinalizer(holder.close)  # rolls back: the lock is given back
    _hold(holder)
    result = _propose(network)
    _said_stopped(result, network, proposed=0, code=1)


def _said_stopped(result: Result, network: Network, *, proposed: int, code: int) -> None:
    stopped = t("cli.needs_proposals_stopped", "nl")
    assert result.output.count(stopped) == 1 and "Traceback" not in result.output, result.output
    assert ("1 nieuw voorstel" in result.output) == (proposed == 1)  # what it proposed, kept and said
    assert ("0 nieuwe voorstellen" in result.output) == (proposed == 0)
    assert result.exit_code == code, result.output
    with network.database.session() as session:
        assert len(session.scalars(select(NeedProposal)).all()) == proposed


def test_without_a_holder_the_command_proposes_every_topic_due(two_topics_due: Network) -> None:
    """The control: the same command, nothing held, proposes both topics (one per unit) and says nothing waits."""
    network = two_topics_due
    result = _propose(network)
    assert result.exit_code == 0, result.output
    assert "2 nieuwe voorstellen" in result.output
    assert t("cli.needs_proposals_stopped", "nl") not in result.output
    with network.database.session() as session:
        assert len(session.scalars(select(NeedProposal)).all()) == 2
