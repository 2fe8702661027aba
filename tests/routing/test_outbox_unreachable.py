"""The outbox sender and an expert who can never get the request's DM: which errors say so, and what happens when
moving on to the next expert fails (the failure stays recorded; the batch goes on)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.outbox import claim_outbox
from storage.models import OutboxKind, OutboxMessage, Routing, RoutingStatus
from tests.routing.conftest import NOW, World, seed_housing

LATER = NOW + timedelta(minutes=5)
R = RoutingStatus


def _claimed_request(world: World) -> OutboxMessage:
    claimed = claim_outbox(world.db, now=LATER, worker_id="w1")
    return next(m for m in claimed if m.kind is OutboxKind.EXPERT_REQUEST and m.routing_id is not None)


def _status(world: World, routing_id: int) -> R:
    with world.db.session() as s:
        routing = s.get(Routing, routing_id)
        assert routing is not None
        return routing.status


def _failure(world: World, message_id: int) -> tuple[str | None, int]:
    with world.db.session() as s:
        row = s.get(OutboxMessage, message_id)
        assert row is not None
        return row.last_error, row.attempts


@pytest.mark.parametrize("error", ["user_disabled", "cannot_dm_bot", "user_not_found"])
def test_a_recipient_who_can_never_get_the_dm_is_replaced_at_once(world: World, error: str) -> None:
    seed_housing(world)
    world.ask()
    message = _claimed_request(world)
    assert message.routing_id is not None
    world.unreachable_sender(now=LATER)._failed(message, error, permanent=True)
    assert _status(world, message.routing_id) is R.EXPIRED
    assert _failure(world, message.id)[0] == error


def test_account_inactive_is_the_bots_own_token_and_moves_nobody_on(world: World) -> None:
    """Slack says ``account_inactive`` of the bot's token (the app or workspace disabled, which an admin can undo):
    every DM fails so, and moving on would spend every open question's experts for nothing."""
    seed_housing(world)
    world.ask()
    message = _claimed_request(world)
    assert message.routing_id is not None
    world.unreachable_sender(now=LATER)._failed(message, "account_inactive", permanent=True)
    assert _status(world, message.routing_id) is R.ASKED  # still theirs; the timers decide as for any silence
    assert _failure(world, message.id)[0] == "account_inactive"


@pytest.mark.parametrize("error", ["user_disabled", "cannot_dm_bot"])
def test_when_moving_on_fails_the_failure_stays_recorded_and_nothing_raises(
    world: World, monkeypatch: pytest.MonkeyPatch, error: str
) -> None:
    """Moving on runs after the failure is recorded, in its own transaction: a lock timeout or a matcher error there
    neither rolls the failure record back (which would send the same message again and again, its attempts never
    counted) nor stops the batch."""
    seed_housing(world)
    world.ask()
    message = _claimed_request(world)
    assert message.routing_id is not None

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("lock timeout")

    monkeypatch.setattr(world.service, "recipient_unreachable", broken)
    monkeypatch.setattr(world.service, "person_deactivated", broken)  # user_disabled: the account deactivated
    world.unreachable_sender(now=LATER)._failed(message, error, permanent=True)  # does not raise
    recorded, attempts = _failure(world, message.id)
    assert recorded == error and attempts >= 1
    assert _status(world, message.routing_id) is R.ASKED  # not moved on: its timers will
