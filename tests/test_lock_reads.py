"""A read "for update" (a repository getter's ``lock=True``, ``share=True``, any ``with_for_update``) holds what it
read until the transaction ends, on both databases: PostgreSQL locks the rows; SQLite, which drops ``FOR UPDATE``,
takes the database's write lock before reading (``storage.write_lock``). Without that, two requests at once both
read a row on SQLite, both change it, and the second write silently undoes the first (a lost update)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from bot.register import stop_locks
from storage import db as db_module
from storage import register_repo
from storage.db import Database, is_lock_error
from storage.models import Expert
from tests.lock_waits import WAIT, arrivals, impatient

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _expert(database: Database) -> int:
    with database.session() as session:
        expert = register_repo.create_expert(
            session, email="an@gent.be", name="An", organisation="Gent", source="test", now=NOW
        )
        session.flush()
        return expert.id


def _expertise(database: Database, expert_id: int) -> list[str]:
    with database.session() as session:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        return list(expert.expertise)


def _add(session: Session, expert_id: int, item: str) -> None:
    """A read-modify-write of one row: read it with ``lock=True``, then change what was read."""
    expert = register_repo.get_expert(session, expert_id=expert_id, lock=True)
    assert expert is not None
    expert.expertise = [*expert.expertise, item]


def test_a_lock_read_waits_for_another_lock_read_of_the_row(database: Database) -> None:
    """Two units of work (one thread, so the order is fixed): the second's ``lock=True`` read cannot read the row
    while the first holds it (it would read what the first is about to change); once the first committed, it reads
    the first's change, so both changes are kept."""
    expert_id = _expert(database)
    with database.session() as first:
        _add(first, expert_id, "first")
        first.flush()
        with impatient(database) as second, pytest.raises(DBAPIError):
            register_repo.get_expert(second, expert_id=expert_id, lock=True)  # not while the first holds the row
    with database.session() as second:  # again, after the first committed
        _add(second, expert_id, "second")
    assert _expertise(database, expert_id) == ["first", "second"]


def test_two_read_modify_writes_at_once_lose_no_update(database: Database) -> None:
    """Two threads, two sessions, the same row: each reads it with ``lock=True`` and then changes it. Each one that
    holds the row goes on only once the other waits for its lock (or, without the lock, has read the row too); both
    changes are kept."""
    expert_id = _expert(database)
    errors: list[BaseException] = []

    def change(item: str) -> None:
        try:
            with database.session() as session:
                expert = register_repo.get_expert(session, expert_id=expert_id, lock=True)
                assert expert is not None
                seen.arrived()
                seen.wait_for_another()  # without the lock, both have read the row here
                expert.expertise = [*expert.expertise, item]
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    with arrivals(database.engine) as seen:
        threads = [threading.Thread(target=change, args=(item,)) for item in ("one", "two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert not [t for t in threads if t.is_alive()], "a thread still waits"
    assert errors == []
    assert sorted(_expertise(database, expert_id)) == ["one", "two"]


def test_share_read_waits_for_a_lock_read_of_the_row(database: Database) -> None:
    """``get_experts_by_ids(share=True)`` (PostgreSQL ``FOR SHARE``) cannot read a row another transaction holds
    for update (SQLite: the same write lock)."""
    expert_id = _expert(database)
    with database.session() as first:
        _add(first, expert_id, "first")
        first.flush()
        with impatient(database) as second, pytest.raises(DBAPIError):
            register_repo.get_experts_by_ids(second, expert_ids=[expert_id], share=True)
    with database.session() as second:
        assert register_repo.get_experts_by_ids(second, expert_ids=[expert_id], share=True)[expert_id].expertise == [
            "first"
        ]


def test_a_lock_read_after_a_stale_read_fails_as_locked_and_is_retried(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite (WAL): a transaction that already read (it began with a savepoint) keeps the snapshot of that read.
    When another writer committed since, its ``lock=True`` read cannot take the write lock (SQLITE_BUSY_SNAPSHOT):
    it fails at once as "database is locked", before reading anything stale, and ``Database.retrying`` runs the unit
    of work again, which then sees the other's change. Never a silent lost update."""
    if database.dialect != "sqlite":
        pytest.skip("SQLite's WAL snapshots; PostgreSQL's lock read sees the latest committed row")
    monkeypatch.setattr(db_module, "RETRY_BACKOFF_SECONDS", 0)  # run again at once
    expert_id = _expert(database)
    attempts: list[int] = []

    def work() -> None:
        with database.session() as session:
            attempts.append(1)
            session.begin_nested()  # the transaction begins here (pysqlite: the SAVEPOINT begins it)
            expert = session.get(Expert, expert_id)  # a plain read: the snapshot is taken
            assert expert is not None
            if len(attempts) == 1:  # another writer commits after that read
                with database.session() as other:
                    _add(other, expert_id, "other")
                with pytest.raises(OperationalError) as failed:
                    _add(session, expert_id, "mine")
                assert is_lock_error(failed.value)
                raise failed.value
            _add(session, expert_id, "mine")

    database.retrying(work)
    assert len(attempts) == 2
    assert _expertise(database, expert_id) == ["other", "mine"]


def test_a_lock_read_in_a_savepoint_that_began_the_transaction_holds_until_commit(database: Database) -> None:
    """``lock_expert_to_stop`` locks inside a savepoint, the unit of work's first statement. On SQLite that
    savepoint must not begin the transaction (pysqlite: the RELEASE of the outermost savepoint is a COMMIT, which
    would give the lock back at once): the expert's row stays locked, after the savepoint's RELEASE, until commit."""
    expert_id = _expert(database)
    with database.session() as session:
        expert = stop_locks.lock_expert_to_stop(session, expert_id=expert_id)
        assert expert is not None
        with impatient(database) as other, pytest.raises(DBAPIError):
            register_repo.get_expert(other, expert_id=expert_id, lock=True)  # not while the unit holds the row
        _add(session, expert_id, "stopped")  # and the unit still writes under its lock (no stale snapshot)
    with impatient(database) as other:  # committed: free again
        _add(other, expert_id, "after")
        other.commit()
    assert _expertise(database, expert_id) == ["stopped", "after"]


def test_what_a_savepoint_wrote_is_rolled_back_with_its_unit_of_work(database: Database) -> None:
    """A savepoint that is the unit of work's first statement: what was written in it and released is still part of
    the unit, and undone when the unit fails afterwards (pysqlite would have committed it at the RELEASE)."""
    expert_id = _expert(database)
    with pytest.raises(RuntimeError), database.session() as session:
        with session.begin_nested():
            _add(session, expert_id, "in the savepoint")
        raise RuntimeError("the unit of work fails after its savepoint")
    assert _expertise(database, expert_id) == []
