"""An upgrade with several replicas: a replica still running the old code notices that another one (or
``wieweet db upgrade``) moved the database to a revision it does not run, and stops its jobs and fails its health
check, rather than keep working on a schema it does not know. Two engines share one database here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.jobs import BatchResult, JobRunner
from bot.knowledge import KnowledgeBase
from bot.routing import RoutingService
from handlers.services import Services
from storage.db import Database, head_revision

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NEWER = "0099_fromthefuture"


class CountingSender:
    batch_size = 10

    def __init__(self) -> None:
        self.passes = 0

    def send_pending(self, *, worker_id: str) -> BatchResult:
        self.passes += 1
        return BatchResult()


@pytest.fixture
def replica(database: Database) -> Iterator[Database]:
    """A second process on the same database (its own engine), started while the schema was at this code's head."""
    other = Database(database.url)
    yield other
    other.dispose()
    with database.engine.begin() as conn:  # the PostgreSQL test database is shared by the next tests
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})


def _upgrade_elsewhere(database: Database, revision: str) -> None:
    """What a newer wieweet's ``db upgrade`` leaves behind, as seen by this code: another revision."""
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})


def _runner(db: Database, sender: CountingSender) -> JobRunner:
    kb = KnowledgeBase(db)
    services = Services(settings=Settings(), db=db, knowledge=kb, clock=lambda: NOW)
    return JobRunner(services, routing=RoutingService(knowledge=kb), sender=sender, worker_id="old")


def test_an_old_replica_stops_its_jobs_once_the_schema_is_newer(database: Database, replica: Database) -> None:
    sender = CountingSender()
    jobs = _runner(replica, sender)
    jobs.run_pass()
    assert sender.passes == 1 and jobs.stopped is None
    _upgrade_elsewhere(database, NEWER)
    jobs.run_pass()
    assert sender.passes == 1  # nothing more was sent by the old code
    assert jobs.stopped is not None and NEWER in jobs.stopped
    _upgrade_elsewhere(database, head_revision() or "")
    jobs.run_pass()  # stopped for good: the process must be replaced by one running the new code
    assert sender.passes == 1


def test_an_old_replica_fails_its_health_check_once_the_schema_is_newer(database: Database, replica: Database) -> None:
    assert replica.serving()
    _upgrade_elsewhere(database, NEWER)
    assert replica.ping()  # the database answers ...
    assert not replica.serving()  # ... but not with the schema this code runs
    assert replica.schema_moved() is not None and NEWER in (replica.schema_moved() or "")


def test_a_replica_at_the_head_keeps_working(database: Database, replica: Database) -> None:
    sender = CountingSender()
    jobs = _runner(replica, sender)
    for _ in range(2):
        jobs.run_pass()
    assert sender.passes == 2 and jobs.stopped is None and replica.serving()
