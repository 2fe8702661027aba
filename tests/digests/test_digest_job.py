"""The digest pass in ``wieweet run``'s background jobs is a job of its own: a pass over hundreds of channels (rate
limits, slow answers) never holds up routing timers, held questions and the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.jobs import DIGEST_JOB_ID, JOB_ID, DigestPass, JobRunner
from bot.knowledge import KnowledgeBase
from bot.routing import RoutingService
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.db import Database
from tests.digests.conftest import NOW


@pytest.fixture
def knowledge(database: Database) -> Iterator[KnowledgeBase]:
    kb = KnowledgeBase(database)
    kb.load()
    yield kb
    kb.close()


def runner(database: Database, knowledge: KnowledgeBase, digests: DigestPass | None) -> JobRunner:
    services = Services(settings=Settings(), db=database, knowledge=knowledge, clock=lambda: NOW)
    client = WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/")  # nothing listens
    return JobRunner(
        services,
        routing=RoutingService(knowledge=knowledge),
        sender=OutboxSender(services, client),
        digests=digests,
        worker_id="test",
    )


def test_the_regular_pass_does_not_wait_for_the_digests(database: Database, knowledge: KnowledgeBase) -> None:
    calls: list[tuple[datetime, str]] = []

    def digests(now: datetime, worker_id: str) -> list[object]:
        calls.append((now, worker_id))
        return []

    jobs = runner(database, knowledge, digests)
    jobs.run_pass()
    assert calls == []  # not part of the regular pass
    assert jobs.send_digests() == 0 and calls == [(NOW, "test")]
    jobs.start()
    try:
        assert jobs.scheduler.get_job(DIGEST_JOB_ID) is not None and jobs.scheduler.get_job(JOB_ID) is not None
    finally:
        jobs.shutdown()


def test_without_digests_there_is_no_digest_job(database: Database, knowledge: KnowledgeBase) -> None:
    jobs = runner(database, knowledge, None)
    jobs.start()
    try:
        assert jobs.scheduler.get_job(DIGEST_JOB_ID) is None
    finally:
        jobs.shutdown()
