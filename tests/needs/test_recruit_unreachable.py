"""Someone Slack cannot reach is not asked again when staff ask — a DM would fail again — and staff are told why
(in the ask's result, its audit row, and on the command line, in the operator's language): their register entry is
marked away because Slack cannot reach them, or their last recruiting DM was refused with an error Slack says of
the recipient alone (``user_disabled``, ``user_not_found``, ``cannot_dm_bot``). ``account_inactive`` alone is not
that: Slack also says it of the bot's own token (the app disabled), so the person is asked again. Either holds only
while no DM of any kind reached them since, and a recruiting DM's failure only while their register entry has not
changed since (made available again, imported again with a new Slack id). A DM given up for another reason is
queued again, as before."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.register import unreachable
from storage import outbox_repo, register_repo
from storage.models import Expert, OutboxKind, OutboxMessage
from tests.cli import wieweet, wieweet_in
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_recruit_queued_label_gone import _queued

LATER = NOW + timedelta(days=2)


def _given_up(network: Network, error: str) -> int:
    """The DM asking Els Jacobs, given up with Slack's ``error``; returns her expert id."""
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        message.failed_at, message.attempts, message.last_error = NOW, 1, error
        return session.query(Expert).filter_by(slack_user_id=message.recipient_slack_id).one().id


def _dm(network: Network) -> tuple[object, int, str]:
    """The DM staff asked for (not one a test added)."""
    with network.database.session() as session:
        asked = session.query(OutboxMessage).filter(OutboxMessage.dedupe_key.like("expertise_request:%"))
        message = asked.filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        return message.failed_at, message.attempts, message.last_error


def _ask(network: Network, topic_id: int, expert_id: int, now: datetime = NOW) -> tuple[bool, str]:
    with network.database.session() as session:
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=now
        )
    assert request.slack_user_id == "UAALST"
    return request.queued, request.unreachable


def _reached(network: Network, at: datetime, kind: OutboxKind = OutboxKind.EXPERT_REQUEST) -> None:
    """A DM of ``kind`` reached Els Jacobs at ``at``."""
    with network.database.session() as session:
        later = outbox_repo.create_outbox_message(
            session, kind=kind, dedupe_key=f"reached:{kind}:{at}", now=at, payload={}, recipient_slack_id="UAALST"
        )
        assert later is not None
        later.sent_at = at


def _audited(network: Network) -> dict[str, object]:
    with network.database.session() as session:
        [row] = register_repo.list_audit_log(session, entity_type="need_topic", limit=1)
        return dict(row.after or {})


@pytest.mark.parametrize("error", ["user_disabled", "user_not_found", "cannot_dm_bot"])
def test_a_dm_refused_as_the_recipient_is_gone_is_not_queued_again(network: Network, error: str) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, error)
    assert _ask(network, topic_id, expert_id) == (False, error)
    failed_at, attempts, last_error = _dm(network)
    assert failed_at is not None and (attempts, last_error) == (1, error)  # left given up, not queued again
    assert _audited(network)["asked"] == [] and _audited(network)["unreachable"] == {"UAALST": error}


def test_account_inactive_alone_may_be_the_bots_token_the_person_is_asked_again(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "account_inactive")  # the app was disabled: Slack said so of every DM
    assert _ask(network, topic_id, expert_id) == (True, "")
    assert _dm(network) == (None, 0, "")
    assert _audited(network)["asked"] == ["UAALST"] and "unreachable" not in _audited(network)


def test_account_inactive_the_sender_confirmed_marks_them_gone(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "account_inactive")
    with network.database.session() as session:  # users.info said deleted: the sender marked the entry away
        assert unreachable.mark_unreachable(session, expert_id=expert_id, reason="deleted", now=NOW) is not None
    assert _ask(network, topic_id, expert_id, LATER) == (False, "deleted")
    assert _dm(network)[1:] == (1, "account_inactive")


