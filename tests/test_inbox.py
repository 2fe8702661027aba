"""The inbox's core: a request is recorded once, claimed by one worker, taken back from dead ones; ``once``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from slack_sdk import WebClient

from bot import inbox
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers.inbox import ClaimLostError, InboxJob
from handlers.services import Services
from storage import inbox_repo
from storage.db import Database
from storage.models import ProcessedEvent

NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def record(db: Database, key: str, user: str | None = "U0NLUSER1") -> bool:
    return inbox.record_request(
        db, request_key=key, kind="answer_message", payload={"text": "wie weet"}, user_id=user, now=NOW
    )


def test_a_request_is_recorded_once_whatever_the_redeliveries(database: Database) -> None:
    assert record(database, "msg:C1:1.0") is True
    assert record(database, "msg:C1:1.0") is False  # the app_mention and message deliveries, a retry, a replay
    assert record(database, "view:V1") is True
    with database.inbox_session() as s:
        assert [r.request_key for r in inbox_repo.list_inbox_requests(s)] == ["msg:C1:1.0", "view:V1"]


def test_claims_are_exclusive_and_released_by_done_or_failure(database: Database) -> None:
    for n in range(3):
        record(database, f"msg:C1:{n}.0")
    stale = NOW - timedelta(minutes=2)
    first = inbox.claim_requests(database, now=NOW, claim="w1/1", limit=2, stale_before=stale)
    second = inbox.claim_requests(database, now=NOW, claim="w1/2", limit=5, stale_before=stale)
    assert [r.request_key for r in first] == ["msg:C1:0.0", "msg:C1:1.0"]
    assert [r.request_key for r in second] == ["msg:C1:2.0"]  # same clock, another claim: only the free one
    assert not inbox.mark_done(database, request_id=first[0].id, claim="w1/2", channel_id="C1", ts="9.0", now=NOW)
    assert inbox.mark_done(database, request_id=first[0].id, claim="w1/1", channel_id="C1", ts="9.0", now=NOW)
    later = NOW + timedelta(seconds=5)
    assert inbox.mark_failed(database, request_id=first[1].id, claim="w1/1", error="x", retry_at=later, now=NOW)
    assert inbox.claim_requests(database, now=NOW, claim="w1/3", limit=5, stale_before=stale) == []
    again = inbox.claim_requests(database, now=later, claim="w1/4", limit=5, stale_before=stale)
    assert [r.request_key for r in again] == ["msg:C1:1.0"]  # after its backoff
    with database.inbox_session() as s:
        done = inbox_repo.get_inbox_request(s, request_key="msg:C1:0.0")
        assert done is not None and done.payload == {} and done.posted_ts == "9.0"  # its content is gone


def test_claims_of_dead_workers_are_released(database: Database) -> None:
    record(database, "msg:C1:1.0")
    stale = NOW - timedelta(minutes=2)
    assert inbox.claim_requests(database, now=NOW, claim="host:1:aaa/1", limit=5, stale_before=stale)
    assert inbox.claim_requests(database, now=NOW, claim="host:2:bbb/1", limit=5, stale_before=stale) == []
    assert inbox.release_claims(database, is_dead=lambda claimer: claimer.startswith("host:1:")) == 1
    taken = inbox.claim_requests(database, now=NOW, claim="host:2:bbb/2", limit=5, stale_before=stale)
    assert [r.request_key for r in taken] == ["msg:C1:1.0"]


def test_once_makes_a_thing_once_and_remembers_its_id(database: Database) -> None:
    made: list[int] = []

    def make() -> int:
        made.append(len(made) + 41)
        return made[-1]

    with database.session() as s:
        assert inbox.once(s, step="asked", request_key="view:V1", now=NOW, make=make) == 41
    with database.session() as s:  # a retry after a crash between this commit and noting it on the request
        assert inbox.once(s, step="asked", request_key="view:V1", now=NOW, make=make) == 41
        assert s.query(ProcessedEvent).filter_by(event_key="asked:view:V1").one().kind == "asked:41"
    assert made == [41]


def test_progress_under_the_claim_keeps_it_from_going_stale(database: Database) -> None:
    record(database, "msg:C1:1.0")
    record(database, "msg:C1:2.0")
    [first, second] = inbox.claim_requests(
        database, now=NOW, claim="w1/1", limit=2, stale_before=NOW - timedelta(minutes=2)
    )
    later = NOW + timedelta(minutes=1, seconds=30)  # a long job, still working
    assert inbox.save_result(database, request_id=first.id, claim="w1/1", values={"step": 1}, alive_at=later)
    assert inbox.mark_post_started(database, request_id=second.id, claim="w1/1", now=later, alive_at=later)
    at = NOW + timedelta(minutes=3)  # 3 min after the claim, 1.5 after the progress: neither is stale
    assert inbox.claim_requests(database, now=at, claim="w2/1", limit=5, stale_before=at - timedelta(minutes=2)) == []
    assert inbox.keep_claim(database, request_id=first.id, claim="w1/1", alive_at=at)
    assert not inbox.keep_claim(database, request_id=first.id, claim="w2/1", alive_at=at)


def test_an_ephemeral_answer_is_not_sent_once_the_claim_was_taken_over(database: Database) -> None:
    inbox.record_request(
        database,
        request_key="cmd:T1",
        kind="answer_command",
        payload={"response_url": "https://hooks.slack.invalid/commands/1"},
        user_id="U0NLUSER1",
        now=NOW,
    )
    [row] = inbox.claim_requests(database, now=NOW, claim="w1/1", limit=1, stale_before=NOW - timedelta(minutes=2))
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), clock=lambda: NOW)
    job = InboxJob(services=services, client=WebClient(), request=row, worker_id="w1/1", now=NOW)
    at = NOW + timedelta(minutes=3)  # w1 was slow and silent: w2 takes the request over
    assert inbox.claim_requests(database, now=at, claim="w2/1", limit=1, stale_before=at - timedelta(minutes=2))
    with mock.patch("handlers.inbox.WebhookClient") as webhook, pytest.raises(ClaimLostError):
        job.respond_once(step="answer", text="...")
    webhook.assert_not_called()  # w2 answers; w1 sends nothing


def test_an_ephemeral_answer_under_the_claim_is_sent_once(database: Database) -> None:
    inbox.record_request(
        database,
        request_key="cmd:T2",
        kind="answer_command",
        payload={"response_url": "https://hooks.slack.invalid/commands/2"},
        user_id="U0NLUSER1",
        now=NOW,
    )
    [row] = inbox.claim_requests(database, now=NOW, claim="w1/1", limit=1, stale_before=NOW - timedelta(minutes=2))
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), clock=lambda: NOW)
    job = InboxJob(services=services, client=WebClient(), request=row, worker_id="w1/1", now=NOW)
    with mock.patch("handlers.inbox.WebhookClient") as webhook:
        webhook.return_value.send.return_value.status_code = 200
        job.respond_once(step="answer", text="...")
        job.respond_once(step="answer", text="...")
    assert webhook.return_value.send.call_count == 1
