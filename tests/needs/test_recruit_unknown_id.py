"""A recruiting DM Slack refuses with ``user_not_found`` says nothing certain of the person: the register's Slack id
may be mistyped, or the token another workspace's. As for a routing DM (``bot.register.reactivated``'s
``UNCONFIRMED_REASONS``), only ``users.info`` answering with the account deactivated makes them gone (their
register entry marked away, their questions withdrawn); ``users.info`` not knowing the id either leaves the person
alone. Staff asking again are told "Slack does not know this id; check the register's Slack id", until that
person's Slack id changes in the register, staff vouch for it (``wieweet register check-slack`` confirming the
account, ``wieweet register available``) or a DM reaches them; another change of their entry does not clear it.
``users.info`` answering with the account, active: Slack knows the id, so nobody is blocked and the next ask sends
the DM again; refused so a second time, staff are told that, in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.needs.reachability import SLACK_ID_CONFIRMED, record_unknown_id
from bot.register import marked
from bot.register.marked import UNKNOWN_ID_ACTIVE, UNKNOWN_ID_ACTIVE_AGAIN
from handlers.outbox import OutboxSender
from handlers.services import Services
from storage import outbox_repo, register_repo
from storage.models import Availability, Expert, OutboxKind, OutboxMessage
from tests.cli import wieweet, wieweet_in
from tests.emulator import SlackEmulator
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_invite_retry import FakeSlack, slack_error
from tests.needs.test_recruit_queued_label_gone import _queued
from tests.needs.test_recruit_unreachable import _ask, _reached
from tests.needs.test_recruit_unreachable_sender import services  # noqa: F401

LATER = NOW + timedelta(days=1)


class UnknownId(FakeSlack):
    """The DM refused with ``user_not_found``; ``users.info`` answers ``account`` ("unknown": ``user_not_found``
    too, "deleted": the account deactivated, "active")."""

    def __init__(self, account: str) -> None:
        super().__init__()
        self.account = account
        self.fail["chat.postMessage"] = [slack_error("chat.postMessage", "user_not_found")]

    def users_info(self, **kwargs: Any) -> dict[str, Any]:
        if self.account == "unknown":
            raise slack_error("users.info", "user_not_found")
        return {"ok": True, "user": {"id": kwargs["user"], "deleted": self.account == "deleted", "locale": "nl-BE"}}


def _refused(network: Network, services: Services, account: str) -> tuple[int, int]:  # noqa: F811
    topic_id, _ = _queued(network)
    OutboxSender(services, UnknownId(account)).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]
    recorded = UNKNOWN_ID_ACTIVE if account == "active" else "user_not_found"
    assert _last_error(network) == recorded
    with network.database.session() as session:
        return topic_id, session.query(Expert).filter_by(slack_user_id="UAALST").one().id


def _last_error(network: Network) -> str:
    with network.database.session() as session:
        message = session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST).one()
        assert message.sent_at is None and message.failed_at is not None
        return message.last_error


@pytest.mark.parametrize(
    ("account", "gone", "unreachable"),
    [("unknown", False, "user_not_found"), ("active", False, ""), ("deleted", True, "deleted")],
)
def test_only_users_info_saying_deactivated_makes_them_gone(
    network: Network,
    services: Services,  # noqa: F811
    account: str,
    gone: bool,
    unreachable: str,
) -> None:
    topic_id, expert_id = _refused(network, services, account)
    with network.database.session() as session:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        assert (expert.availability is Availability.AWAY) is gone
        mark = marked.get_away_mark(session, expert=expert)
        assert (mark.reason if mark is not None else None) == ("deleted" if gone else None)
        actions = [
            e.action for e in register_repo.list_audit_log(session, entity_type="expert", entity_key=expert.email)
        ]
        assert ("unreachable" in actions) is gone
    # an active account Slack knows: not said to be unknown, and the next ask sends the DM again
    assert _ask(network, topic_id, expert_id, LATER) == (unreachable == "", unreachable)


def test_staff_are_told_slack_does_not_know_the_id(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, expert_id = _refused(network, services, "unknown")
    ask = ("needs", "recruit", str(topic_id), "--ask", str(expert_id))
    dutch = wieweet(network.database, *ask)
    assert dutch.exit_code == 0, dutch.output
    assert (
        "UAALST: niet te bereiken — Slack kent deze id niet; controleer de Slack-id in het register — en sindsdien "
        "bereikte geen DM hen: niet opnieuw gevraagd"
    ) in dutch.output
    english = wieweet_in(network.database, "en", *ask)
    assert english.exit_code == 0, english.output
    assert (
        "UAALST: cannot be reached — Slack does not know this id; check the register's Slack id — and no DM has "
        "reached them since: not asked again"
    ) in english.output
    assert "user_not_found" not in dutch.output + english.output


def test_another_change_of_their_entry_does_not_clear_it(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, expert_id = _refused(network, services, "unknown")
    with network.database.session() as session:  # staff edit their role: the Slack id is still the one Slack refused
        expert = session.get(Expert, expert_id)
        assert expert is not None
        register_repo.create_audit_log(
            session,
            actor="cli",
            action="update",
            entity_type="expert",
            entity_key=expert.email,
            before={"role": "", "slack_user_id": "UAALST"},
            after={"role": "jurist", "slack_user_id": "UAALST"},
            now=NOW + timedelta(hours=1),
        )
    assert _ask(network, topic_id, expert_id, LATER) == (False, "user_not_found")


def test_a_dm_that_reached_them_since_clears_it(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, expert_id = _refused(network, services, "unknown")
    _reached(network, NOW + timedelta(hours=1))
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")


def test_their_slack_id_corrected_in_the_register_asks_the_right_account(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, expert_id = _refused(network, services, "unknown")
    with network.database.session() as session:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        expert.slack_user_id = "UAALSTOK"
    with network.database.session() as session:
        [request] = network.service.ask_to_add_expertise(
            session, actor=STAFF, topic_id=topic_id, expert_ids=[expert_id], now=LATER
        )
    assert (request.slack_user_id, request.queued, request.unreachable) == ("UAALSTOK", True, "")


def test_an_active_account_refused_twice_is_shown_for_what_it_is(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, expert_id = _refused(network, services, "active")
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")  # queued again, the earlier refusal kept
    later = replace(services, clock=lambda: LATER)
    OutboxSender(later, UnknownId("active")).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    assert _ask(network, topic_id, expert_id, LATER + timedelta(hours=1)) == (False, UNKNOWN_ID_ACTIVE_AGAIN)
    ask = ("needs", "recruit", str(topic_id), "--ask", str(expert_id))
    dutch = wieweet(network.database, *ask)
    assert "Slack weigerde de DM tweemaal als onbekende id, al noemt Slack het account actief" in dutch.output
    english = wieweet_in(network.database, "en", *ask)
    assert "Slack refused the DM twice as an unknown id, yet says the account is active" in english.output
    assert "user_not_found" not in dutch.output + english.output


def _email(network: Network, expert_id: int) -> str:
    with network.database.session() as session:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        return expert.email


def _confirmations(network: Network, email: str) -> list[str]:
    with network.database.session() as session:
        entries = register_repo.list_audit_log(session, entity_type="expert", entity_key=email)
        return [e.actor for e in entries if e.action == SLACK_ID_CONFIRMED]


def test_staff_making_them_available_clears_it(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, expert_id = _refused(network, services, "unknown")
    email = _email(network, expert_id)
    dutch = wieweet(network.database, "register", "available", email)  # already available: the id vouched for
    assert dutch.exit_code == 0, dutch.output
    assert "was al beschikbaar; de Slack-id is nu bevestigd" in dutch.output
    assert len(_confirmations(network, email)) == 1
    english = wieweet_in(network.database, "en", "register", "available", email)  # nothing left to clear
    assert "was already available; nothing changed" in english.output
    assert len(_confirmations(network, email)) == 1
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")


def test_register_available_says_it_confirms_the_slack_id() -> None:
    shown = CliRunner().invoke(main, ["register", "available", "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "Also confirms their Slack id (audited)" in text and "also when they are already available" in text


def test_check_slack_confirming_the_account_clears_it(network: Network, services: Services) -> None:  # noqa: F811
    topic_id, expert_id = _refused(network, services, "unknown")
    email = _email(network, expert_id)
    slack = SlackEmulator(bot_token="xoxb-unknown-id-test")
    slack.start()
    try:
        slack.add_user("UAALST", name="els", email=email)  # the token now the network's: Slack confirms it
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url, "WIEWEET_LANGUAGE": "en"}
        result = CliRunner().invoke(main, ["--database", network.database.url, "register", "check-slack"], env=env)
    finally:
        slack.stop()
    assert f"{email}: Slack confirms the account; asking again" in result.output
    assert len(_confirmations(network, email)) == 1
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")


def _other_refusal(network: Network, *, reached_after: bool) -> None:
    """A recruiting DM about another topic, refused before although Slack knew the account (and, ``reached_after``,
    a DM that reached them since)."""
    with network.database.session() as session:
        other = outbox_repo.create_outbox_message(
            session,
            kind=OutboxKind.EXPERTISE_REQUEST,
            dedupe_key="other-topic",
            now=NOW - timedelta(days=2),
            payload={},
            recipient_slack_id="UAALST",
        )
        assert other is not None
        other.failed_at, other.last_error = NOW - timedelta(days=2), UNKNOWN_ID_ACTIVE
    if reached_after:
        _reached(network, NOW - timedelta(days=1))


@pytest.mark.parametrize(("reached_after", "recorded"), [(False, UNKNOWN_ID_ACTIVE_AGAIN), (True, UNKNOWN_ID_ACTIVE)])
def test_a_refusal_so_of_another_recruiting_dm_counts_until_a_dm_reached_them(
    network: Network,
    services: Services,  # noqa: F811
    reached_after: bool,
    recorded: str,
) -> None:
    _other_refusal(network, reached_after=reached_after)
    topic_id, _ = _queued(network)
    OutboxSender(services, UnknownId("active")).send_pending(worker_id="test-outbox")  # type: ignore[arg-type]
    with network.database.session() as session:
        [ours] = [
            m
            for m in session.query(OutboxMessage).filter_by(kind=OutboxKind.EXPERTISE_REQUEST)
            if m.dedupe_key != "other-topic"
        ]
        assert (ours.sent_at, ours.last_error) == (None, recorded)
        assert record_unknown_id(session, message_id=ours.id, retried=False) == ""  # recorded: no longer such
        expert_id = session.query(Expert).filter_by(slack_user_id="UAALST").one().id
    assert _ask(network, topic_id, expert_id, LATER)[1] == ("" if recorded == UNKNOWN_ID_ACTIVE else recorded)
