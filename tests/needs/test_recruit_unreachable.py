"""A recruiting DM given up because the person's Slack account is gone (Slack: ``account_inactive``,
``user_disabled``, ``user_not_found``, ``cannot_dm_bot``) is not queued again when staff ask again — it would fail
again — and staff are told that the person cannot be reached (in the ask's result and on the command line, in the
operator's language). A DM given up for another reason is queued again, as before."""

from __future__ import annotations

import pytest

from storage.models import Expert, OutboxKind, OutboxMessage
from tests.cli import wieweet, wieweet_in
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_queued_label_gone import _queued


def _given_up(network: Network, error: str) -> int:
    """The DM asking Els Jacobs, given up with Slack's ``error``; returns her expert id."""
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.failed_at, message.attempts, message.last_error = NOW, 1, error
        return session.query(Expert).filter_by(slack_user_id=message.recipient_slack_id).one().id


def _dm(network: Network) -> tuple[object, int, str]:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        return message.failed_at, message.attempts, message.last_error


@pytest.mark.parametrize("error", ["account_inactive", "user_disabled", "user_not_found", "cannot_dm_bot"])
def test_a_dm_given_up_as_the_account_is_gone_is_not_queued_again(network: Network, error: str) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, error)
    with network.database.session() as session:
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
    assert (request.slack_user_id, request.queued, request.unreachable) == ("UAALST", False, error)
    failed_at, attempts, last_error = _dm(network)
    assert failed_at is not None and (attempts, last_error) == (1, error)  # left given up, not queued again


def test_a_dm_given_up_for_another_reason_is_queued_again(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "ratelimited")
    with network.database.session() as session:
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=NOW
        )
    assert (request.queued, request.unreachable) == (True, "")
    assert _dm(network) == (None, 0, "")


def test_staff_on_the_command_line_are_told_the_person_cannot_be_reached(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "account_inactive")
    ask = ("needs", "recruit", str(topic_id), "--ask", str(expert_id))
    dutch = wieweet(network.database, *ask)
    assert dutch.exit_code == 0, dutch.output
    assert "UAALST: niet te bereiken (Slack meldde account_inactive" in dutch.output
    english = wieweet_in(network.database, "en", *ask)
    assert english.exit_code == 0, english.output
    assert (
        "UAALST: cannot be reached (Slack said account_inactive" in english.output
        and "asked before" not in english.output
    )
    assert _dm(network)[1:] == (1, "account_inactive")  # still given up, not queued again
