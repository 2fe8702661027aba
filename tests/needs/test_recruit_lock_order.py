"""Two staff asks naming the same people in opposite order, each queueing again DMs that were given up, take the rows'
locks in one order (by id, as the erasure does): the second waits for the first instead of deadlocking (PostgreSQL's
row locks), or instead of reading what the first is changing (SQLite's write lock, taken before the read), and both
succeed, each DM queued once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from storage import needs_repo, outbox_repo
from storage.models import OutboxKind, OutboxMessage, Visibility
from tests.lock_waits import WAIT, arrivals
from tests.needs.conftest import NOW, STAFF, Network, add_question


def _two_asked(network: Network) -> tuple[int, list[int]]:
    """A topic nobody covers, answered by two people who were both asked about it; both DMs given up."""
    with network.database.session() as session:
        for n, (asker, text, who) in enumerate(
            [
                ("UGENT", "Wie weet iets over rattenbestrijding in rioleringen?", "aalst"),
                ("UOOSTENDE", "Rattenbestrijding in rioleringen: wie heeft ervaring?", "kortrijk"),
                ("ULEUVEN", "rattenbestrijding in de riolering: ervaringen?", None),
            ]
        ):
            add_question(
                session,
                text,
                asker=asker,
                created_at=NOW - timedelta(days=5 - n),
                themes=["klimaat"],
                answered_at=NOW - timedelta(days=4 - n) if who else None,
                answerer=network.experts[who] if who else None,
                visibility=Visibility.PRIVATE if who else Visibility.PUBLIC,
            )
        network.service.update_topics(session, now=NOW)
        topic_id = next(t for t in needs_repo.list_need_topics(session) if "rattenbestrijding" in t.label.lower()).id
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        ids = [c.expert_id for c in plan.candidates if c.expert_id is not None and c.slack_user_id][:2]
        assert len(ids) == 2
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=ids, now=NOW)
    with network.database.session() as session:
        for m in session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST):
            m.failed_at, m.attempts = NOW, 5
    return topic_id, ids


def test_two_asks_in_opposite_order_do_not_deadlock(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    topic_id, ids = _two_asked(network)
    # each ask pauses once it holds its first row, until the other holds one too or waits for this one's lock (a
    # signal, not a timeout): locks taken in opposite orders would then wait on each other
    real = outbox_repo.get_outbox_message
    seen: dict[int, int] = {}

    def locking(session: Any, *, message_id: int, lock: bool = False) -> Any:
        found = real(session, message_id=message_id, lock=lock)
        me = threading.get_ident()
        if lock:
            seen[me] = seen.get(me, 0) + 1
            if seen[me] == 1:
                reached.arrived()
                reached.wait_for_another()
        return found

    monkeypatch.setattr(outbox_repo, "get_outbox_message", locking)
    errors: list[BaseException] = []
    results: list[list[bool]] = []

    def ask(order: list[int]) -> None:
        try:
            with network.database.session() as session:
                asked = network.service.ask_to_add_expertise(
                    session, actor=STAFF, topic_id=topic_id, expert_ids=order, now=NOW
                )
                results.append([r.queued for r in asked])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with arrivals(network.database.engine, table="outbox_messages") as reached:
        threads = [threading.Thread(target=ask, args=(order,)) for order in (ids, ids[::-1])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    assert not errors, f"a staff ask failed: {errors!r}"
    assert sorted(results) == [[False, False], [True, True]]  # queued again once, by the first
    with network.database.session() as session:
        rows = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).all()
        assert len(rows) == 2 and all(m.failed_at is None and m.sent_at is None for m in rows)


def test_the_answer_follows_the_order_asked_for(network: Network) -> None:
    topic_id, ids = _two_asked(network)
    with network.database.session() as session:
        slack_ids = {e.id: e.slack_user_id for e in network.experts.values()}
        asked = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=ids[::-1], now=NOW
        )
    assert [r.slack_user_id for r in asked] == [slack_ids[i] for i in ids[::-1]]
    assert [r.queued for r in asked] == [True, True]
