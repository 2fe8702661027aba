"""Engine, sessions and automatic schema upgrades.

One ``Database`` per process. Work happens in ``db.session()`` — one session and one transaction per Slack
request, CLI command or job, committed when the block ends without an exception and rolled back otherwise.
Repository functions never commit.

The inbox (``storage.models.InboxRequest``: every acknowledged Slack request, recorded before its ack) is reached
through ``db.inbox_session()``. On PostgreSQL it is a table of the same database (row locks never block it). On a
SQLite file it is its own file beside the database (``wieweet-inbox.db``) with the same table: SQLite locks the
whole file for a writer, and an ack must not wait for another process's long write (an import, a backup). On
PostgreSQL the inbox has a connection pool of its own, for the same reason.

SQLite waits ``SQLITE_BUSY_TIMEOUT_MS`` for a lock; ``db.retrying(work)`` runs a unit of work again (a bounded
number of times, with a short backoff) when the lock was still held, so "database is locked" does not surface.

Reading and showing a database URL (its secrets masked, its connection options checked) is ``storage.db_url``'s.
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from storage import write_lock
from storage.models import Base, InboxRequest

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_MIGRATION_LOCK = 0x77696577  # "wiew": advisory lock key serialising upgrades across processes
SQLITE_BUSY_TIMEOUT_MS = 20000  # how long a statement waits for the write lock (past the ack: waiting is fine)
INBOX_BUSY_TIMEOUT_MS = 2000  # the inbox file: an ack must come within Slack's 3 s
RETRY_ATTEMPTS = 4  # ``Database.retrying``: tries of a unit of work that met a held lock
RETRY_BACKOFF_SECONDS = 0.5
# ``Database.schema_moved_lately``: a request path reads the schema revision at most this often
SCHEMA_RECHECK_SECONDS = 10.0
# PostgreSQL, the inbox worker's transactions (``bounded_waits``): a lock is waited for at most this long (as SQLite's
# busy timeout; the request is retried with a backoff), and a transaction left idle this long is ended by the server,
# so a hung request cannot block a worker thread, nor hold locks others wait for, forever.
WORKER_LOCK_TIMEOUT_MS = SQLITE_BUSY_TIMEOUT_MS
WORKER_IDLE_IN_TRANSACTION_MS = 5 * 60 * 1000

T = TypeVar("T")


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten with zeros, so erased personal data does not stay readable in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return on_connect


class _Writes(threading.local):
    def __init__(self) -> None:
        self.connections: set[int] = set()  # DBAPI connections whose open transaction has written


_writes = _Writes()
_watching: list[bool] = []
_WRITE_STATEMENTS = frozenset({"insert", "update", "delete", "replace"})
_WRITE_LOCK = "begin immediate"  # SQLite: holds the write lock as a write does (``storage.write_lock``)


def _after_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    words = statement.lower().split()
    if words[:1] and (words[0] in _WRITE_STATEMENTS or " ".join(words[:2]) == _WRITE_LOCK):
        _writes.connections.add(id(conn.connection.dbapi_connection))


def _transaction_ended(conn: Any) -> None:
    _writes.connections.discard(id(conn.connection.dbapi_connection))


def watch_writes() -> None:
    """TEST ONLY (see ``handlers.txguard``): from now on, track per thread which open transactions have written."""
    if _watching:
        return
    _watching.append(True)
    event.listen(Engine, "after_cursor_execute", _after_execute)
    event.listen(Engine, "commit", _transaction_ended)
    event.listen(Engine, "rollback", _transaction_ended)


def thread_has_written() -> bool:
    """Whether this thread has a transaction open that has written (only known once ``watch_writes`` ran)."""
    return bool(_writes.connections)


WROTE = "wieweet_wrote"  # in ``Session.info``: this session's transaction has written (see ``session_has_written``)


def _note_flush(session: Session, _context: Any) -> None:
    session.info[WROTE] = True


def _note_statement(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _forget_writes(session: Session, *_args: Any) -> None:
    session.info.pop(WROTE, None)


def session_has_written(session: Session) -> bool:
    """Whether ``session``'s open transaction has changed anything (flushed, pending, or a DML statement): what a
    request did is worth a dedupe claim only then (``handlers.listener``)."""
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def is_lock_error(error: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (a writer held the lock past the busy timeout)."""
    return isinstance(error, OperationalError) and "locked" in str(error.orig or error).lower()


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock waited for past ``lock_timeout``


