"""Exactly once per channel per week: the database claim, posting part by part, resuming after a crash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web import SlackResponse

from digests import sender as sender_module
from digests.errors import PermanentPostError, RetryLaterError
from digests.model import SubscriptionView
from digests.schedule import STALE_AFTER
from digests.sender import SendStatus, collect_for
from handlers.blocks.digest import DigestLimits, build_digest
from handlers.digest_post import send_digest, send_due_digests, slack_post
from storage import digest_repo
from storage.db import Database
from storage.models import DigestRun, DigestRunStatus, DigestSubscription
from tests.digests.conftest import NOW, PERIOD, add_practice, blocks_json, seed_themes

SMALL = DigestLimits(practices=1000)  # every practice listed: enough text for several messages


class Crash(BaseException):
    """The process dies (not an ``Exception``: nothing in the sender may catch it)."""


class FakeSlack:
    def __init__(self, *, crash_after: int | None = None, error: Exception | None = None) -> None:
        self.posts: list[tuple[str, list[Block], str]] = []
        self.crash_after = crash_after
        self.error = error
        self.lock = threading.Lock()

    def post(self, channel: str, blocks: list[Block], text: str) -> str:
        with self.lock:
            if self.crash_after is not None and len(self.posts) >= self.crash_after:
                raise Crash
            if self.error is not None:
                raise self.error
            self.posts.append((channel, blocks, text))
            return f"1764000000.{len(self.posts):06d}"


@pytest.fixture
def other_database(database: Database) -> Iterator[Database]:
    """A second Database object (engine, pool) on the same database: another process, as far as it knows."""
    second = Database(database.url)
    yield second
    second.dispose()


def subscribe(database: Database, channel: str = "C0DIGEST1", **kw: object) -> None:
    values: dict[str, object] = {"weekday": 0, "hour": 9, "minute": 0, "themes": [], "language": "nl"}
    values.update(kw)
    with database.session() as s:
        s.add(DigestSubscription(channel_id=channel, **values))


def seed_busy_week(database: Database, practices: int = 120) -> None:
    with database.session() as s:
        seed_themes(s)
        for i in range(practices):
            add_practice(s, f"Praktijk {i:03d} " + "met een lange titel " * 8, url=f"https://example.org/p/{i}")


def run_of(database: Database, channel: str = "C0DIGEST1", period: str = PERIOD) -> DigestRun:
    with database.session() as s:
        run = digest_repo.get_digest_run(s, channel_id=channel, period=period)
        assert run is not None
        return run


# --- the claim ---------------------------------------------------------------------------------------------------


def test_claim_once_across_two_database_objects(database: Database, other_database: Database) -> None:
    with database.session() as s:
        first = digest_repo.claim_digest_run(s, channel_id="C0DIGEST1", period=PERIOD, worker_id="one", now=NOW)
        assert first is not None and first.status is DigestRunStatus.CLAIMED and first.claimed_by == "one"
    with other_database.session() as s:
        assert digest_repo.claim_digest_run(s, channel_id="C0DIGEST1", period=PERIOD, worker_id="two", now=NOW) is None
        other = digest_repo.claim_digest_run(s, channel_id="C0DIGEST1", period="2026-W49", worker_id="two", now=NOW)
        assert other is not None
        assert (
            digest_repo.claim_digest_run(s, channel_id="C0OTHER", period=PERIOD, worker_id="two", now=NOW) is not None
        )
    with database.session() as s:
        assert s.query(DigestRun).count() == 3


def test_concurrent_claims_exactly_one_wins(database: Database, other_database: Database) -> None:
    workers = 8
    barrier = threading.Barrier(workers)
    winners: list[str] = []
    errors: list[BaseException] = []

    def claim(index: int) -> None:
        db = database if index % 2 else other_database
        try:
            barrier.wait(timeout=10)
            with db.session() as s:
                run = digest_repo.claim_digest_run(
                    s, channel_id="C0RACE", period=PERIOD, worker_id=f"w{index}", now=NOW
                )
                if run is not None:
                    winners.append(run.claimed_by)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(winners) == 1
    assert run_of(database, "C0RACE").claimed_by == winners[0]


def test_concurrent_senders_post_once(database: Database, other_database: Database) -> None:
    seed_busy_week(database, practices=5)
    subscribe(database)
    slack = FakeSlack()
    barrier = threading.Barrier(4)
    statuses: list[SendStatus] = []

    def send(index: int) -> None:
        barrier.wait(timeout=10)
        result = send_digest(
            database if index % 2 else other_database,
            channel_id="C0DIGEST1",
            period=PERIOD,
            now=NOW,
            worker_id=f"w{index}",
            post=slack.post,
        )
        statuses.append(result.status)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [SendStatus.SENT, SendStatus.SKIPPED, SendStatus.SKIPPED, SendStatus.SKIPPED]
    assert len(slack.posts) == 1


# --- sending -------------------------------------------------------------------------------------------------------


def test_send_posts_every_part_and_marks_sent(database: Database) -> None:
    seed_busy_week(database)
    subscribe(database)
    slack = FakeSlack()
    result = send_digest(
        database,
        channel_id="C0DIGEST1",
        period=PERIOD,
        now=NOW,
        worker_id="w1",
        post=slack.post,
        limits=SMALL,
        clock=lambda: NOW,  # posted at once: sent then
    )
    assert result.status is SendStatus.SENT and result.parts_total >= 3
    assert result.parts_posted == result.parts_total == len(slack.posts)
    run = run_of(database)
    assert run.status is DigestRunStatus.SENT and run.sent_at == NOW
    assert run.parts_total == len(slack.posts)
    assert run.parts_sent == [f"1764000000.{i:06d}" for i in range(1, len(slack.posts) + 1)]
    assert all(channel == "C0DIGEST1" for channel, _, _ in slack.posts)
    assert slack.posts[0][2].startswith("Weekoverzicht wieweet 16 nov – 23 nov 2026 (deel 1/")
    posted = blocks_json([blocks for _, blocks, _ in slack.posts])
    assert all(f"Praktijk {i:03d}" in posted for i in range(120))
    # the same week again, from another worker: nothing is posted
    again = send_digest(database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w2", post=slack.post)
    assert again.status is SendStatus.SKIPPED and len(slack.posts) == result.parts_total


def test_resume_after_a_crash_posts_only_the_missing_parts(database: Database) -> None:
    seed_busy_week(database)
    subscribe(database)
    view = SubscriptionView(channel_id="C0DIGEST1")
    reference = build_digest(
        collect_for(database, view, PERIOD, now=NOW), subscription_view=view, period=PERIOD, now=NOW, limits=SMALL
    )
    assert len(reference) >= 3

    crashing = FakeSlack(crash_after=1)
    with pytest.raises(Crash):
        send_digest(
            database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w1", post=crashing.post, limits=SMALL
        )
    assert len(crashing.posts) == 1
    run = run_of(database)
    assert run.status is DigestRunStatus.CLAIMED and len(run.parts_sent) == 1 and run.parts_total == len(reference)

    rest = FakeSlack()
    # within the stale timeout the crashed worker might still be alive: nothing happens
    early = send_digest(
        database, channel_id="C0DIGEST1", period=PERIOD, now=NOW + timedelta(minutes=5), worker_id="w2", post=rest.post
    )
    assert early.status is SendStatus.SKIPPED and rest.posts == []
    # once stale, the run is due again and resumed from part 2
    later = NOW + timedelta(minutes=11)
    results = send_due_digests(database, now=later, worker_id="w2", post=rest.post, limits=SMALL)
    assert [(r.status, r.resumed, r.parts_posted) for r in results] == [(SendStatus.SENT, True, len(reference) - 1)]
    assert blocks_json([b for _, b, _ in rest.posts]) == blocks_json(reference[1:])
    run = run_of(database)
    assert run.status is DigestRunStatus.SENT and run.claimed_by == "w2" and len(run.parts_sent) == len(reference)
    assert run.parts_sent[0] == "1764000000.000001"  # the crashed worker's part, kept
    assert send_due_digests(database, now=later + timedelta(hours=1), worker_id="w3", post=rest.post) == []


def test_transient_error_keeps_the_claim_and_retries_after_the_timeout(database: Database) -> None:
    seed_busy_week(database, practices=3)
    subscribe(database)
    failing = FakeSlack(error=TimeoutError("slack is slow"))
    result = send_digest(database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w1", post=failing.post)
    assert result.status is SendStatus.RETRY and "slack is slow" in result.error
    run = run_of(database)
    assert run.status is DigestRunStatus.CLAIMED and "TimeoutError" in run.error
    ok = FakeSlack()
    retry = send_due_digests(database, now=NOW + timedelta(minutes=15), worker_id="w2", post=ok.post)
    assert [r.status for r in retry] == [SendStatus.SENT] and len(ok.posts) == 1
    assert run_of(database).error == ""


class RateLimitedSlack:
    """``chat.postMessage`` answering 429 with ``Retry-After: retry_after`` while ``limited``."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after, self.limited, self.posts = retry_after, True, 0

    def chat_postMessage(self, **_kwargs: object) -> dict[str, object]:
        if self.limited:
            data = {"ok": False, "error": "ratelimited"}
            headers = {"Retry-After": str(self.retry_after)}
            response = SlackResponse(
                client=None, http_verb="POST", api_url="", req_args={}, data=data, headers=headers, status_code=429
            )
            raise SlackApiError("ratelimited", response)
        self.posts += 1
        return {"ok": True, "ts": f"1764000000.{self.posts:06d}"}