@pytest.mark.parametrize("kind", [OutboxKind.EXPERT_REQUEST, OutboxKind.ANSWER_TO_ASKER, OutboxKind.EXPERTISE_REQUEST])
def test_any_dm_that_reached_them_since_clears_it(network: Network, kind: OutboxKind) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_not_found")
    with network.database.session() as session:
        unreachable.mark_unreachable(session, expert_id=expert_id, reason="user_not_found", now=NOW)
    _reached(network, NOW + timedelta(days=1), kind)
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")
    assert _dm(network) == (None, 0, "")


def test_a_dm_reached_them_before_the_failure_clears_nothing(network: Network) -> None:
    topic_id, _ = _queued(network)
    _reached(network, NOW - timedelta(days=1))
    expert_id = _given_up(network, "user_disabled")
    assert _ask(network, topic_id, expert_id, LATER) == (False, "user_disabled")


def test_their_entry_made_available_again_clears_it(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_disabled")
    with network.database.session() as session:
        unreachable.mark_unreachable(session, expert_id=expert_id, reason="user_disabled", now=NOW)
    assert _ask(network, topic_id, expert_id, NOW + timedelta(hours=1)) == (False, "user_disabled")
    with network.database.session() as session:  # Slack says the account is active again
        cleared = unreachable.clear_unreachable_mark(
            session, slack_user_id="UAALST", reasons={"user_disabled"}, now=NOW + timedelta(days=1)
        )
        assert cleared is not None
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")


def test_a_dm_given_up_for_another_reason_is_queued_again(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "ratelimited")
    assert _ask(network, topic_id, expert_id) == (True, "")
    assert _dm(network) == (None, 0, "")


def test_staff_on_the_command_line_are_told_the_person_cannot_be_reached(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_disabled")
    ask = ("needs", "recruit", str(topic_id), "--ask", str(expert_id))
    dutch = wieweet(network.database, *ask)
    assert dutch.exit_code == 0, dutch.output
    assert "UAALST: niet te bereiken — Slack antwoordde: account gedeactiveerd — en sindsdien" in dutch.output
    english = wieweet_in(network.database, "en", *ask)
    assert english.exit_code == 0, english.output
    assert (
        "UAALST: cannot be reached — Slack answered: account deactivated — and no DM" in english.output
        and "asked before" not in english.output
    )
    assert "user_disabled" not in dutch.output + english.output  # what Slack said, not its error key
    assert _dm(network)[1:] == (1, "user_disabled")  # still given up, not queued again


def test_their_entry_imported_again_with_a_new_slack_id_asks_the_new_account(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "user_disabled")
    with network.database.session() as session:  # the register imported again: a new account for the same person
        expert = session.get(Expert, expert_id)
        assert expert is not None
        expert.slack_user_id = "UAALSTNEW"
    with network.database.session() as session:
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=LATER
        )
    assert (request.slack_user_id, request.queued, request.unreachable) == ("UAALSTNEW", True, "")


def test_a_mark_without_a_reason_is_not_shown_as_something_slack_said(network: Network) -> None:
    topic_id, _ = _queued(network)
    expert_id = _given_up(network, "ratelimited")
    with network.database.session() as session:  # marked away with no reason recorded (an older release)
        assert unreachable.mark_unreachable(session, expert_id=expert_id, reason="", now=NOW) is not None
    ask = ("needs", "recruit", str(topic_id), "--ask", str(expert_id))
    dutch = wieweet(network.database, *ask)
    assert dutch.exit_code == 0, dutch.output
    assert "UAALST: niet te bereiken — Slack kon hen niet bereiken; waarom werd niet bewaard — en" in dutch.output
    english = wieweet_in(network.database, "en", *ask)
    assert "UAALST: cannot be reached — Slack could not reach them; why was not recorded — and" in english.output
    assert "unreachable'" not in dutch.output + english.output and "Slack answered" not in english.output
