"""Routing's outbox keys are built and recognised by one pair of functions each (``bot.routing.keys``): the keys the
routing stores are the ones its readers find. Whether staff were told that an expert was marked away (for the
"available again" notice) is read from those keys: a key built one way and looked for another would silently stop
that notice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.routing.keys import marked_away_cause, marked_away_key_prefix, routing_key, routing_key_prefix
from storage import outbox_repo
from storage.models import Expert, OutboxKind, OutboxMessage
from tests.routing.conftest import NOW, World, seed_housing

LATER = NOW + timedelta(hours=1)


def test_a_marked_away_key_is_recognised_as_its_experts_and_no_one_elses() -> None:
    for occasion in ("r7", "q42"):
        for target in ("C0TRIAGE1", "staff"):
            key = routing_key(OutboxKind.DELIVERY_FAILED, marked_away_cause(1, occasion), target)
            assert key.startswith(marked_away_key_prefix(1))
            assert not key.startswith(marked_away_key_prefix(12)) and not key.startswith(marked_away_key_prefix(2))
            other = routing_key(OutboxKind.DELIVERY_FAILED, marked_away_cause(12, occasion), target)
            assert not other.startswith(marked_away_key_prefix(1))
            assert not routing_key(OutboxKind.DELIVERY_FAILED, f"e{occasion}", target).startswith(
                marked_away_key_prefix(1)
            )
    assert routing_key(OutboxKind.TRIAGE, "e5", "staff").startswith(routing_key_prefix(OutboxKind.TRIAGE, "e"))


def _stored_keys(world: World) -> list[str]:
    with world.db.session() as s:
        found = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DELIVERY_FAILED))
        return [m.dedupe_key for m in found]


def _told(world: World, expert_id: int) -> int:
    with world.db.session() as s:
        return outbox_repo.count_outbox_messages_keyed(s, prefix=marked_away_key_prefix(expert_id), since=NOW)


def test_the_notices_the_routing_stores_for_a_mark_are_the_ones_the_reader_counts(world: World) -> None:
    """Both ways an expert is marked away and staff told: a request's DM that can never arrive (the account
    deactivated), and a hand-pick of a deactivated account."""
    ids = seed_housing(world)
    qid = world.ask()
    with world.db.session() as s:
        asked = sorted(m.recipient_slack_id or "" for m in s.scalars(select(OutboxMessage)) if m.routing_id)
        experts = {e.slack_user_id: e.id for e in s.scalars(select(Expert)) if e.slack_user_id is not None}
    gone = asked[0]
    with world.db.session() as s:
        assert world.service.person_deactivated(s, slack_user_id=gone, reason="deleted", now=LATER).outcome.startswith(
            "moved on 1, marked away True"
        )
    [stored] = _stored_keys(world)
    assert stored.startswith(marked_away_key_prefix(experts[gone]))
    assert _told(world, experts[gone]) == 1

    other = next(i for i in ids.values() if i != experts[gone])
    other_slack = next(slack for slack, i in experts.items() if i == other)
    with world.db.session() as s:
        assert world.service.pick_unreachable(s, question_id=qid, slack_user_id=other_slack, error="deleted", now=LATER)
    assert len(_stored_keys(world)) == 2
    assert _told(world, other) == 1 and _told(world, experts[gone]) == 1