@pytest.mark.parametrize("wait", [20 * 60, 90])  # longer than the stale timeout, and shorter
def test_a_rate_limited_digest_is_resumed_no_earlier_than_slack_asked_by_any_replica_and_posted_once(
    database: Database, other_database: Database, wait: int
) -> None:
    seed_busy_week(database, practices=3)
    subscribe(database)
    slack = RateLimitedSlack(wait)
    post = slack_post(slack)  # type: ignore[arg-type]
    first = send_due_digests(database, now=NOW, worker_id="w1", post=post)
    assert [r.status for r in first] == [SendStatus.RETRY] and "ratelimited" in first[0].error
    slack.limited = False
    asked = NOW + timedelta(seconds=wait)
    early = sorted({asked - timedelta(seconds=1), min(asked, NOW + STALE_AFTER + timedelta(seconds=1))})
    for at in early:  # the claim's stale time would have let a sender in here; Slack asked to wait longer
        if at >= asked:
            continue
        for db, worker in ((database, "w1"), (other_database, "w2")):  # this replica, and another one
            assert send_due_digests(db, now=at, worker_id=worker, post=post) == []
            skipped = send_digest(db, channel_id="C0DIGEST1", period=PERIOD, now=at, worker_id=worker, post=post)
            assert skipped.status is SendStatus.SKIPPED
    assert slack.posts == 0
    done = send_due_digests(other_database, now=asked + timedelta(seconds=1), worker_id="w2", post=post)
    assert [r.status for r in done] == [SendStatus.SENT] and slack.posts == 1
    run = run_of(database)
    assert run.status is DigestRunStatus.SENT and run.claimed_by == "w2" and run.error == ""
    for db, worker in ((database, "w1"), (other_database, "w3")):  # once per channel per week
        assert send_due_digests(db, now=asked + timedelta(hours=1), worker_id=worker, post=post) == []
    assert slack.posts == 1


