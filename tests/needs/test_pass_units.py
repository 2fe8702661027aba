"""The needs pass is short units of work — the grouping, the proposals, the purge — each committed on its own, so
on SQLite (whose write lock is the whole database's) other writers commit between them instead of waiting for the
whole pass: an erasure, a Slack click, a question recorded. What a unit protects is read again at its start, so an
erasure committed between the grouping and the proposals is neither proposed nor quoted (the proposals read the
questions afresh, under the grouping lock). Run on both databases; the other writer never waits for a lock (SQLite:
a busy timeout of 0; PostgreSQL: a lock timeout of 1 ms), so a pass still holding it fails the test at once."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bot.actors import Actor
from bot.needs import jobs
from bot.needs.jobs import NeedsPass
from bot.needs.proposals import Proposals
from bot.privacy import erase_person
from storage import needs_repo, register_repo
from storage.db import Database, create_db_engine
from storage.models import NeedProposal, OutboxKind, OutboxMessage, ProposalStatus
from tests.lock_waits import WAIT, impatient
from tests.needs.conftest import NOW, STAFF, VACANCY, Network, add_question


def _erase(database: Database, *people: str) -> Callable[[], None]:
    def erase() -> None:
        with impatient(database) as session:
            for person in people:
                erase_person(session=session, actor=Actor.cli("test"), slack_user_id=person, now=NOW, db=database)
            session.commit()

    return erase


def _between_units(
    network: Network,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    write: Callable[[], None],
    *,
    after: tuple[str, ...] = ("grouped",),
) -> list[str]:
    """Run ``write`` (another connection's unit of work) at the first commit of the pass once what ``after`` says
    has happened (the grouping), or at the latest when the pass next starts counting what to propose (a pass that
    holds the lock throughout: on SQLite the write fails there as locked): the order of what happened ("grouped",
    "written", "proposing")."""
    order: list[str] = []
    update_topics = network.service.update_topics
    due = Proposals.due

    def grouped(*args: Any, **kwargs: Any) -> Any:
        report = update_topics(*args, **kwargs)
        order.append("grouped")
        return report

    def proposing(self: Proposals, *args: Any, **kwargs: Any) -> Any:
        if order == list(after):
            order.append("written")
            write()
        order.append("proposing")
        return due(self, *args, **kwargs)

    def committed(_session: Session) -> None:
        if order == list(after):
            order.append("written")  # first: the write's own commit comes here too
            write()

    monkeypatch.setattr(network.service, "update_topics", grouped)
    monkeypatch.setattr(Proposals, "due", proposing)
    event.listen(network.database.sessions, "after_commit", committed)
    request.addfinalizer(lambda: event.remove(network.database.sessions, "after_commit", committed))
    return order


def test_an_erasure_commits_between_the_grouping_and_the_proposals_and_is_not_proposed(
    network: Network, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Two of the four organisations asking about the vacancy tax are erased once the pass has grouped (Gent's
    question was answered in public: it stays, without its asker): the topic is left with two organisations, below
    the threshold of three, and nothing is proposed."""
    order = _between_units(network, monkeypatch, request, _erase(network.database, "UGENT", "UKORTRIJK"))
    result = NeedsPass(network.database, network.service, worker_id="test").run(NOW)
    assert order == ["grouped", "written", "proposing"]
    assert result.ran and result.placed == 8 and result.proposals == ()
    with network.database.session() as session:
        assert session.scalars(select(NeedProposal)).all() == []


def test_a_question_erased_between_the_units_is_neither_counted_nor_quoted(
    network: Network, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    erased_text = VACANCY[1][1]  # asked by UKORTRIJK, not answered: the erasure deletes it
    order = _between_units(network, monkeypatch, request, _erase(network.database, "UKORTRIJK"))
    result = NeedsPass(network.database, network.service, worker_id="test").run(NOW)
    assert order == ["grouped", "written", "proposing"]
    assert result.ran and len(result.proposals) == 1
    with network.database.session() as session:
        proposal = session.get(NeedProposal, result.proposals[0])
        assert proposal is not None
        assert (proposal.organisations, proposal.questions) == (3, 5)  # Kortrijk's question is gone
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.NEEDS_PROPOSAL)).all()
        assert len(queued) == 1
        assert erased_text not in json.dumps(queued[0].payload, ensure_ascii=False)


