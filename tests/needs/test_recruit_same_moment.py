"""Two staff members asking the same person about the same topic at the same moment: both find no DM queued yet
(on SQLite too: pysqlite reads outside a transaction until the first write), and the second one's insert meets the
first one's under the unique key (on SQLite once the first one's write lock is released). The second gets the
answer any ask of someone asked already gets ("asked before"), not a unique-key traceback; one DM is queued."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest

from storage import outbox_repo
from storage.models import OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_queued_label_gone import _rats


def test_two_asks_at_the_same_moment_queue_one_dm_and_both_answer(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None
    # each look for the DM under its key waits for the other ask's (a short while at most): both find none
    barrier = threading.Barrier(2, timeout=2)
    real = outbox_repo.get_outbox_message_keyed

    def looked_up(session: Any, *, dedupe_key: str) -> Any:
        found = real(session, dedupe_key=dedupe_key)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return found

    monkeypatch.setattr(outbox_repo, "get_outbox_message_keyed", looked_up)
    errors: list[BaseException] = []
    results: list[bool] = []

    def ask() -> None:
        try:
            with network.database.session() as session:
                [asked] = network.service.ask_to_add_expertise(
                    session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
                )
            results.append(asked.queued)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, f"a staff ask failed: {errors!r}"
    assert sorted(results) == [False, True]  # one asked, the other told it was asked before
    with network.database.session() as session:
        assert session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count() == 1
