"""A request queued with a change made outside Slack (``bot.inbox.record_with_change``) runs only when that change
committed (``change_committed``), whichever comes first: the worker asking or the change committing; the answer
holds for every later run."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from bot.inbox import change_committed, record_with_change
from storage import inbox_repo
from storage.db import Database
from storage.models import AuditLog

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Died(Exception):
    """The process making the change died before its commit."""


def _asked(db: Database, key: str) -> bool:
    with db.session() as session:
        return change_committed(session, request_key=key, now=NOW)


def _change(session: Session) -> None:
    """Some change of the main database, in the same transaction as the request."""
    session.add(AuditLog(actor="cli:test", action="close", entity_type="question", entity_key="1", at=NOW))


@contextmanager
def _worker_asking(pool: ThreadPoolExecutor, db: Database, key: str) -> Iterator[Future[bool]]:
    """The worker asking ``change_committed`` in a thread, while the caller's change is still open; the block goes on
    once the worker really asked before the change ends: it answered already, or its question waits for the change's
    transaction. PostgreSQL tells (``pg_stat_activity``: a session of this database waiting for a lock). On SQLite,
    the worker's claim of the mark is a write, and the change holds the database's only write lock: once the worker
    sent it, it cannot finish before the change ends (it waits in SQLite's busy handler), so sending it is asking
    before the commit. The statement is watched for before the worker starts: watched for only after, a worker quick
    to send it went unseen, and the change waited for it until the worker's busy timeout refused it ("database is
    locked")."""
    main = threading.get_ident()
    sent = threading.Event()

    def on_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if threading.get_ident() != main and "processed_events" in statement:
            sent.set()

    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        asked = pool.submit(_asked, db, key)
        _until_asked(db, asked, sent)
        yield asked
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)


def _until_asked(db: Database, asked: Future[bool], sent: threading.Event) -> None:
    if db.engine.dialect.name != "postgresql":
        sent.wait(timeout=30)  # set at once when the worker sends it; the bound is only against a hang
        assert sent.is_set() or asked.done(), "the worker neither answered nor asked"
        return
    for _ in range(600):
        if asked.done():
            return
        with db.engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        wait([asked], timeout=0.05)  # until the worker answers, or the next look at what PostgreSQL waits for
    raise AssertionError("the worker neither answered nor waited for the change")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("commits", [True, False])
def test_the_worker_gets_the_changes_outcome_also_while_it_commits(database: Database, commits: bool) -> None:
    key = f"test:{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            with database.session() as session:
                _change(session)
                record_with_change(session, database, request_key=key, kind="test", payload={}, now=NOW)
                with _worker_asking(pool, database, key) as asked:  # the worker, while the change is still open
                    if not commits:
                        raise Died
        except Died:
            pass
        assert asked.result(timeout=30) is commits
    assert _asked(database, key) is commits  # run again: the same answer
    with database.inbox_session() as session:
        assert inbox_repo.get_inbox_request(session, request_key=key) is not None  # queued either way


def test_a_request_whose_change_never_came_is_answered_no_for_good(database: Database) -> None:
    key = f"test:{uuid.uuid4().hex}"
    assert not _asked(database, key)
    with pytest.raises(ValueError, match="queued before"), database.session() as session:  # too late: refused
        record_with_change(session, database, request_key=key, kind="test", payload={}, now=NOW)
    assert not _asked(database, key)