def is_lock_timeout(error: BaseException) -> bool:
    """PostgreSQL's ``lock_timeout`` reached while waiting for a lock another transaction holds (SQLSTATE 55P03,
    psycopg's ``LockNotAvailable``; ``bound_lock_wait``)."""
    return isinstance(error, OperationalError) and getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


class SchemaVerdict(enum.Enum):
    """What a process running this code makes of the database's schema revision (``Database.schema_verdict``)."""

    CURRENT = "current"  # this code's revision: work
    OLDER = "older"  # an older revision, or none (a restored backup, halfway through a restore): wait, it moves on
    NEWER = "newer"  # a revision this code does not know: a newer wieweet upgraded it; stop for good
    UNREADABLE = "unreadable"  # the reading failed (the database is down): stop nothing, the work fails as usual

    @property
    def works(self) -> bool:
        """Whether the work goes on: at this code's revision, or when the revision could not be read."""
        return self in (SchemaVerdict.CURRENT, SchemaVerdict.UNREADABLE)


@dataclass(frozen=True)
class SchemaCheck:
    verdict: SchemaVerdict
    moved: str | None = None  # OLDER or NEWER: what happened, for the log (``Database.schema_moved``)
    error: Exception | None = None  # UNREADABLE: why, for the log

    def report(self, logger: logging.Logger, *, waits: str, stops: str, worker_id: str) -> None:
        """Log the verdict on the caller's logger: a failed reading and a wait as warnings, a stop as an error.
        ``waits`` and ``stops`` are formats of ``worker_id`` and ``moved``."""
        if self.verdict is SchemaVerdict.UNREADABLE:
            logger.warning("could not read the database's schema revision", exc_info=self.error)
        elif self.verdict is SchemaVerdict.OLDER:
            logger.warning(waits, worker_id, self.moved)
        elif self.verdict is SchemaVerdict.NEWER:
            logger.error(stops, worker_id, self.moved)


class UnknownSchemaError(RuntimeError):
    """The database is at a schema revision this code does not know: a newer wieweet upgraded it. ``revision``: the
    database's; ``latest``: the newest this code knows (for the operator's text, ``bot.cli``)."""

    def __init__(self, message: str, *, revision: str = "", latest: str = "") -> None:
        super().__init__(message)
        self.revision = revision
        self.latest = latest


def check_known_revision(revision: str | None) -> None:
    """Refuse a database upgraded by a newer wieweet (its revision is not among this code's migrations)."""
    if revision is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:  # no migration script has that revision
        latest = head_revision() or ""
        raise UnknownSchemaError(
            f"the database schema is at revision {revision}, which this version of wieweet does not know "
            f"(latest: {latest}): a newer wieweet upgraded it; run that version or restore a backup",
            revision=revision,
            latest=latest,
        ) from None


SQL_LOGGER = "sqlalchemy.engine"  # where SQLAlchemy logs every statement at INFO


def log_statements() -> None:
    """WIEWEET_ECHO_SQL: SQLAlchemy logs every statement (at INFO, on ``SQL_LOGGER``) through the process's own log
    handlers, without ``-v`` too: the command line's write one line per record to standard error. Not SQLAlchemy's
    ``echo=True``, which adds a handler of its own on standard output: its lines ended up inside what a command
    prints there (``ask --json``, an export to ``-``), and were not kept to one line each."""
    logging.getLogger(SQL_LOGGER).setLevel(logging.INFO)


