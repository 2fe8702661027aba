"""A recruiting ask is one unit of work: when it fails after queueing its DM — its audit row cannot be written, or a
later step of the same request fails — nothing of it stays: no DM queued (nothing goes out), no audit row, and asking
again queues the DM (not "asked before"). On SQLite too, where a savepoint that opens the transaction would commit
on its release (review45 finding 1)."""

from __future__ import annotations

import pytest

from storage import register_repo
from storage.models import AuditLog, OutboxKind, OutboxMessage
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_claims import _rats


class _LaterStepFailed(RuntimeError):
    pass


def _candidate(network: Network, topic_id: int) -> int:
    with network.database.session() as session:
        plan = network.service.recruiting(session, actor=STAFF, topic_id=topic_id, now=NOW)
        expert_id = plan.candidates[0].expert_id
    assert expert_id is not None
    return expert_id


def _left(network: Network) -> tuple[int, int]:
    with network.database.session() as session:
        dms = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).count()
        audits = session.query(AuditLog).filter_by(action="recruit").count()
    return dms, audits


def _ask_again(network: Network, topic_id: int, expert_id: int) -> bool:
    with network.database.session() as session:
        [asked] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
    return asked.queued


def test_an_ask_whose_audit_row_fails_queues_nothing(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    topic_id = _rats(network)
    expert_id = _candidate(network, topic_id)
    real = register_repo.create_audit_log

    def audit_fails(*args: object, **kwargs: object) -> None:
        raise _LaterStepFailed("the audit row cannot be written")

    monkeypatch.setattr(register_repo, "create_audit_log", audit_fails)
    with pytest.raises(_LaterStepFailed), network.database.session() as session:
        network.service.ask_to_add_expertise(session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW)
    assert _left(network) == (0, 0), network.database.dialect
    monkeypatch.setattr(register_repo, "create_audit_log", real)
    assert _ask_again(network, topic_id, expert_id) is True  # not "asked before"
    assert _left(network) == (1, 1)


def test_a_request_failing_after_the_ask_leaves_no_dm_and_no_audit_row(network: Network) -> None:
    topic_id = _rats(network)
    expert_id = _candidate(network, topic_id)
    with pytest.raises(_LaterStepFailed), network.database.session() as session:
        [asked] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
        assert asked.queued
        raise _LaterStepFailed("a later step of the same request fails")
    assert _left(network) == (0, 0), network.database.dialect
    assert _ask_again(network, topic_id, expert_id) is True
    assert _left(network) == (1, 1)
