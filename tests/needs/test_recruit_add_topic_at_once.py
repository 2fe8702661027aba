"""The person asked pressing "add to my profile" twice at once (two clicks, two devices): the second waits for the
first's change to their register row and then finds the topic there, so it is added and audited once (PostgreSQL: the
row's lock; SQLite: the database's write lock, taken before the row is read)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest

from bot.actors import Actor
from storage import register_repo
from storage.models import AuditLog, Expert, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_claims import _rats


def test_two_clicks_at_once_add_the_topic_once(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    topic_id = _rats(network)
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
        assert expert_id is not None
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.sent_at, message.sent_channel_id, message.sent_ts = NOW, "DAALST", "1700000000.000100"
    # both clicks read the profile before either changes it
    barrier = threading.Barrier(2, timeout=2)
    real = register_repo.get_expert_by_slack_id

    def read(session: Any, *, slack_user_id: str) -> Any:
        found = real(session, slack_user_id=slack_user_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return found

    monkeypatch.setattr(register_repo, "get_expert_by_slack_id", read)
    asked = Actor.slack("UAALST", is_staff=False)
    errors: list[BaseException] = []
    labels: list[str] = []

    def click() -> None:
        try:
            with network.database.session() as session:
                labels.append(network.service.add_topic_to_profile(session, actor=asked, topic_id=topic_id, now=NOW))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, f"a click failed: {errors!r}"
    assert len(labels) == 2 and labels[0] == labels[1]
    with network.database.session() as session:
        expertise = session.get(Expert, expert_id).expertise
        audits = session.query(AuditLog).filter_by(entity_type="expert", action="add_topic").count()
    assert expertise == ["begraafplaatsen", labels[0]] and audits == 1
