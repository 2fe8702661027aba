"""A recruiting DM refused with ``user_not_found`` while ``users.info`` says the account is active, queued again and
refused so once more, blocks the next ask ("refused twice", ``UNKNOWN_ID_ACTIVE_AGAIN``), even when a passing error
(Slack 5xx, a timeout) came in between: the first refusal is kept in the DM's payload, which a failed attempt does
not overwrite. ``wieweet register check-slack`` clears only a refusal of an id Slack did not know: confirming an
account Slack already said twice is active tells nothing new. Its report is printed before it writes, so a
read-only database still gets the whole report (the clearing said not to be written), the summary line last."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from bot.cli import main
from bot.needs import reachability
from bot.register.marked import UNKNOWN_ID_ACTIVE, UNKNOWN_ID_ACTIVE_AGAIN
from handlers.outbox import OutboxSender
from handlers.services import Services
from tests.emulator import SlackEmulator
from tests.needs.conftest import NOW, STAFF, Network
from tests.needs.test_invite_retry import slack_error
from tests.needs.test_recruit_unknown_id import UnknownId, _confirmations, _email, _last_error, _refused
from tests.needs.test_recruit_unreachable import _ask
from tests.needs.test_recruit_unreachable_sender import services  # noqa: F401

LATER = NOW + timedelta(days=1)


def _send(services: Services, slack: UnknownId, at: object) -> None:  # noqa: F811
    OutboxSender(replace(services, clock=lambda: at), slack).send_pending(worker_id="w")  # type: ignore[arg-type]


@pytest.mark.parametrize("passing", ["internal_error", "ratelimited"])
def test_a_passing_error_before_the_second_refusal_keeps_the_first(
    network: Network,
    services: Services,  # noqa: F811
    passing: str,
) -> None:
    topic_id, expert_id = _refused(network, services, "active")
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")  # queued again
    slack = UnknownId("active")
    slack.fail["chat.postMessage"] = [slack_error("chat.postMessage", passing, 500)] + slack.fail["chat.postMessage"]
    _send(services, slack, LATER)
    much_later = LATER + timedelta(hours=2)
    _send(services, slack, much_later)
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    assert _ask(network, topic_id, expert_id, much_later + timedelta(hours=1)) == (False, UNKNOWN_ID_ACTIVE_AGAIN)


def test_a_dm_given_up_after_passing_errors_keeps_the_first_refusal(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, expert_id = _refused(network, services, "active")
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")
    slack = UnknownId("active")
    slack.fail["chat.postMessage"] = [slack_error("chat.postMessage", "internal_error", 500) for _ in range(20)]
    at = LATER
    for _ in range(20):  # until the sender gives it up
        _send(services, slack, at)
        at += timedelta(days=1)
    assert _last_error(network) not in (UNKNOWN_ID_ACTIVE, UNKNOWN_ID_ACTIVE_AGAIN)  # given up on a passing error
    assert _ask(network, topic_id, expert_id, at) == (True, "")  # nothing blocks: asked again
    _send(services, UnknownId("active"), at + timedelta(minutes=1))  # refused so a second time
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    assert _ask(network, topic_id, expert_id, at + timedelta(hours=1)) == (False, UNKNOWN_ID_ACTIVE_AGAIN)


def _check_slack(network: Network, email: str, url: str | None = None) -> Result:
    slack = SlackEmulator(bot_token="xoxb-refused-twice-test")
    slack.start()
    try:  # the answer users.info gave the sender: the account exists, active, with the register's address
        slack.add_user("UAALST", name="els", email=email)
        env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_API_URL": slack.api_url, "WIEWEET_LANGUAGE": "en"}
        args = ["--database", url or network.database.url, "register", "check-slack"]
        return CliRunner().invoke(main, args, env=env)
    finally:
        slack.stop()


# the network's other experts: the emulator holds no address for their accounts
SUMMARY = "6 Slack accounts checked, 5 not confirmed by Slack"


def _about(result: Result, email: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(f"{email}:")]


def test_check_slack_leaves_a_twice_refused_active_account_blocked(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, expert_id = _refused(network, services, "active")
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")
    _send(services, UnknownId("active"), LATER)
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    email = _email(network, expert_id)
    result = _check_slack(network, email)
    assert "Slack confirms the account" not in result.output
    assert _about(result, email) == []
    assert result.output.splitlines()[-1] == SUMMARY
    assert _confirmations(network, email) == []
    assert _ask(network, topic_id, expert_id, LATER + timedelta(hours=2)) == (False, UNKNOWN_ID_ACTIVE_AGAIN)


def test_check_slack_prints_what_it_clears_before_its_summary(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    topic_id, expert_id = _refused(network, services, "unknown")
    email = _email(network, expert_id)
    result = _check_slack(network, email)
    [line] = _about(result, email)
    assert line.startswith(f"{email}: Slack confirms the account; asking again"), result.output
    assert result.output.splitlines()[-1] == SUMMARY
    assert len(_confirmations(network, email)) == 1
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")


def _read_only(url: str) -> str:
    """The same PostgreSQL database through a connection whose transactions are read-only (a hot standby's)."""
    option = quote("-c default_transaction_read_only=on")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


def test_check_slack_on_a_read_only_database_still_reports(
    network: Network,
    services: Services,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic_id, expert_id = _refused(network, services, "unknown")
    email = _email(network, expert_id)
    url = network.database.url
    if url.startswith("postgresql"):
        url = _read_only(url)
    else:  # SQLite: a read-only file cannot be made for root; the write fails as SQLite's would

        def read_only(*args: object, **kwargs: object) -> list[str]:
            raise OperationalError("INSERT INTO audit_log", {}, Exception("attempt to write a readonly database"))

        monkeypatch.setattr(reachability, "confirm_slack_ids", read_only)
    result = _check_slack(network, email, url)
    assert result.exit_code == 1, result.output  # the others Slack does not confirm, as on a writable database
    [line] = _about(result, email)
    assert line.startswith(f"{email}: Slack confirms the account, but the database could not be written"), line
    assert result.output.splitlines()[-1] == SUMMARY
    assert _confirmations(network, email) == []
    assert _ask(network, topic_id, expert_id, LATER)[0] is False  # still held back: nothing was written


def test_an_id_vouched_for_after_two_refusals_is_blocked_by_the_next_one(
    network: Network,
    services: Services,  # noqa: F811
) -> None:
    """Staff vouched for the id (``wieweet register available``: ``confirm_slack_id``) after Slack refused it twice
    while saying the account is active; the next DM refused so again shows the vouching did not help: the ask after
    it is blocked at once, not after two more refusals."""
    topic_id, expert_id = _refused(network, services, "active")
    assert _ask(network, topic_id, expert_id, LATER) == (True, "")
    _send(services, UnknownId("active"), LATER)
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    vouched = LATER + timedelta(hours=1)
    with network.database.session() as session:
        assert reachability.confirm_slack_id(session, expert_id=expert_id, actor=STAFF, now=vouched)
    assert _ask(network, topic_id, expert_id, vouched + timedelta(minutes=1)) == (True, "")
    _send(services, UnknownId("active"), vouched + timedelta(minutes=2))  # refused so once more
    assert _last_error(network) == UNKNOWN_ID_ACTIVE_AGAIN
    assert _ask(network, topic_id, expert_id, vouched + timedelta(hours=1)) == (False, UNKNOWN_ID_ACTIVE_AGAIN)