def create_db_engine(
    url: str,
    *,
    echo: bool = False,
    echo_parameters: bool = False,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    pooled: bool = True,
) -> Engine:
    """An engine for ``url``. ``echo``: its statements are logged (``log_statements``). Statements' values (question
    texts, private ones too, emails) are left out of the logged SQL and of error messages unless ``echo_parameters``
    (WIEWEET_ECHO_SQL_PARAMETERS) asks for them. ``pooled=False`` (SQLite): a fresh connection each time, never one
    a worker holds."""
    if echo:
        log_statements()
    hide = not echo_parameters
    if url.startswith("sqlite"):
        pool: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
        engine = create_engine(url, hide_parameters=hide, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout_ms))
        write_lock.install(engine)  # a read "for update" holds the write lock (SQLite has no row locks)
        if url not in {"sqlite://", "sqlite:///:memory:"}:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, hide_parameters=hide, pool_pre_ping=True, pool_size=5, max_overflow=10)


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@functools.cache
def head_revision() -> str | None:
    """The newest revision this code's migrations know (read once per process: the scripts do not change)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@contextmanager
def sqlite_setup_lock(database: str | Path | None) -> Iterator[None]:
    """One process at a time sets up a SQLite file (``wieweet.db-upgrade.lock`` beside it, locked with ``flock``;
    PostgreSQL has its advisory lock): turning on WAL, creating the inbox table, upgrading the schema. Without it,
    processes starting on a new file at once (two replicas, ``wieweet run`` and a cron job) each created the tables,
    and all but one failed with "table … already exists" or "database is locked". Not reentrant: never nest it."""
    name = str(database) if database else ""
    if not name or name == ":memory:" or name.startswith("file:"):
        yield
        return
    import fcntl  # noqa: PLC0415 (POSIX only, as wieweet's deployments)

    try:
        lock = open(f"{name}-upgrade.lock", "a")  # noqa: PTH123, SIM115 (a plain file descriptor for flock)
    except OSError:  # a read-only directory: nothing can be set up there anyway, and SQLite will say so
        yield
        return
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe when several processes start at once."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    with sqlite_setup_lock(database), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        current = current_revision(conn)
        check_known_revision(current)
        if revision == "head" and current == head_revision():
            return
        log.info("upgrading database schema to %s", revision)
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` ("base" drops everything wieweet created)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.downgrade(alembic_config(conn), revision)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory databases and other backends)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return Path(path) if path and path != ":memory:" else None


def inbox_file(database_file: Path) -> Path:
    """Where a SQLite database keeps its inbox: ``wieweet.db`` → ``wieweet-inbox.db``."""
    return database_file.with_name(f"{database_file.stem}-inbox{database_file.suffix or '.db'}")


# A write that is only a cache, on a request's way to Slack (a user's language before a modal opens, whose trigger
# lives 3 s): it waits at most this long for a lock another transaction holds, then is skipped (``waiting_briefly``).
CACHE_LOCK_WAIT_MS = 200


@contextmanager
def waiting_briefly(session: Session, wait_ms: int = CACHE_LOCK_WAIT_MS) -> Iterator[None]:
    """The block's statements on ``session`` wait at most ``wait_ms`` for a lock held elsewhere, then raise
    ``OperationalError``: PostgreSQL's ``lock_timeout`` for this transaction (``SET LOCAL``), SQLite's busy timeout
    until the block ends (restored after it: the pooled connection keeps its own)."""
    connection = session.connection()
    name = connection.dialect.name
    if name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(wait_ms)}")
    if name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {previous}")


def bound_lock_wait(session: Session, wait_ms: int) -> None:
    """The rest of ``session``'s transaction waits at most ``wait_ms`` for a lock held elsewhere on PostgreSQL
    (``SET LOCAL lock_timeout``), then fails with ``OperationalError`` (``is_lock_timeout``). On SQLite nothing is
    changed: a statement waits for the write lock up to the engine's busy timeout already (``is_lock_error``)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # at least 1 ms: a lock_timeout of 0 would wait for ever
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(wait_ms))}")


_waits = threading.local()


@contextmanager
def bounded_waits(
    lock_timeout_ms: int = WORKER_LOCK_TIMEOUT_MS, idle_ms: int = WORKER_IDLE_IN_TRANSACTION_MS
) -> Iterator[None]:
    """Transactions begun in this thread meanwhile (an inbox worker's) get PostgreSQL's ``lock_timeout`` and
    ``idle_in_transaction_session_timeout`` (``SET LOCAL``: the pooled connection is not changed for others)."""
    before = getattr(_waits, "values", None)
    _waits.values = (int(lock_timeout_ms), int(idle_ms))
    try:
        yield
    finally:
        _waits.values = before