class SlowThenLimitedSlack:
    """Each post takes ``spent`` on the injected clock; the ``limit_at``-th post (0-based) is refused with a
    Retry-After of ``wait`` seconds."""

    def __init__(self, clock: list[datetime], *, spent: timedelta, wait: int, limit_at: int) -> None:
        self.clock, self.spent, self.wait, self.limit_at, self.posts = clock, spent, wait, limit_at, 0

    def post(self, channel: str, blocks: list[Block], text: str) -> str:
        self.clock[0] += self.spent
        if self.posts == self.limit_at:
            self.limit_at = -1
            raise RetryLaterError(self.wait)
        self.posts += 1
        return f"1764000000.{self.posts:06d}"


def test_slacks_retry_after_is_counted_from_the_refusal_not_from_the_runs_start(
    database: Database, other_database: Database
) -> None:
    seed_busy_week(database)
    subscribe(database)
    clock = [NOW]
    slack = SlowThenLimitedSlack(clock, spent=timedelta(minutes=4), wait=20 * 60, limit_at=1)
    first = send_due_digests(database, now=NOW, worker_id="w1", post=slack.post, limits=SMALL, clock=lambda: clock[0])
    assert [r.status for r in first] == [SendStatus.RETRY] and first[0].parts_posted == 1
    refused_at = NOW + timedelta(minutes=8)  # one post and the refused second, four minutes each
    assert clock[0] == refused_at
    asked = refused_at + timedelta(seconds=20 * 60)
    for at in (NOW + timedelta(seconds=20 * 60, milliseconds=1), asked - timedelta(seconds=1)):
        assert send_due_digests(other_database, now=at, worker_id="w2", post=slack.post, limits=SMALL) == []
    assert slack.posts == 1
    done = send_due_digests(
        other_database, now=asked + timedelta(seconds=1), worker_id="w2", post=slack.post, limits=SMALL
    )
    assert [r.status for r in done] == [SendStatus.SENT] and done[0].resumed


