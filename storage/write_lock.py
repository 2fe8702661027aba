"""SQLite's stand-in for row locks: the database's write lock, taken before every read "for update".

PostgreSQL holds the rows a ``SELECT ... FOR UPDATE`` / ``FOR SHARE`` reads until the transaction ends, so two
requests doing a read-modify-write of one row run one after the other. SQLite has no row locks and drops the
clause, and pysqlite (Python's legacy transaction control, which ``storage.db`` keeps) begins a transaction only
before the first INSERT/UPDATE/DELETE: a read before it holds nothing. Two requests at once would both read the row,
both change it, and the second write would silently undo the first (a lost update: two clicks adding a topic to a
profile gave two audit rows). SQLite lets one writer at a time, so its write lock, taken before such a read and held
until commit, serialises them as the row lock does (more broadly: every writer of the database waits meanwhile).

``install(engine)`` (every SQLite engine, ``storage.db.create_db_engine``) runs ``hold_write_lock`` before every
statement that reads "for update" on that engine: every repository getter's ``lock=True``, ``share=True``
(``FOR SHARE``) and any other ``with_for_update``, in one place. ``hold_write_lock`` is also what a unit of work
calls to serialise something else (``question_repo.claim_asker_lock``; ``try_write_lock`` without waiting:
``needs_repo.claim_needs_lock``):

- no transaction open yet: ``BEGIN IMMEDIATE``, waiting for the lock up to the busy timeout;
- a transaction open (begun by a write, which holds the lock already, or by a savepoint or a plain ``BEGIN``): a
  write that changes nothing, on the table read, which takes the lock.

In WAL mode SQLite cannot give the write lock to a transaction that has already read when another writer committed
since that read (its snapshot is stale: ``SQLITE_BUSY_SNAPSHOT``), nor let it wait while another writer holds the
lock: the statement fails at once as "database is locked" (``storage.db.is_lock_error``), before anything stale is
read, and the unit of work is run again (``Database.retrying``, the inbox's retries) or fails (the command line:
the operator runs it again). So a unit of work reads "for update" before its other reads where it can. Pysqlite runs
the reads before a unit of work's first write outside any transaction: its lock read waits and reads afresh.

A savepoint never begins SQLite's transaction either: pysqlite sends ``SAVEPOINT`` as it is, and when nothing was
written yet it would begin the transaction, whose outermost ``RELEASE`` is a ``COMMIT`` in SQLite: a lock taken in
the savepoint would be given back, and what was written in it committed, while the unit of work goes on (and could
still fail). So ``install`` sends a plain ``BEGIN`` (deferred: no lock yet, as pysqlite's own before a write) before
such a savepoint; pysqlite then sees the transaction open and commits or rolls it back with the unit of work.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, Select, TableClause, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.util import find_tables

log = logging.getLogger(__name__)

STALE_SNAPSHOT = "SQLITE_BUSY_SNAPSHOT"


def sqlite_transaction_open(connection: Connection) -> bool:
    """Whether ``connection`` (SQLite) has a transaction open at the driver: begun by a write, ``BEGIN`` or a
    savepoint (pysqlite runs the reads before the first write outside any transaction)."""
    driver = connection.connection.driver_connection
    return driver is not None and bool(driver.in_transaction)


def hold_write_lock(connection: Connection, *, table: TableClause) -> None:
    """On SQLite, hold the database's write lock from now until the transaction ends (see the module); ``table``:
    one of the database's tables, written without changing anything when a transaction is open already. Nothing on
    another database."""
    if connection.dialect.name != "sqlite":
        return
    if not sqlite_transaction_open(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    quote = connection.dialect.identifier_preparer.quote
    column = quote(next(iter(table.columns)).name)
    try:
        connection.exec_driver_sql(f"UPDATE {quote(table.name)} SET {column} = {column} WHERE 0")
    except OperationalError as error:
        if getattr(error.orig, "sqlite_errorname", "") == STALE_SNAPSHOT:
            log.info(
                "SQLite: the write lock was refused to a transaction that read before another writer committed "
                "(%s); its unit of work fails as locked and is run again",
                STALE_SNAPSHOT,
            )
        raise


def try_write_lock(connection: Connection, *, table: TableClause) -> bool:
    """``hold_write_lock`` without waiting (a busy timeout of 0 for that one statement): False at once when another
    connection holds SQLite's write lock (or this transaction's snapshot is stale). True on another database."""
    if connection.dialect.name != "sqlite":
        return True
    busy_ms = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
    connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        hold_write_lock(connection, table=table)
    except OperationalError as error:
        if "locked" not in str(error.orig or error).lower():
            raise
        return False
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
    return True


def _before_execute(connection: Connection, statement: Any, *_args: Any) -> None:
    if not isinstance(statement, Select) or statement._for_update_arg is None:
        return
    tables = find_tables(statement)
    if not tables:
        raise RuntimeError("a read 'for update' that names no table: SQLite's write lock cannot be taken for it")
    hold_write_lock(connection, table=tables[0])


def _begin_before_savepoint(connection: Connection, _name: str) -> None:
    if not sqlite_transaction_open(connection):
        connection.exec_driver_sql("BEGIN")


def install(engine: Engine) -> None:
    """Take SQLite's write lock before every statement of ``engine`` that reads "for update", and begin the
    transaction before a savepoint that would begin it (see the module)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "before_execute", _before_execute)
        event.listen(engine, "savepoint", _begin_before_savepoint)