def _bound_waits(_session: Session, _transaction: Any, connection: Connection) -> None:
    values = getattr(_waits, "values", None)
    if values is not None and connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {values[0]}")
        connection.exec_driver_sql(f"SET LOCAL idle_in_transaction_session_timeout = {values[1]}")


class Database:
    """The process's engine and session factory (and the inbox's, see the module docstring)."""

    def __init__(
        self, url: str, *, echo: bool = False, echo_parameters: bool = False, auto_upgrade: bool = True
    ) -> None:
        self.url = url
        main_file = sqlite_file(url)
        with sqlite_setup_lock(main_file):
            self._open(url, echo=echo, echo_parameters=echo_parameters, main_file=main_file)
        if auto_upgrade:
            self.ensure_schema()

    def _open(self, url: str, *, echo: bool, echo_parameters: bool, main_file: Path | None) -> None:
        self.engine = create_db_engine(url, echo=echo, echo_parameters=echo_parameters)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self.sessions, "after_flush", _note_flush)
        event.listen(self.sessions, "do_orm_execute", _note_statement)
        event.listen(self.sessions, "after_commit", _forget_writes)
        event.listen(self.sessions, "after_rollback", _forget_writes)
        event.listen(self.sessions, "after_begin", _bound_waits)
        self._upgraded = False
        self._lock = threading.Lock()
        self._moved_read: tuple[float, str | None] | None = None  # ``schema_moved_lately``: (when read, what)
        self.inbox_path = inbox_file(main_file) if main_file is not None else None
        if self.inbox_path is not None:
            self.inbox_engine = create_db_engine(
                f"sqlite:///{self.inbox_path}",
                echo=echo,
                echo_parameters=echo_parameters,
                busy_timeout_ms=INBOX_BUSY_TIMEOUT_MS,
            )
            self._create_inbox_table()
        elif self.engine.dialect.name == "postgresql":
            # The same database, but a connection pool of its own: workers waiting on a locked table hold the main
            # pool's connections, and an ack must not wait for one of them (the bench saw acks wait 16 s for that).
            self.inbox_engine = create_db_engine(url, echo=echo, echo_parameters=echo_parameters)
        else:
            self.inbox_engine = self.engine
        self.inbox_sessions = sessionmaker(self.inbox_engine, expire_on_commit=False)
        event.listen(self.inbox_sessions, "after_begin", _bound_waits)
        if self.engine.dialect.name == "postgresql":
            self._ack_reads = self.inbox_sessions  # the same database, on the pool the workers do not hold
        elif main_file is not None:  # a connection of its own each time: WAL lets a reader wait for no writer
            self._ack_reads = sessionmaker(
                create_db_engine(url, echo=echo, echo_parameters=echo_parameters, pooled=False), expire_on_commit=False
            )
        else:
            self._ack_reads = self.sessions

    def _create_inbox_table(self) -> None:
        Base.metadata.tables[InboxRequest.__tablename__].create(self.inbox_engine, checkfirst=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_schema(self) -> None:
        with self._lock:
            if not self._upgraded:
                upgrade(self.engine)
                self._upgraded = True

    def session(self) -> AbstractContextManager[Session]:
        """One unit of work: commit on success, roll back on any exception (which propagates)."""
        return _unit_of_work(self.sessions)

    def inbox_session(self) -> AbstractContextManager[Session]:
        """A unit of work on the inbox (see the module docstring); commit on success, roll back on error."""
        return _unit_of_work(self.inbox_sessions)

    def ack_read_session(self) -> AbstractContextManager[Session]:
        """A short read on the main database before an ack (a form's check), on connections the workers never hold
        (an ack waited 20 s for a pooled one held by workers waiting on a lock)."""
        return _unit_of_work(self._ack_reads)

    def retrying(self, work: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
        """Run ``work`` (which opens its own sessions) again when it failed on a held SQLite lock: a bounded number
        of times with a growing pause; the last lock error propagates. Other errors propagate at once."""
        for attempt in range(1, attempts + 1):
            try:
                return work()
            except OperationalError as error:
                if attempt == attempts or not is_lock_error(error):
                    raise
                log.info("database locked, retrying (%s/%s)", attempt, attempts)
                time.sleep(RETRY_BACKOFF_SECONDS * attempt)
        raise AssertionError("unreachable")

    def compact_after_erasure(self) -> None:
        """After personal data was erased: on SQLite, copy the write-ahead log into the database (whose freed pages
        ``secure_delete`` has zeroed) and truncate it, for the database and the inbox file, so no copy of the erased
        rows stays in ``*-wal``. PostgreSQL keeps its own WAL and backups (see the README)."""
        engines = [self.engine] + ([self.inbox_engine] if self.inbox_engine is not self.engine else [])
        for engine in engines:
            if engine.dialect.name != "sqlite":
                continue
            with engine.connect() as conn:
                row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if row is not None and row[0]:
                    log.warning("WAL checkpoint after erasure was blocked by a reader; it completes at the next one")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # reported as unhealthy, not raised: this is a health probe
            log.exception("database ping failed")
            return False
        return True

    def schema_moved(self) -> str | None:
        """None while the database is at this code's schema revision; else what happened, for the log. The version is
        checked when the process starts; with several replicas another one (or ``wieweet db upgrade``) may move it
        while this one runs: old code on a new schema must stop (the job loop and ``serving`` ask here)."""
        with self.engine.connect() as conn:
            revision = current_revision(conn)
        if revision == head_revision():
            return None
        if revision is None:
            return f"the database has no schema revision now (a restore?); this process runs {head_revision()}"
        return (
            f"the database schema is at revision {revision} now, and this process runs {head_revision()}: "
            "another version of wieweet changed it; restart this process with the version that did"
        )

    def schema_moved_lately(self, *, max_age: float = SCHEMA_RECHECK_SECONDS) -> str | None:
        """``schema_moved``, read again only when the last reading is older than ``max_age`` seconds: the inbox worker
        and the listeners ask before their work, and a busy replica would otherwise read the revision at every
        request. A reading that fails raises, and is not kept."""
        now, kept = time.monotonic(), self._moved_read  # one tuple, replaced whole: no lock needed
        if kept is not None and now - kept[0] < max_age:
            return kept[1]
        moved = self.schema_moved()
        self._moved_read = (now, moved)
        return moved

    def schema_newer(self) -> bool:
        """Whether the database's schema revision is one this code's migrations do not know: a newer wieweet upgraded
        it, for good. No revision (an empty or missing version table, e.g. halfway through a restore) or an older one
        (a restored backup, before its upgrade) is not: it moves on, and the worker and jobs wait for it."""
        with self.engine.connect() as conn:
            revision = current_revision(conn)
        try:
            check_known_revision(revision)
        except UnknownSchemaError:
            return True
        return False

    def schema_verdict(self, *, lately: bool = False) -> SchemaCheck:
        """The inbox worker's and the job runner's one rule for the schema revision: at this code's: CURRENT; one this
        code does not know (``schema_newer``): NEWER, stop for good; an older one or none: OLDER, wait; a reading that
        fails (the database is down): UNREADABLE, which stops nothing. ``lately``: the revision as read by
        ``schema_moved_lately`` (at most every ``SCHEMA_RECHECK_SECONDS``), else read now."""
        try:
            moved = self.schema_moved_lately() if lately else self.schema_moved()
            if moved is None:
                return SchemaCheck(SchemaVerdict.CURRENT)
            newer = self.schema_newer()
        except Exception as error:  # reported by the caller, not raised: the work fails and is logged as usual
            return SchemaCheck(SchemaVerdict.UNREADABLE, error=error)
        return SchemaCheck(SchemaVerdict.NEWER if newer else SchemaVerdict.OLDER, moved=moved)

    def serving(self) -> bool:
        """The health check's view of the database: it answers, at the schema revision this code runs."""
        if not self.ping():
            return False
        try:
            moved = self.schema_moved()
        except Exception:  # reported as unhealthy, not raised: this is a health probe
            log.exception("database schema check failed")
            return False
        if moved is not None:
            log.error("unhealthy: %s", moved)
        return moved is None

    def dispose(self) -> None:
        self.engine.dispose()
        if self.inbox_engine is not self.engine:
            self.inbox_engine.dispose()


@contextmanager
def _unit_of_work(sessions: Callable[[], Session]) -> Iterator[Session]:
    """A session from ``sessions``: committed when the block ends, rolled back on any exception (which propagates)."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
