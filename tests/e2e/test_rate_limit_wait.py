"""A long Retry-After parks no worker: Slack asking to wait longer than ``MAX_RATE_LIMIT_WAIT`` is not slept through
in-process; the call fails as rate-limited at once, and the outbox sends the message on a later pass, no earlier
than Slack asked. A short one is still waited out in-process. Through the emulator's fault injection (a 429 with a
Retry-After) and the app's own Web API client; time injected (the clock, and the retry handler's sleep recorded
instead of slept). On SQLite and PostgreSQL (the ``database`` fixture); the inbox worker in the running bot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.app import MAX_RATE_LIMIT_WAIT, configure_web_client
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage.db import Database
from tests.clock import Clock
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BOT_TOKEN, BotProcess
from tests.e2e.test_outbox_crash import NOW, dms_about, queue_outcome, stored
from tests.e2e.test_who_knows import QUESTION, answers_in
from tests.emulator import SlackEmulator

HOUR = 3600


@pytest.fixture
def clock() -> Clock[datetime]:
    return Clock(NOW)


@pytest.fixture
def slept() -> Iterator[list[float]]:
    """What the Web API client's retry handlers asked to sleep (recorded, not slept)."""
    asked: list[float] = []
    with mock.patch("slack_sdk.http_retry.builtin_handlers.time.sleep", side_effect=asked.append):
        yield asked


@pytest.fixture
def sender(database: Database, emulator: SlackEmulator, clock: Clock[datetime]) -> OutboxSender:
    settings = Settings(slack_api_url=emulator.api_url)
    services = Services(settings=settings, db=database, knowledge=KnowledgeBase(database), clock=clock)
    return OutboxSender(services, configure_web_client(WebClient(token=BOT_TOKEN), settings))


def test_an_hour_long_retry_after_is_not_slept_through_and_the_message_goes_out_after_it(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, clock: Clock[datetime], slept: list[float]
) -> None:
    message_id = queue_outcome(database)
    emulator.fail_next("chat.postMessage", status=429, retry_after=HOUR)
    result = sender.send_pending(worker_id="w1")
    assert (result.sent, result.failed) == (0, 1)
    assert not [s for s in slept if s > MAX_RATE_LIMIT_WAIT]  # the worker was never parked
    assert len(emulator.calls_to("chat.postMessage")) == 1  # failed at once, not retried in-process
    message = stored(database, message_id)
    assert message.failed_at is None and message.last_error == "ratelimited"
    assert message.next_attempt_at is not None
    assert message.next_attempt_at.replace(tzinfo=UTC) >= NOW + timedelta(seconds=HOUR)  # no earlier than asked
    clock.now = NOW + timedelta(minutes=30)  # the usual backoff has passed, Slack's hour has not
    assert sender.send_pending(worker_id="w1").claimed == 0
    assert dms_about(emulator) == []
    clock.now = NOW + timedelta(seconds=HOUR + 1)
    assert sender.send_pending(worker_id="w1").sent == 1
    assert len(dms_about(emulator)) == 1
    assert stored(database, message_id).sent_at is not None


def test_a_short_retry_after_is_still_waited_out_in_process(
    database: Database, emulator: SlackEmulator, sender: OutboxSender, slept: list[float]
) -> None:
    message_id = queue_outcome(database)
    emulator.fail_next("chat.postMessage", status=429, retry_after=2)
    assert sender.send_pending(worker_id="w1").sent == 1
    assert len(slept) == 1 and 2 <= slept[0] < 3
    assert stored(database, message_id).attempts == 0 and len(dms_about(emulator)) == 1


@pytest.mark.postgres_too
def test_an_answer_rate_limited_for_an_hour_frees_the_worker_and_waits_for_slack(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    """The running bot: a mention's answer meets a 429 asking for an hour. The inbox worker is not parked (the next
    question is answered at once) and the first is not tried again after the usual seconds of backoff, nor is its
    asker told it failed: it waits for the hour Slack asked."""
    bot = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "bot.log").start()
    try:
        emulator.fail_next("chat.postMessage", status=429, retry_after=HOUR)
        first = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION}")
        emulator.wait_for(lambda: "failed" in bot.log() and emulator.calls_to("chat.postMessage"), timeout=30)
        second = emulator.send_app_mention(NL_USER, CHANNEL, f"<@{emulator.bot_user_id}> {QUESTION} in Gent")
        emulator.wait_for(lambda: answers_in(emulator, CHANNEL, second.payload["event"]["ts"]), timeout=30)
        time.sleep(4)  # the usual backoff (2, then 4 s) would have tried the first again by now
        assert answers_in(emulator, CHANNEL, first.payload["event"]["ts"]) == []
        assert [c.status for c in emulator.calls_to("chat.postMessage")] == [429, 200]
        assert emulator.ephemerals(user=NL_USER) == [] and "given up" not in bot.log()
    finally:
        bot.stop()
