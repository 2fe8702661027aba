"""Who recruiting holds unreachable: a redraw of an old recruiting DM (an update of a message sent before the account
went away, ``expertise_redraw:<id>``) is no DM that reached them and no recruiting DM that ended; a mark kept while
Slack says the account is active (``unreachable_kept``) holds them away as routing reads it (``get_away_mark``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.register import unreachable
from bot.register.marked import KEPT_ACTION, get_away_mark, get_unreachable_mark
from storage import outbox_repo, register_repo
from storage.models import Availability, Expert, OutboxKind
from tests.needs.conftest import NOW, Network
from tests.needs.test_recruit_queued_label_gone import _queued
from tests.needs.test_recruit_unreachable import LATER, _ask, _given_up


def _redrawn(network: Network, at: datetime) -> None:
    """What ``enqueue_expertise_redraw`` queues (an update of a DM sent long ago), marked sent by the sender."""
    with network.database.session() as session:
        row = outbox_repo.create_outbox_message(
            session,
            kind=OutboxKind.EXPERTISE_REQUEST,
            dedupe_key="expertise_redraw:999",
            now=at,
            payload={"topic_id": 1, "gone": True, "redraw_channel": "D0OLD", "redraw_ts": "1.000"},
            recipient_slack_id="UAALST",
        )
        assert row is not None
        row.sent_at, row.sent_ts, row.sent_channel_id = at, "1.000", "D0OLD"


def test_a_redraw_after_the_mark_does_not_clear_it(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_disabled")
    with network.database.session() as session:
        unreachable.mark_unreachable(session, expert_id=expert_id, reason="deleted", now=NOW)
    _redrawn(network, NOW + timedelta(hours=1))  # an erasure blanked the label of a DM sent last month
    assert _ask(network, topic_id, expert_id, LATER) == (False, "deleted")


def test_a_redraw_after_a_refused_dm_is_not_the_last_dm_nor_one_that_reached_them(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_not_found")
    _redrawn(network, NOW + timedelta(hours=1))
    assert _ask(network, topic_id, expert_id, LATER) == (False, "user_not_found")


def test_a_kept_mark_still_stops_recruiting(network: Network) -> None:
    topic_id, _ = _queued(network)
    _given_up(network, "ratelimited")  # given up for another reason: on its own it would be queued again
    with network.database.session() as session:
        expert = session.query(Expert).filter_by(slack_user_id="UAALST").one()
        assert unreachable.mark_unreachable(session, expert_id=expert.id, reason="user_not_found", now=NOW) is not None
        register_repo.create_audit_log(
            session,
            actor="system",
            action=KEPT_ACTION,
            entity_type="expert",
            entity_key=expert.email,
            before={},
            after={"reason": "user_not_found", "cleared_before": (NOW - timedelta(days=2)).isoformat()},
            now=NOW + timedelta(hours=1),
        )
        session.flush()
        assert expert.availability is Availability.AWAY
        assert get_away_mark(session, expert=expert) is not None
        assert get_unreachable_mark(session, expert=expert) is None  # the one an active account clears
        expert_id = expert.id
    assert _ask(network, topic_id, expert_id, LATER) == (False, "user_not_found")
