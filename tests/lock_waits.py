"""Threads that go on once another thread has reached a lock: a signal instead of a timeout (tests never sleep).

``Arrivals`` notes a thread as arrived when it sends a statement that waits while another transaction holds the lock
(SQLite: ``BEGIN IMMEDIATE`` and any write, all behind the database's one write lock; PostgreSQL: a read
``FOR UPDATE`` / ``FOR SHARE``, on ``table`` if given), or when the test says so (``arrived``: after a lock read that
did not wait). ``wait_for_another`` then lets a thread holding a lock go on once another one waits for it, or, when
the locks do not work, once the other one has read too (the race the test is there to catch)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from storage.db import Database, create_db_engine

WAIT = 20  # seconds at most (never reached: the other thread arrives)
_SQLITE_WAITS = ("begin immediate", "insert", "update", "delete", "replace")


class Arrivals:
    def __init__(self, *, table: str | None = None) -> None:
        self.table = table
        self._changed = threading.Condition()
        self._threads: set[int] = set()

    def arrived(self) -> None:
        with self._changed:
            self._threads.add(threading.get_ident())
            self._changed.notify_all()

    def wait_for_another(self) -> None:
        me = threading.get_ident()
        with self._changed:
            assert self._changed.wait_for(lambda: self._threads - {me}, timeout=WAIT), "the other thread never came"

    def before_cursor_execute(self, connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        said = statement.lstrip().lower()
        if connection.dialect.name == "sqlite":
            waits = said.startswith(_SQLITE_WAITS)
        else:
            waits = (" for update" in said or " for share" in said) and (self.table is None or self.table in said)
        if waits:
            self.arrived()


@contextlib.contextmanager
def arrivals(engine: Engine, *, table: str | None = None) -> Iterator[Arrivals]:
    """``Arrivals`` on ``engine``'s statements while the block runs."""
    seen = Arrivals(table=table)
    event.listen(engine, "before_cursor_execute", seen.before_cursor_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", seen.before_cursor_execute)


@contextlib.contextmanager
def impatient(database: Database) -> Iterator[Session]:
    """A session of its own whose statements do not wait for a lock another transaction holds: they fail at once
    (closed, its transaction rolled back, at the end)."""
    if database.dialect == "sqlite":
        engine = create_db_engine(database.url, busy_timeout_ms=0, pooled=False)
        session = Session(engine)
    else:
        session = database.sessions()
        session.connection().exec_driver_sql("SET LOCAL lock_timeout = '1ms'")
    try:
        yield session
    finally:
        session.close()
        if database.dialect == "sqlite":
            engine.dispose()
