"""The digest pass in ``wieweet run``'s background jobs is a job of its own: a pass over hundreds of channels (rate
limits, slow answers) never holds up routing timers, held questions and the outbox."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.errors import ConfigError
from bot.jobs import DIGEST_JOB_ID, JOB_ID, DigestPass, JobRunner
from bot.knowledge import KnowledgeBase
from bot.routing import RoutingService
from digests.errors import ServiceUnreachableError
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


def test_slack_out_of_reach_is_one_warning_and_the_next_pass_tries_again(
    database: Database, knowledge: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot's digest pass stopped by Slack out of reach (``ServiceUnreachableError``): one WARNING line saying so
    (the digests are tried again next pass), no traceback of a failed job (fixleft44a item 1)."""

    def digests(now: datetime, worker_id: str) -> list[object]:
        raise ServiceUnreachableError(ConfigError("unreachable", "cannot reach Slack at http://x/api/: no connection"))

    jobs = runner(database, knowledge, digests)
    with caplog.at_level(logging.INFO):
        assert jobs.send_digests() == 0
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in said] == [logging.WARNING] and "cannot reach Slack" in said[0].getMessage(), said
    assert not any(r.exc_info for r in caplog.records)
