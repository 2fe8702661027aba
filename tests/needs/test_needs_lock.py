"""``needs_repo.claim_needs_lock``: one grouping step at a time across processes, on both databases (PostgreSQL's
advisory lock; SQLite's write lock). Two engines on one database stand for two processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from storage import needs_repo
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, create_db_engine


@pytest.fixture
def other_process(database: Database) -> Iterator[Session]:
    """A session on an engine of its own (the default busy timeout: a lock read there would wait)."""
    engine = create_db_engine(database.url, pooled=False)
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def test_a_second_process_does_not_group_while_the_first_does(database: Database, other_process: Session) -> None:
    with database.session() as first:
        assert needs_repo.claim_needs_lock(first, wait=False)
        assert not needs_repo.claim_needs_lock(other_process, wait=False)  # at once: no waiting for the first
        other_process.rollback()
    assert needs_repo.claim_needs_lock(other_process, wait=False)  # the first one's transaction ended
    with database.session() as again:
        assert not needs_repo.claim_needs_lock(again, wait=False)
    other_process.rollback()


def test_a_refused_claim_leaves_the_session_waiting_as_usual(database: Database, other_process: Session) -> None:
    """SQLite: the claim without waiting refuses at once (a busy timeout of 0 for that one statement); the session's
    other statements wait for the lock as before."""
    with database.session() as first:
        assert needs_repo.claim_needs_lock(first, wait=False)
        assert not needs_repo.claim_needs_lock(other_process, wait=False)
        if database.dialect == "sqlite":
            timeout = other_process.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
            assert timeout == SQLITE_BUSY_TIMEOUT_MS
    assert needs_repo.claim_needs_lock(other_process)  # wait=True, nothing held any more
    other_process.commit()