def test_without_a_clock_the_retry_after_is_counted_from_the_run_start_plus_the_time_measured(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_busy_week(database, practices=3)
    subscribe(database)
    ticks = [100.0]  # the sender's monotonic reading: at the start, then seven minutes on when Slack refuses
    monkeypatch.setattr(sender_module, "monotonic", lambda: ticks[0])

    def refused(_channel: str, _blocks: list[Block], _text: str) -> str:
        ticks[0] += 7 * 60
        raise RetryLaterError(20 * 60)

    result = send_digest(database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w1", post=refused)
    assert result.status is SendStatus.RETRY
    assert run_of(database).claimed_at == NOW + timedelta(minutes=7, seconds=20 * 60) - STALE_AFTER


def test_permanent_error_marks_the_run_failed_for_the_week(database: Database) -> None:
    seed_busy_week(database, practices=3)
    subscribe(database)
    gone = FakeSlack(error=PermanentPostError("channel_not_found"))
    result = send_digest(database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="w1", post=gone.post)
    assert result.status is SendStatus.FAILED
    run = run_of(database)
    assert run.status is DigestRunStatus.FAILED and "channel_not_found" in run.error
    assert send_due_digests(database, now=NOW + timedelta(hours=2), worker_id="w2", post=FakeSlack().post) == []


def test_quiet_week_is_recorded_empty_unless_post_empty(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
    subscribe(database, "C0QUIET")
    subscribe(database, "C0ALWAYS", post_empty=True)
    slack = FakeSlack()
    results = {r.channel_id: r for r in send_due_digests(database, now=NOW, worker_id="w", post=slack.post)}
    assert results["C0QUIET"].status is SendStatus.EMPTY
    assert results["C0ALWAYS"].status is SendStatus.SENT
    assert [channel for channel, _, _ in slack.posts] == ["C0ALWAYS"]
    assert run_of(database, "C0QUIET").status is DigestRunStatus.EMPTY
    assert "Een rustige week" in blocks_json([slack.posts[0][1]])


def test_no_subscription_and_inactive_subscription(database: Database) -> None:
    subscribe(database, "C0OFF", active=False)
    slack = FakeSlack()
    for channel in ("C0NONE", "C0OFF"):
        result = send_digest(database, channel_id=channel, period=PERIOD, now=NOW, worker_id="w", post=slack.post)
        assert result.status is SendStatus.NO_SUBSCRIPTION
    assert slack.posts == []


def test_send_due_respects_themes_language_and_schedule(database: Database) -> None:
    seed_busy_week(database, practices=2)
    with database.session() as s:
        add_practice(s, "Klimaatpraktijk", themes=["klimaat"])
    subscribe(database, "C0WONEN02", themes=["wonen"])
    subscribe(database, "C0KLIMAAT", themes=["klimaat"], language="en")
    subscribe(database, "C0LATER", weekday=4, hour=16)
    slack = FakeSlack()
    results = send_due_digests(database, now=NOW, worker_id="w", post=slack.post)
    assert sorted((r.channel_id, r.status) for r in results) == [
        ("C0KLIMAAT", SendStatus.SENT),
        ("C0WONEN02", SendStatus.SENT),
    ]
    by_channel = {channel: blocks_json([blocks]) for channel, blocks, _ in slack.posts}
    assert "Klimaatpraktijk" not in by_channel["C0WONEN02"] and "Praktijk 000" in by_channel["C0WONEN02"]
    assert "Klimaatpraktijk" in by_channel["C0KLIMAAT"] and "Praktijk 000" not in by_channel["C0KLIMAAT"]
    assert "weekly digest" in by_channel["C0KLIMAAT"]
    assert send_due_digests(database, now=NOW + timedelta(minutes=1), worker_id="w", post=slack.post) == []


def test_lost_claim_stops_the_old_worker(database: Database) -> None:
    with database.session() as s:
        run = digest_repo.claim_digest_run(s, channel_id="C0X000001", period=PERIOD, worker_id="old", now=NOW)
        assert run is not None
        run_id = run.id
    with database.session() as s:
        assert not digest_repo.claim_stale_digest_run(
            s, run_id=run_id, previous_worker="old", worker_id="new", now=NOW, stale_before=NOW
        )  # not stale yet
        assert digest_repo.claim_stale_digest_run(
            s,
            run_id=run_id,
            previous_worker="old",
            worker_id="new",
            now=NOW + timedelta(minutes=11),
            stale_before=NOW + timedelta(minutes=1),
        )
    with database.session() as s:
        assert not digest_repo.update_digest_run_parts_sent(s, run_id=run_id, worker_id="old", parts_sent=["1.1"])
        assert digest_repo.update_digest_run_parts_sent(s, run_id=run_id, worker_id="new", parts_sent=["1.1"])
        assert not digest_repo.update_digest_run_finished(
            s, run_id=run_id, worker_id="old", status=DigestRunStatus.SENT, now=NOW
        )
