"""The inbox's core: a request is recorded once, claimed by one worker, taken back from dead ones; ``once``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from slack_sdk import WebClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot import inbox
from bot.config import Settings
from bot.knowledge import KnowledgeBase
from handlers import inbox as handlers_inbox
from handlers import inbox_job as handlers_inbox_job
from handlers.inbox import MAX_HOLD, STALE_AFTER, ClaimLostError, InboxJob, InboxWorker, Kind
from handlers.recorded import SUBMISSION_KIND
from handlers.services import Services
from storage import inbox_repo
from storage.db import WORKER_LOCK_TIMEOUT_MS, Database, bounded_waits
from storage.models import ProcessedEvent
from tests.clock import Clock

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


def test_an_ephemeral_answer_is_not_sent_once_the_claim_was_taken_over(
    database: Database, wall: Clock[datetime]
) -> None:
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
    with mock.patch("handlers.inbox_job.WebhookClient") as webhook, pytest.raises(ClaimLostError):
        job.respond_once(step="answer", text="...")
    webhook.assert_not_called()  # w2 answers; w1 sends nothing


def test_an_ephemeral_answer_under_the_claim_is_sent_once(database: Database, wall: Clock[datetime]) -> None:
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
    with mock.patch("handlers.inbox_job.WebhookClient") as webhook:
        webhook.return_value.send.return_value.status_code = 200
        job.respond_once(step="answer", text="...")
        job.respond_once(step="answer", text="...")
    assert webhook.return_value.send.call_count == 1


# --- the worker's heartbeat: a step longer than the claim's lease is not taken over; a dead worker's request is ---


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Clock[datetime]:
    """The wall clock the worker and its jobs read (``handlers.inbox_job.wall_clock``), moved by the test."""
    clock = Clock(NOW)
    monkeypatch.setattr(handlers_inbox, "wall_clock", clock)
    monkeypatch.setattr(handlers_inbox_job, "wall_clock", clock)
    return clock


class SlowKind:
    """An inbox kind whose one step blocks until released (a slow Slack call, a long search); counts its runs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.runs: list[str] = []

    def handle(self, job: InboxJob) -> None:
        self.runs.append(job.worker_id)
        self.entered.set()
        assert self.release.wait(timeout=30)


@pytest.fixture
def slow() -> Iterator[SlowKind]:
    kind = SlowKind()
    with mock.patch.dict(handlers_inbox.KINDS, {"test_slow": Kind(handle=kind.handle, tell=lambda job, text: None)}):
        yield kind
        kind.release.set()


def worker(database: Database, name: str, **options: Any) -> InboxWorker:
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), clock=lambda: NOW)
    return InboxWorker(services, WebClient(), threads=2, worker_id=f"{name}:1:abc", **options)


def record_slow(database: Database) -> None:
    assert inbox.record_request(database, request_key="slow:1", kind="test_slow", payload={}, user_id=None, now=NOW)


def state_of(database: Database) -> tuple[str | None, datetime | None]:
    with database.inbox_session() as s:
        row = inbox_repo.get_inbox_request(s, request_key="slow:1")
        assert row is not None
        return row.claimed_by, row.done_at


