"""A long digest pass (300 channels, slow Slack, rate-limit waits) on two replicas: each channel is posted once.

A claim is stamped with the time it is made (the sender's clock), not the pass's start, and renewed before each
part is posted and as each part is recorded: another replica's pass finds it fresh while it is being posted and
leaves it alone. Only a sender that really stopped (its claim not renewed for ``STALE_AFTER``) is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from digests import sender
from digests.model import DigestData, SubscriptionView
from digests.schedule import STALE_AFTER
from digests.sender import SendResult, SendStatus
from handlers.digest_post import send_digest, send_due_digests
from storage.db import Database
from storage.models import DigestRunStatus
from tests.digests.conftest import NOW, PERIOD, add_practice, seed_themes
from tests.digests.test_sending import SMALL, Crash, FakeSlack, run_of, seed_busy_week, subscribe


def test_a_channel_claimed_late_in_a_long_pass_is_not_taken_over_by_another_replica(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk een", url="https://example.org/p/1")
    for n in (1, 2):
        subscribe(database, f"C0DIGEST{n}")
    clock = [NOW]
    posts: list[tuple[str, str]] = []
    replica_b: list[list[SendResult]] = []

    def post_b(channel: str, _blocks: list[Block], _text: str) -> str:
        posts.append(("B", channel))
        return f"2.{len(posts)}"

    def post_a(channel: str, _blocks: list[Block], _text: str) -> str:
        posts.append(("A", channel))
        if channel == "C0DIGEST1":
            clock[0] += timedelta(minutes=11)  # slow Slack, rate limits, 300 channels: A reaches channel 2 late
        elif not replica_b:  # replica B's pass starts while A posts channel 2
            replica_b.append(send_due_digests(database, now=clock[0], worker_id="B", post=post_b))
        return f"1.{len(posts)}"

    results = send_due_digests(database, now=NOW, worker_id="A", post=post_a, clock=lambda: clock[0])
    assert [r.status for r in results] == [SendStatus.SENT, SendStatus.SENT]
    assert replica_b == [[]]  # nothing due for B: channel 2's claim is fresh
    assert posts == [("A", "C0DIGEST1"), ("A", "C0DIGEST2")]
    assert run_of(database, "C0DIGEST2").claimed_by == "A"


def test_a_claim_is_renewed_as_parts_are_posted(database: Database) -> None:
    seed_busy_week(database)
    subscribe(database)
    clock = [NOW]
    posts: list[tuple[str, int]] = []
    replica_b: list[SendResult] = []
    late = NOW + STALE_AFTER + timedelta(minutes=5)

    def post_a(channel: str, _blocks: list[Block], _text: str) -> str:
        posts.append(("A", len(posts)))
        if clock[0] >= late and not replica_b:  # another replica's pass, long after A claimed the run
            replica_b.extend(send_due_digests(database, now=clock[0], worker_id="B", post=post_b))
            replica_b.append(
                send_digest(database, channel_id="C0DIGEST1", period=PERIOD, now=clock[0], worker_id="B", post=post_b)
            )
        clock[0] += timedelta(minutes=8)  # each part takes a while (rate limits, slow Slack)
        return f"1.{len(posts)}"

    def post_b(_channel: str, _blocks: list[Block], _text: str) -> str:
        posts.append(("B", len(posts)))
        return f"2.{len(posts)}"

    result = send_digest(
        database,
        channel_id="C0DIGEST1",
        period=PERIOD,
        now=NOW,
        worker_id="A",
        post=post_a,
        limits=SMALL,
        clock=lambda: clock[0],
    )
    parts = result.parts_total
    assert parts >= 3 and result.status is SendStatus.SENT and result.parts_posted == parts
    assert [r.status for r in replica_b] == [SendStatus.SKIPPED]  # B saw a fresh claim: not due, not taken
    assert [who for who, _ in posts] == ["A"] * parts
    run = run_of(database)
    assert run.status is DigestRunStatus.SENT and run.claimed_by == "A" and len(run.parts_sent) == parts


class WatchingOutlet:
    """Renders one message per digest and notes the run's claim time when it builds and when it posts."""

    def __init__(self, database: Database, clock: list[datetime]) -> None:
        self.database, self.clock, self.seen = database, clock, []

    def render(self, data: DigestData, view: SubscriptionView, *, period: str) -> list[str]:
        self.seen.append(("built", naive(run_of(self.database).claimed_at)))
        self.clock[0] += timedelta(minutes=3)  # building took a while
        return ["part 1"]

    def post(self, channel_id: str, message: str) -> str:
        self.seen.append(("posted", naive(run_of(self.database).claimed_at)))
        return "1.1"


def naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def test_a_claim_is_stamped_with_the_senders_clock_and_renewed_before_each_post(database: Database) -> None:
    seed_busy_week(database, practices=3)
    subscribe(database)
    start = NOW + timedelta(minutes=7)  # the pass began at NOW; this channel's turn came seven minutes later
    clock = [start]
    outlet = WatchingOutlet(database, clock)
    done = sender.send_digest(
        database, channel_id="C0DIGEST1", period=PERIOD, now=NOW, worker_id="A", outlet=outlet, clock=lambda: clock[0]
    )
    assert done.status is SendStatus.SENT
    assert outlet.seen == [("built", naive(start)), ("posted", naive(start + timedelta(minutes=3)))]


def test_a_sender_that_stopped_is_still_taken_over_once_its_claim_is_stale(database: Database) -> None:
    seed_busy_week(database)
    subscribe(database)
    crashed = FakeSlack(crash_after=2)
    with pytest.raises(Crash):  # the process dies after two parts
        send_digest(
            database,
            channel_id="C0DIGEST1",
            period=PERIOD,
            now=NOW,
            worker_id="A",
            post=crashed.post,
            limits=SMALL,
            clock=lambda: NOW,
        )
    rest = FakeSlack()
    assert send_due_digests(database, now=NOW + STALE_AFTER - timedelta(seconds=1), worker_id="B", post=rest.post) == []
    later = NOW + STALE_AFTER + timedelta(seconds=1)
    [resumed] = send_due_digests(database, now=later, worker_id="B", post=rest.post, limits=SMALL)
    assert resumed.status is SendStatus.SENT and resumed.resumed
    assert len(rest.posts) == resumed.parts_total - 2 and resumed.parts_total >= 3
    assert run_of(database).claimed_by == "B"


def test_sent_at_is_when_the_channels_digest_was_posted_not_the_passs_start(database: Database) -> None:
    with database.session() as s:
        seed_themes(s)
        add_practice(s, "Praktijk een", url="https://example.org/p/1")
    for n in (1, 2):
        subscribe(database, f"C0DIGEST{n}")
    clock = [NOW]

    def post(channel: str, _blocks: list[Block], _text: str) -> str:
        clock[0] += timedelta(minutes=7)  # slow Slack, rate limits: each channel takes a while
        return f"1.{channel}"

    results = send_due_digests(database, now=NOW, worker_id="A", post=post, clock=lambda: clock[0])
    assert [r.status for r in results] == [SendStatus.SENT, SendStatus.SENT]
    sent = [run_of(database, f"C0DIGEST{n}").sent_at for n in (1, 2)]
    assert [at.replace(tzinfo=UTC) if at and at.tzinfo is None else at for at in sent] == [
        NOW + timedelta(minutes=7),
        NOW + timedelta(minutes=14),
    ]