def test_a_proposal_dismissed_between_the_units_is_not_proposed_again(
    network: Network, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """The topic's proposal is dismissed once the next pass has grouped (a new question came): the proposals read
    the dismissal, so the topic's window starts then and nothing asked before it proposes the topic again."""
    first = NeedsPass(network.database, network.service, worker_id="test").run(NOW)
    assert len(first.proposals) == 1
    later = NOW + timedelta(hours=1)
    with network.database.session() as session:
        add_question(session, "Hoe hoog is de leegstandsheffing op winkels?", asker="ULEUVEN", created_at=later)

    def dismiss() -> None:
        with impatient(network.database) as session:
            network.service.dismiss_proposal(session, actor=STAFF, proposal_id=first.proposals[0], now=later)
            session.commit()

    order = _between_units(network, monkeypatch, request, dismiss)
    result = NeedsPass(network.database, network.service, worker_id="test").run(later + timedelta(minutes=5))
    assert order == ["grouped", "written", "proposing"]
    assert result.ran and result.placed == 1 and result.proposals == ()
    with network.database.session() as session:
        statuses = [p.status for p in session.scalars(select(NeedProposal))]
    assert statuses == [ProposalStatus.DISMISSED]


def test_the_proposals_are_claimed_a_few_per_unit_with_other_writes_between(
    network: Network, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Two topics at the threshold (two organisations here), one proposal per unit of work: another connection's
    write commits between the two units at once, and each unit counts afresh what is due."""
    monkeypatch.setattr(network.service.core, "config", replace(network.service.core.config, min_organisations=2))
    monkeypatch.setattr(jobs, "PROPOSALS_PER_UNIT", 1)

    def write() -> None:
        with impatient(network.database) as session:
            register_repo.create_audit_log(
                session, actor="test", action="test", entity_type="test", entity_key="1", before=None, after={}, now=NOW
            )
            session.commit()

    order = _between_units(network, monkeypatch, request, write, after=("grouped", "proposing"))
    result = NeedsPass(network.database, network.service, worker_id="test").run(NOW)
    assert order == ["grouped", "proposing", "written", "proposing"]
    assert result.ran and len(result.proposals) == 2
    with network.database.session() as session:
        assert len(session.scalars(select(NeedProposal)).all()) == 2


class _Holder:
    """Another process's transaction holding the grouping lock (SQLite: the database's write lock, ``BEGIN
    IMMEDIATE``; PostgreSQL: the advisory lock), from ``take`` until ``release``. A pass that waits for it instead of
    going on is let go at the latest after ``lock_waits.WAIT`` (so it fails the test rather than hang)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.done = threading.Event()
        self._release: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def take(self) -> None:
        if self.database.dialect == "sqlite":
            engine = create_db_engine(self.database.url, pooled=False)
            connection = engine.connect()
            connection.exec_driver_sql("BEGIN IMMEDIATE")

            def release() -> None:
                connection.exec_driver_sql("ROLLBACK")
                connection.close()
                engine.dispose()

        else:
            other = self.database.sessions()
            assert needs_repo.claim_needs_lock(other, wait=False)

            def release() -> None:
                other.rollback()
                other.close()

        self._release = release
        self._thread = threading.Thread(target=self._let_go)
        self._thread.start()

    def _let_go(self) -> None:
        self.done.wait(WAIT)  # set when the pass has returned: never reached unless the pass waits for the lock
        assert self._release is not None
        self._release()

    def release(self) -> None:
        self.done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


@pytest.mark.parametrize(("after", "first"), [(("grouped",), 0), (("grouped", "proposing"), 1)])
def test_a_lock_held_between_the_units_stops_the_proposals_until_the_next_pass(
    network: Network,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    after: tuple[str, ...],
    first: int,
) -> None:
    """Another process takes the grouping lock once the pass has grouped (or claimed its first unit's proposal) and
    holds it (another replica's first grouping, an import): the pass's next unit does not wait for it (on SQLite
    20 s and then "database is locked"; on PostgreSQL as long as it is held). The pass returns what it claimed
    (queued, so it is sent), says so in one line, and the next pass proposes the rest."""
    monkeypatch.setattr(network.service.core, "config", replace(network.service.core.config, min_organisations=2))
    monkeypatch.setattr(jobs, "PROPOSALS_PER_UNIT", 1)
    holder = _Holder(network.database)
    request.addfinalizer(holder.release)
    order = _between_units(network, monkeypatch, request, holder.take, after=after)
    with caplog.at_level(logging.INFO, logger="wieweet.needs"):
        result = NeedsPass(network.database, network.service, worker_id="test").run(NOW)
    holder.release()
    assert order == [*after, "written"]  # the next unit read nothing: it did not get the lock
    assert result.ran and len(result.proposals) == first
    stopped = [r for r in caplog.records if "the grouping lock is held by another process" in r.getMessage()]
    assert [(r.levelno, r.getMessage().split(";")[1].strip()) for r in stopped] == [
        (logging.INFO, f"{first} proposed, the topics left wait for a later run")
    ]
    with network.database.session() as session:
        claimed = session.scalars(select(NeedProposal.id)).all()
        queued = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.NEEDS_PROPOSAL)).all()
    assert sorted(claimed) == sorted(result.proposals) and len(queued) == first
    following = NeedsPass(network.database, network.service, worker_id="test").run(NOW + timedelta(minutes=5))
    assert following.ran and len(following.proposals) == 2 - first
    with network.database.session() as session:
        assert len(session.scalars(select(NeedProposal)).all()) == 2