@pytest.mark.timeout(60)
def test_a_step_longer_than_the_lease_is_kept_alive_by_the_heartbeat_and_runs_once(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    first, second = worker(database, "hostA"), worker(database, "hostB")
    assert first.drain() == 1
    assert slow.entered.wait(timeout=30)
    for _ in range(4):  # the step takes 6 minutes, three times the lease; the heartbeat beats every 90 s
        wall.now += timedelta(seconds=90)
        assert first.beat() == 1
        wall.now += timedelta(seconds=90)
        assert second.drain() == 0  # 3 min after the claim, 90 s after the last beat: not stale, not taken over
    slow.release.set()
    first.pool.shutdown(wait=True)
    claimed_by, done_at = state_of(database)
    assert slow.runs == ["hostA:1:abc/1"] and claimed_by is None and done_at is not None  # run once, by its worker
    assert second.drain() == 0
    second.pool.shutdown(wait=True)


@pytest.mark.timeout(60)
def test_the_heartbeat_thread_refreshes_the_claims_while_the_step_runs(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    first = worker(database, "hostA", heartbeat_seconds=0.02, poll_seconds=0.02).start()
    try:
        assert slow.entered.wait(timeout=30)
        wall.now += timedelta(seconds=90)
        deadline = time.monotonic() + 30
        while state_of(database)[0] is not None:  # beaten at the new time by the worker's own thread
            with database.inbox_session() as s:
                row = inbox_repo.get_inbox_request(s, request_key="slow:1")
                assert row is not None and row.claimed_at is not None
                if row.claimed_at.replace(tzinfo=UTC) == wall.now:
                    break
            assert time.monotonic() < deadline, "the heartbeat did not refresh the claim"
            time.sleep(0.02)
        wall.now += timedelta(seconds=90)
        assert worker(database, "hostB").drain() == 0
    finally:
        slow.release.set()
        first.shutdown()
    assert slow.runs == ["hostA:1:abc/1"]


@pytest.mark.timeout(60)
def test_a_dead_workers_request_is_still_taken_over_once_stale(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    # claimed by a worker that died right after (no heartbeat beats for it any more)
    assert inbox.claim_requests(database, now=NOW, claim="hostA:1:abc/1", limit=1, stale_before=NOW - STALE_AFTER)
    second = worker(database, "hostB")
    wall.now += STALE_AFTER - timedelta(seconds=1)
    assert second.drain() == 0  # not yet stale
    wall.now += timedelta(seconds=2)
    slow.release.set()
    assert second.drain() == 1
    second.pool.shutdown(wait=True)
    assert [run.split("/")[0] for run in slow.runs] == ["hostB:1:abc"] and state_of(database)[1] is not None


@pytest.mark.timeout(60)
def test_a_hung_step_is_no_longer_kept_alive_after_the_longest_hold(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    first, second = worker(database, "hostA"), worker(database, "hostB")
    assert first.drain() == 1 and slow.entered.wait(timeout=30)
    wall.now += MAX_HOLD + timedelta(seconds=1)
    assert first.beat() == 0  # hung for longer than any step may take: let go
    wall.now += STALE_AFTER + timedelta(seconds=1)
    assert second.drain() == 1
    slow.release.set()
    second.pool.shutdown(wait=True)
    first.pool.shutdown(wait=True)
    assert slow.runs == ["hostA:1:abc/1", "hostB:1:abc/1"]  # taken over; the hung worker's late finish is refused
    assert state_of(database)[1] is not None


@pytest.mark.timeout(60)
def test_a_worker_never_takes_over_its_own_running_request_after_a_pause(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    only = worker(database, "hostA")
    assert only.drain() == 1 and slow.entered.wait(timeout=30)
    wall.now += STALE_AFTER + timedelta(minutes=1)  # the process was paused: no beat for longer than the lease
    assert only.drain() == 0  # its own running request is not claimed again under a new token
    assert state_of(database)[0] == "hostA:1:abc/1"
    slow.release.set()
    only.pool.shutdown(wait=True)
    claimed_by, done_at = state_of(database)
    assert slow.runs == ["hostA:1:abc/1"] and claimed_by is None and done_at is not None  # finished by its run


@pytest.mark.timeout(60)
def test_a_hung_request_is_given_back_and_run_again_by_the_same_worker(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    only = worker(database, "hostA")
    assert only.drain() == 1 and slow.entered.wait(timeout=30)
    wall.now += MAX_HOLD + timedelta(seconds=1)
    assert only.beat() == 0  # hung: its claim is given back
    assert state_of(database)[0] is None
    slow.release.set()  # the hung thread wakes up too: its finish is refused (its claim was given back)
    assert only.drain() == 0  # the give-back counted as a failed attempt: retried after its backoff …
    wall.now += handlers_inbox.backoff(1)
    assert only.drain() == 1  # … run again, in a fresh thread, under a new claim
    only.pool.shutdown(wait=True)
    first, again = slow.runs  # twice, by this worker: the second time under a claim of its own
    assert first == "hostA:1:abc/1" and again.startswith("hostA:1:abc/") and again != first
    claimed_by, done_at = state_of(database)
    assert claimed_by is None and done_at is not None


@pytest.mark.timeout(60)
def test_the_heartbeat_beats_on_until_the_running_requests_have_finished_at_shutdown(
    database: Database, wall: Clock[datetime], slow: SlowKind
) -> None:
    record_slow(database)
    only = worker(database, "hostA", heartbeat_seconds=0.02, poll_seconds=0.02).start()
    assert slow.entered.wait(timeout=30)
    stopping = threading.Thread(target=only.shutdown)
    stopping.start()
    try:
        assert only._stop.wait(timeout=30)
        wall.now += timedelta(seconds=90)
        deadline = time.monotonic() + 30
        while True:  # the claim is still refreshed while shutdown waits for the step
            with database.inbox_session() as s:
                row = inbox_repo.get_inbox_request(s, request_key="slow:1")
                assert row is not None and row.claimed_at is not None
                if row.claimed_at.replace(tzinfo=UTC) == wall.now:
                    break
            assert time.monotonic() < deadline, "the heartbeat stopped before the running request finished"
            time.sleep(0.02)
    finally:
        slow.release.set()
        stopping.join(timeout=30)
    assert not only._heart.is_alive() and state_of(database)[1] is not None


class HangingKind:
    """An inbox kind whose every run hangs until the test lets that run go (a Slack call or a lock that never
    answers); records the runs and what the user is told."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.runs: list[threading.Event] = []
        self.told: list[str] = []

    def handle(self, job: InboxJob) -> None:
        run = threading.Event()
        self.runs.append(run)
        self.entered.release()
        assert run.wait(timeout=30)

    def tell(self, job: InboxJob, text: str) -> None:
        self.told.append(text)


@pytest.fixture
def hanging() -> Iterator[HangingKind]:
    kind = HangingKind()
    with mock.patch.dict(handlers_inbox.KINDS, {"test_hang": Kind(handle=kind.handle, tell=kind.tell)}):
        yield kind
        for run in kind.runs:
            run.set()


def record_hanging(database: Database, n: int = 1) -> None:
    for i in range(n):
        inbox.record_request(database, request_key=f"hang:{i}", kind="test_hang", payload={}, user_id=None, now=NOW)


@pytest.mark.timeout(60)
def test_a_request_that_hangs_on_every_attempt_is_given_up_and_its_user_told_once(
    database: Database, wall: Clock[datetime], hanging: HangingKind
) -> None:
    """Review of issue 12: a give-back counts as a failed attempt (with its backoff), so a request that hangs
    every time ends — given up, the user told once — instead of hanging a worker thread after another forever."""
    record_hanging(database)
    only = worker(database, "hostA")
    for attempt in range(1, handlers_inbox.MAX_ATTEMPTS + 1):
        assert only.drain() == 1 and hanging.entered.acquire(timeout=30)
        wall.now += MAX_HOLD + timedelta(seconds=1)
        assert only.beat() == 0  # given back …
        hanging.runs[-1].set()  # (the hung thread ends at last: its finish is refused)
        assert only.drain() == 0  # … not at once: after its backoff
        wall.now += handlers_inbox.backoff(attempt)
    assert only.drain() == 1  # its attempts are spent: not run again, given up
    only.pool.shutdown(wait=True)
    assert len(hanging.runs) == handlers_inbox.MAX_ATTEMPTS and len(hanging.told) == 1
    with database.inbox_session() as s:
        row = inbox_repo.get_inbox_request(s, request_key="hang:0")
        assert row is not None and row.failed_at is not None and row.last_error.startswith(handlers_inbox.HUNG)
    wall.now += timedelta(hours=1)
    assert only.drain() == 0


@pytest.mark.timeout(60)
def test_a_hung_thread_no_longer_takes_a_place_of_the_worker(
    database: Database, wall: Clock[datetime], hanging: HangingKind
) -> None:
    """A given-back request's thread that still hangs is not counted as running: the worker keeps its full
    number of threads for the other requests (spare pool threads stand in for up to that many hung ones)."""
    record_hanging(database)
    only = worker(database, "hostA")  # 2 threads
    assert only.drain() == 1 and hanging.entered.acquire(timeout=30)
    wall.now += MAX_HOLD + timedelta(seconds=1)
    assert only.beat() == 0  # given back; its thread hangs on
    inbox.record_request(database, request_key="hang:a", kind="test_hang", payload={}, user_id=None, now=NOW)
    inbox.record_request(database, request_key="hang:b", kind="test_hang", payload={}, user_id=None, now=NOW)
    assert only.drain() == 2  # two new ones run beside the hung thread
    assert hanging.entered.acquire(timeout=30) and hanging.entered.acquire(timeout=30)
    for run in hanging.runs:
        run.set()
    only.pool.shutdown(wait=True)


@pytest.mark.timeout(60)
def test_a_workers_transaction_waits_for_a_lock_for_a_bounded_time_on_postgresql(database: Database) -> None:
    """PostgreSQL: the inbox worker's transactions get a ``lock_timeout`` (and an idle-in-transaction timeout), so
    a lock held elsewhere fails the attempt (retried with a backoff) instead of holding the thread forever."""
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL's lock_timeout")
    with bounded_waits(), database.session() as s:
        assert s.execute(text("SHOW lock_timeout")).scalar() == f"{WORKER_LOCK_TIMEOUT_MS // 1000}s"
        assert s.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "5min"
    with database.session() as s:  # other transactions are not bound (the pooled connection was not changed)
        assert s.execute(text("SHOW lock_timeout")).scalar() == "0"
    holder = database.engine.connect()
    try:
        holder.execute(text("LOCK TABLE processed_events IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        with (
            pytest.raises(OperationalError, match="lock timeout"),
            bounded_waits(lock_timeout_ms=300),
            database.session() as s,
        ):
            s.execute(text("SELECT count(*) FROM processed_events")).scalar()
        assert time.monotonic() - started < 10
    finally:
        holder.rollback()
        holder.close()


# --- a response_url lives 30 minutes and takes 5 posts: later, the answer goes by DM -------------------------------


def command_job(database: Database, key: str) -> InboxJob:
    inbox.record_request(
        database,
        request_key=key,
        kind="answer_command",
        payload={"response_url": f"https://hooks.slack.invalid/commands/{key}"},
        user_id="U0NLUSER1",
        now=NOW,
    )
    [row] = inbox.claim_requests(database, now=NOW, claim="w1/1", limit=1, stale_before=NOW - STALE_AFTER)
    services = Services(settings=Settings(), db=database, knowledge=KnowledgeBase(database), clock=lambda: NOW)
    client = mock.MagicMock(spec=WebClient)
    client.conversations_open.return_value = {"channel": {"id": "D0NLUSER1"}}
    client.chat_postMessage.return_value = {"channel": "D0NLUSER1", "ts": "1700000000.000200"}
    return InboxJob(services=services, client=client, request=row, worker_id="w1/1", now=NOW)


def test_a_request_answered_after_its_response_url_expired_is_answered_by_dm(
    database: Database, wall: Clock[datetime]
) -> None:
    job = command_job(database, "cmd:T3")
    wall.now = NOW + timedelta(minutes=40)  # answered after an outage; its claim was refreshed meanwhile
    with mock.patch("handlers.inbox_job.WebhookClient") as webhook:
        job.respond_once(step="answer", text="het antwoord")
        job.respond_once(step="answer", text="het antwoord")
    webhook.assert_not_called()  # Slack would answer 404 expired_url
    assert job.client.chat_postMessage.call_count == 1  # type: ignore[attr-defined]
    posted = job.client.chat_postMessage.call_args.kwargs  # type: ignore[attr-defined]
    assert posted["channel"] == "D0NLUSER1" and posted["text"] == "het antwoord"
    assert posted["metadata"]["event_payload"] == {"request": "cmd:T3", "step": "respond:answer"}  # found after a crash


@pytest.mark.parametrize("error", ["used_url", "expired_url"])
def test_a_response_url_slack_refuses_falls_back_to_a_dm(database: Database, wall: Clock[datetime], error: str) -> None:
    job = command_job(database, f"cmd:T4{error}")
    with mock.patch("handlers.inbox_job.WebhookClient") as webhook:
        webhook.return_value.send.return_value.status_code = 404
        webhook.return_value.send.return_value.body = error
        job.respond_once(step="answer", text="het antwoord")
        job.respond_once(step="why", text="waarom privé")  # the URL is known gone: not tried again
    assert webhook.return_value.send.call_count == 1
    texts = [c.kwargs["text"] for c in job.client.chat_postMessage.call_args_list]  # type: ignore[attr-defined]
    assert texts == ["het antwoord", "waarom privé"]


def test_one_users_submissions_are_claimed_in_order(database: Database) -> None:
    """Issue 12 review: a user's later modal submission (a profile edit) is not started while an earlier one of
    theirs is unfinished — running on another thread or waiting for its retry — so the earlier one's retry cannot
    overwrite it. Other users' submissions, and other kinds, are not held up."""
    kind = SUBMISSION_KIND
    assert handlers_inbox.KINDS[kind].in_order  # registered so by the listener module
    for key, user in (("view:V1", "U0ONE"), ("view:V2", "U0ONE"), ("view:V3", "U0TWO")):
        inbox.record_request(database, request_key=key, kind=kind, payload={}, user_id=user, now=NOW)
    record(database, "msg:C1:1.0", user="U0ONE")  # another kind: not ordered with the submissions
    stale = NOW - timedelta(minutes=2)
    ordered = [kind]
    first = inbox.claim_requests(database, now=NOW, claim="w/1", limit=10, stale_before=stale, in_order=ordered)
    assert [r.request_key for r in first] == ["view:V1", "view:V3", "msg:C1:1.0"]  # V2 waits for V1
    earlier = next(r for r in first if r.request_key == "view:V1")
    later = NOW + timedelta(seconds=3)
    assert inbox.mark_failed(database, request_id=earlier.id, claim="w/1", error="x", retry_at=later, now=NOW)
    assert inbox.claim_requests(database, now=NOW, claim="w/2", limit=10, stale_before=stale, in_order=ordered) == []
    retried = inbox.claim_requests(database, now=later, claim="w/3", limit=10, stale_before=stale, in_order=ordered)
    assert [r.request_key for r in retried] == ["view:V1"]  # the earlier one's retry first, still alone
    assert inbox.mark_done(database, request_id=earlier.id, claim="w/3", channel_id=None, ts=None, now=later)
    after = inbox.claim_requests(database, now=later, claim="w/4", limit=10, stale_before=stale, in_order=ordered)
    assert [r.request_key for r in after] == ["view:V2"]  # now its turn


@pytest.mark.timeout(60)
def test_a_users_later_submission_is_never_claimed_while_an_earlier_one_is_being_recorded(database: Database) -> None:
    """Review of issue 12: on PostgreSQL ids come from a sequence at insert, so a later submission could commit
    (and be claimed) while an earlier one, with a lower id, was still being recorded. One user's requests of a kind
    are recorded one at a time, so their ids follow their commit order."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite serialises the inbox file's writers: ids follow the commit order by construction")
    kind, user, stale = SUBMISSION_KIND, "U0ONE", NOW - timedelta(minutes=2)
    earlier = database.inbox_sessions()
    try:
        assert inbox_repo.create_inbox_request(
            earlier, request_key="view:V1", kind=kind, payload={}, user_slack_id=user, now=NOW
        )
        started, recorded = threading.Event(), threading.Event()

        def record_later() -> None:
            started.set()
            inbox.record_request(database, request_key="view:V2", kind=kind, payload={}, user_id=user, now=NOW)
            recorded.set()

        later = threading.Thread(target=record_later)
        later.start()
        assert started.wait(timeout=10)
        time.sleep(0.5)  # the later one's record, had it not waited, is committed by now
        claimed = inbox.claim_requests(database, now=NOW, claim="w/1", limit=5, stale_before=stale, in_order=[kind])
        assert claimed == []  # not the later one while the earlier one is not yet recorded
        earlier.commit()
    finally:
        earlier.close()
    later.join(timeout=30)
    assert recorded.is_set()
    first = inbox.claim_requests(database, now=NOW, claim="w/2", limit=5, stale_before=stale, in_order=[kind])
    assert [r.request_key for r in first] == ["view:V1"]  # the earlier one first; the later one waits for it


def test_a_forget_me_request_given_up_after_its_erasure_no_longer_names_the_person(
    database: Database, wall: Clock[datetime]
) -> None:
    """A "forget me" request whose erasure committed but whose confirmation Slack kept refusing ends given up: its
    row must not keep the erased person's Slack id (a request that erased nobody keeps its user, for the log)."""
    told: list[str] = []

    def erase_then_fail(job: InboxJob) -> None:
        job.save(confirm=[{"kind": handlers_inbox_job.ERASURE}])  # the erasure committed; its confirmation is pending
        raise RuntimeError("Slack keeps failing")

    def fail(job: InboxJob) -> None:
        raise RuntimeError("Slack keeps failing")

    kinds = {
        "test_erase": Kind(handle=erase_then_fail, tell=lambda job, text: told.append(text)),
        "test_fail": Kind(handle=fail, tell=lambda job, text: told.append(text)),
    }
    with mock.patch.dict(handlers_inbox.KINDS, kinds):
        for key, kind in (("erase:1", "test_erase"), ("fail:1", "test_fail")):
            assert inbox.record_request(database, request_key=key, kind=kind, payload={}, user_id="U0GONE01", now=NOW)
        only = worker(database, "hostA")
        for attempt in range(1, handlers_inbox.MAX_ATTEMPTS + 1):
            token = f"hostA:1:abc/{attempt}"
            rows = inbox.claim_requests(
                database, now=wall.now, claim=token, limit=5, stale_before=wall.now - STALE_AFTER
            )
            assert len(rows) == 2
            for row in rows:
                only.process(row, claim=token)
            wall.now += handlers_inbox.backoff(attempt) + timedelta(seconds=1)
    assert len(told) == 2  # each given up, its user told once
    with database.inbox_session() as s:
        erased = inbox_repo.get_inbox_request(s, request_key="erase:1")
        failed = inbox_repo.get_inbox_request(s, request_key="fail:1")
        assert erased is not None and erased.failed_at is not None and erased.user_slack_id is None
        assert failed is not None and failed.failed_at is not None and failed.user_slack_id == "U0GONE01"


class StoresText:
    """An inbox kind that stores its payload's text (any way a NUL could still get in); records what it tells."""

    def __init__(self) -> None:
        self.runs = 0
        self.told: list[str] = []

    def handle(self, job: InboxJob) -> None:
        self.runs += 1
        with job.services.db.session() as s:
            s.execute(text("SELECT CAST(:t AS TEXT)"), {"t": str(job.payload["text"])})

    def tell(self, job: InboxJob, text: str) -> None:
        self.told.append(text)


def test_a_nul_the_database_refuses_is_told_once_and_not_retried(database: Database, wall: Clock) -> None:
    """PostgreSQL refuses U+0000 in text on every attempt: the user gets one clear message at once, not "try again
    later" after five retries. (SQLite stores it: the request is simply done.)"""
    kind = StoresText()
    with mock.patch.dict(handlers_inbox.KINDS, {"test_text": Kind(handle=kind.handle, tell=kind.tell)}):
        inbox.record_request(
            database,
            request_key="nul:1",
            kind="test_text",
            payload={"text": "leegstands\x00heffing"},
            user_id=None,
            now=NOW,
        )
        only = worker(database, "hostA")
        assert only.drain() == 1
        only.pool.shutdown(wait=True)
        wall.now += timedelta(hours=1)
        assert only.drain() == 0  # finished: nothing left to retry
    with database.inbox_session() as s:
        row = inbox_repo.get_inbox_request(s, request_key="nul:1")
        assert row is not None and row.done_at is not None and row.failed_at is None
    assert kind.runs == 1
    if database.engine.dialect.name == "postgresql":
        assert kind.told == [
            "Je tekst bevat een onzichtbaar stuurteken (U+0000) dat niet bewaard kan worden. Typ de tekst opnieuw in "
            "plaats van hem te plakken, en probeer het nog eens."
        ]
    else:
        assert kind.told == []
