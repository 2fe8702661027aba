"""End to end: a deactivation (``user_change``) is confirmed with Slack before anything moves. Rate-limited, it
waits in the inbox and is handled once the limit lifts (never acknowledged and dropped); delivered late, after the
account was reactivated, it does nothing; and a reactivation makes an expert marked away by the deactivation
available again, with one notice for staff in the triage channel (the deactivation moved their request on)."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.models import Availability, RoutingStatus
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess
from tests.e2e.staffing import TRIAGE
from tests.e2e.test_deactivated import state
from tests.e2e.test_routing import QUESTION, ask, expert_dms, open_requests
from tests.emulator import SlackEmulator


def profile_change(emulator: SlackEmulator, user: str, *, deleted: bool) -> None:
    """Slack's ``user_change`` saying ``deleted``, whatever the account is now (a late delivery)."""
    snapshot = copy.deepcopy(emulator._state.users[user])
    snapshot["deleted"] = deleted
    emulator.send_event({"type": "user_change", "user": snapshot})


def available_again_notices(emulator: SlackEmulator, user: str) -> list[str]:
    """The triage posts saying ``user`` is available again (the channel's language: Dutch)."""
    texts = [str(m.get("text") or "") for m in emulator.messages(TRIAGE)]
    return [x for x in texts if f"<@{user}> heeft weer een actief Slack-account" in x]


@pytest.mark.postgres_too
def test_a_rate_limited_deactivation_is_handled_once_the_limit_lifts(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    gone, _channel, _message = open_requests(emulator)[0]
    before = len(emulator.calls_to("users.info"))
    emulator.fail_next("users.info", status=429, retry_after=1, times=8)  # two attempts' worth, with the client's waits
    delivery = emulator.send_user_deactivated(gone, event_id="Ev0GONE0429")
    assert delivery.acked
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 3, timeout=40)  # the next expert, once Slack answers
    availability, _status, routings = state(demo_db_url, gone)
    assert availability is Availability.AWAY and routings[gone] is RoutingStatus.EXPIRED
    assert len(emulator.calls_to("users.info")) - before > 8  # asked again after the refusals


def test_a_late_deactivation_does_nothing_and_a_reactivation_makes_the_expert_available(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str, clock_file: Path
) -> None:
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    expert, _channel, _message = open_requests(emulator)[0]
    profile_change(emulator, expert, deleted=True)  # the account is active at Slack: a claim from the past
    emulator.wait_for(lambda: "is active at Slack: late deactivation: active" in routing_bot.log(), timeout=20)
    availability, _status, routings = state(demo_db_url, expert)
    assert availability is Availability.AVAILABLE and routings[expert] is RoutingStatus.ASKED
    assert len(expert_dms(emulator)) == 2

    # the register's import was audited at the real time: from here on the bot's clock is later, as in production
    clock_file.write_text((datetime.now(UTC) + timedelta(minutes=1)).isoformat(), encoding="utf-8")
    emulator.send_user_deactivated(expert)  # deactivated for real: moved on, marked away
    emulator.wait_for(lambda: state(demo_db_url, expert)[0] is Availability.AWAY, timeout=20)
    emulator._state.users[expert]["deleted"] = False  # an admin reactivates the account
    profile_change(emulator, expert, deleted=False)
    emulator.wait_for(lambda: state(demo_db_url, expert)[0] is Availability.AVAILABLE, timeout=20)
    emulator.wait_for(lambda: len(available_again_notices(emulator, expert)) == 1, timeout=20)
    profile_change(emulator, expert, deleted=False)  # a status change later: nothing more
    emulator.send_event({"type": "user_change", "user": {"id": NL_USER, "team_id": emulator.team_id}})
    time.sleep(1.0)
    assert routing_bot.log().count("was reactivated") == 1
    assert len(available_again_notices(emulator, expert)) == 1  # once, not per event
