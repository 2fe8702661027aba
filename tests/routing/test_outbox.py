"""The outbox: claimed once across workers, marked sent or failed, deduplicated."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy import select

from bot.jobs import default_worker_id
from bot.outbox import FailOutcome, claim_outbox, mark_outbox_failed, mark_outbox_post_started, mark_outbox_sent
from bot.routing.policy import RoutingPolicy
from storage import outbox_repo as repo
from storage.db import Database
from storage.models import Answer, OutboxKind, OutboxMessage, Routing
from tests.routing.conftest import NOW, World, seed_housing

K = OutboxKind


def _messages(db: Database, n: int, now: datetime = NOW) -> list[int]:
    with db.session() as s:
        made = [
            repo.create_outbox_message(
                s,
                kind=K.ASKER_UPDATE,
                dedupe_key=f"test:{i}",
                now=now,
                payload={"i": i},
                recipient_slack_id=f"U{i:05d}",
            )
            for i in range(n)
        ]
        s.flush()
        return [m.id for m in made if m is not None]


def test_dedupe_key_writes_once(database: Database) -> None:
    with database.session() as s:
        first = repo.create_outbox_message(s, kind=K.TRIAGE, dedupe_key="same", now=NOW, payload={})
        again = repo.create_outbox_message(s, kind=K.TRIAGE, dedupe_key="same", now=NOW, payload={})
        assert first is not None and again is None
    with database.session() as s:
        assert repo.create_outbox_message(s, kind=K.TRIAGE, dedupe_key="same", now=NOW, payload={}) is None
        assert len(list(s.scalars(select(OutboxMessage)))) == 1


@pytest.mark.timeout(60)
def test_two_senders_claim_each_message_once(database: Database) -> None:
    ids = _messages(database, 50)
    other = Database(database.url)
    claimed: list[tuple[int, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(db: Database, worker: str) -> None:
        try:
            barrier.wait()
            while True:
                batch = claim_outbox(db, now=NOW, worker_id=worker, limit=3)
                if not batch:
                    return
                for message in batch:
                    with lock:
                        claimed.append((message.id, worker))
                    with db.session() as s:
                        assert mark_outbox_sent(s, message_id=message.id, ts=f"1.{message.id}", channel="D1", now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(db, w)) for db, w in ((database, "A"), (other, "B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    assert not errors, errors
    assert sorted(i for i, _ in claimed) == sorted(ids)
    with database.session() as s:
        assert all(m.sent_at == NOW and m.sent_ts == f"1.{m.id}" for m in s.scalars(select(OutboxMessage)))


def test_claim_skips_sent_claimed_and_backed_off_messages(database: Database) -> None:
    a, b, c = _messages(database, 3)
    first = claim_outbox(database, now=NOW, worker_id="w1", limit=1)
    assert [m.id for m in first] == [a]
    assert first[0].payload == {"i": 0} and first[0].recipient_slack_id == "U00000"
    assert [m.id for m in claim_outbox(database, now=NOW, worker_id="w2", limit=10)] == [b, c]
    assert claim_outbox(database, now=NOW, worker_id="w3", limit=10) == []  # all claimed
    with database.session() as s:
        assert mark_outbox_sent(s, message_id=a, ts="1.1", channel="D1", now=NOW)
        assert not mark_outbox_sent(s, message_id=a, ts="1.2", channel="D1", now=NOW)  # once
        mark_outbox_failed(s, message_id=b, error="ratelimited", now=NOW)
    # b is retried after the backoff; c's claim goes stale after 10 minutes
    assert [m.id for m in claim_outbox(database, now=NOW + timedelta(minutes=1), worker_id="w4", limit=10)] == [b]
    later = claim_outbox(database, now=NOW + timedelta(minutes=12), worker_id="w5", limit=10)
    assert [m.id for m in later] == [b, c]  # b's claim by w4 and c's by w2 are both stale now


def test_failures_give_up_after_max_attempts_or_when_permanent(database: Database) -> None:
    a, b = _messages(database, 2)
    policy = RoutingPolicy(max_attempts=2)
    with database.session() as s:
        assert mark_outbox_failed(s, message_id=a, error="x", now=NOW, policy=policy) is FailOutcome.RETRYING
        assert mark_outbox_failed(s, message_id=a, error="y", now=NOW, policy=policy) is FailOutcome.GIVEN_UP
        given_up = mark_outbox_failed(s, message_id=b, error="channel_not_found", now=NOW, permanent=True)
        assert given_up is FailOutcome.GIVEN_UP
        assert mark_outbox_failed(s, message_id=b, error="z", now=NOW, worker_id="w9") is None  # not its claim
    with database.session() as s:
        rows = {m.id: m for m in s.scalars(select(OutboxMessage))}
        assert rows[a].failed_at == NOW and rows[a].attempts == 2 and rows[a].last_error == "y"
        assert rows[b].failed_at == NOW and rows[b].attempts == 1
    assert claim_outbox(database, now=NOW + timedelta(days=1), worker_id="w", limit=10) == []


def test_sent_expert_request_and_answer_post_are_remembered(world: World) -> None:
    seed_housing(world)
    qid = world.ask()
    request = world.outbox(K.EXPERT_REQUEST)[0]
    with world.db.session() as s:
        mark_outbox_sent(s, message_id=request.id, ts="111.222", channel="D0BRAM", now=NOW)
    with world.db.session() as s:
        r = s.get(Routing, request.routing_id)
        assert r is not None and (r.dm_channel_id, r.dm_ts) == ("D0BRAM", "111.222")
        world.service.answer(s, routing_id=r.id, actor_slack_id=r.recipient_slack_id or "", text="Zo.", now=NOW)
    posted = world.outbox(K.QUESTION_ANSWERED, question_id=qid)[0]
    with world.db.session() as s:
        mark_outbox_sent(s, message_id=posted.id, ts="333.444", channel="C0WONEN01", now=NOW)
    with world.db.session() as s:
        answer = s.scalars(select(Answer)).one()
        assert (answer.posted_channel_id, answer.posted_ts) == ("C0WONEN01", "333.444")


def test_a_restarted_process_with_the_same_pid_does_not_hold_the_earlier_boots_claims(database: Database) -> None:
    [message] = _messages(database, 1)
    with mock.patch("os.getpid", return_value=7), mock.patch("socket.gethostname", return_value="h" * 80):
        earlier, now = default_worker_id(), default_worker_id()  # two boots of one container, pid 7 both times
    assert earlier != now and earlier.startswith("h" * 48 + ":7:") and len(earlier) <= 64
    assert [m.id for m in claim_outbox(database, now=NOW, worker_id=earlier, limit=1)] == [message]
    with database.session() as s:
        assert not mark_outbox_post_started(s, message_id=message, worker_id=now, now=NOW)  # not this boot's claim
        assert not mark_outbox_sent(s, message_id=message, ts="1.1", channel="D1", now=NOW, worker_id=now)
        assert mark_outbox_post_started(s, message_id=message, worker_id=earlier, now=NOW)
