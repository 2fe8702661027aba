"""End to end: the network check cannot ask Slack who is acting (``users.info`` fails: 5xx, no answer in time, rate
limited). The request is acknowledged at once all the same (no Slack timeout, no retry), the person gets one "could
not check who you are" message, one log line carries the reference, and nothing is recorded or searched. Slack's
retry of the same event says nothing more.

The workspace belongs to an Enterprise Grid organisation here, and the person to another workspace of it: their
team alone does not say whether they are inside, so every request of theirs asks ``users.info``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from handlers import ids
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_outsiders import QUESTION, stored_counts
from tests.emulator import SlackEmulator
from tests.emulator.models import Delivery

ORG = "E0GRIDORG"
SISTER = "U0SISTER1"  # a person of another workspace of the same organisation: inside, once Slack says so
UNCHECKED = ("could not check who you are", "kon net niet nagaan wie je bent")


@pytest.fixture
def emulator(emulator: SlackEmulator) -> SlackEmulator:
    emulator.join_grid(ORG)
    emulator.add_user(SISTER, name="zus", real_name="Zoë Zus", locale="en-GB", team_id="T0SISTER", enterprise_id=ORG)
    return emulator


def failing(emulator: SlackEmulator, fault: str) -> None:
    """``users.info`` fails the next calls with ``fault``."""
    emulator.clear_faults()
    if fault == "5xx":
        emulator.fail_next("users.info", status=503, times=20)
    elif fault == "timeout":
        emulator.set_latency(6.0, "users.info")  # longer than Slack waits for an ack
    else:
        emulator.fail_next("users.info", status=429, retry_after=40, times=20)


FAULTS = ("5xx", "timeout", "ratelimited")


def unchecked(value: object) -> bool:
    return any(text in flat(value) for text in UNCHECKED)


def failures(bot: BotProcess) -> list[str]:
    return [line for line in bot.log().splitlines() if "network check failed ref=" in line]


def acked_at_once(delivery: Delivery) -> bool:
    """Acknowledged at the first try, so Slack neither shows its own timeout nor retries."""
    return delivery.acked and len(delivery.attempts) == 1 and delivery.attempts[0].retry_num == 0


def told(emulator: SlackEmulator, dm: str) -> list[object]:
    """The "could not check" messages the person got: ephemerals (an ack's, a response_url's, a posted one), DMs."""
    return [
        *[e for e in emulator.ephemerals(user=SISTER) if unchecked(e)],
        *[m for m in emulator.messages(dm) if m.get("bot_id") and unchecked(m)],
    ]


def each_fault(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str, send: Callable[[], Delivery], dm: str
) -> list[Delivery]:
    before = stored_counts(demo_db_url)
    deliveries = []
    for number, fault in enumerate(FAULTS, start=1):
        failing(emulator, fault)
        delivery = send()
        assert acked_at_once(delivery), (fault, delivery.attempts)
        emulator.wait_for(lambda n=number: len(told(emulator, dm)) == n and len(failures(bot)) == n)
        line = failures(bot)[-1]
        assert f"user={SISTER}" in line and "users.info" in line
        deliveries.append(delivery)
    emulator.clear_faults()
    assert stored_counts(demo_db_url) == before  # nothing recorded, searched or stored
    assert "unhandled error" not in bot.log() and "refused" not in bot.log()
    return deliveries


def test_a_command_is_acked_with_could_not_check(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    dm = emulator.dm_channel_with(SISTER)
    deliveries = each_fault(bot, emulator, demo_db_url, lambda: emulator.send_command(SISTER, dm, text=QUESTION), dm)
    assert all(unchecked(d.ack_body) and (d.ack_body or {}).get("response_type") == "ephemeral" for d in deliveries)
    emulator.send_command(SISTER, dm, text=QUESTION)  # Slack answers again: the person is inside after all
    emulator.wait_for(lambda: [p for p in emulator.response_posts if "Experts" in flat(p["body"])])
    assert len(told(emulator, dm)) == 3


def test_a_direct_message_is_acked_and_told_once(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    dm = emulator.dm_channel_with(SISTER)
    each_fault(bot, emulator, demo_db_url, lambda: emulator.send_message(SISTER, dm, QUESTION, channel_type="im"), dm)
    assert [m for m in emulator.messages(dm) if m.get("bot_id")] == []  # no answer: the ephemeral notices only


def test_a_button_click_is_acked_and_told_once(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    asker_dm = emulator.dm_channel_with(NL_USER)
    asked = emulator.send_message(NL_USER, asker_dm, QUESTION, channel_type="im")
    ts = asked.payload["event"]["ts"]
    answer = emulator.wait_for(lambda: [m for m in emulator.thread(asker_dm, ts) if m.get("bot_id")])[0]

    def click() -> Delivery:
        return emulator.click_button(SISTER, ids.ACTION_MORE, message=answer["ts"], channel=asker_dm)

    each_fault(bot, emulator, demo_db_url, click, emulator.dm_channel_with(SISTER))
    assert len(emulator.thread(asker_dm, ts)) == 2  # the question and its answer: the clicks did nothing


@pytest.mark.postgres_too
def test_slacks_retry_of_the_same_event_is_not_answered_twice(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(SISTER)
    failing(emulator, "5xx")
    first = emulator.send_message(SISTER, dm, QUESTION, channel_type="im")
    emulator.wait_for(lambda: len(told(emulator, dm)) == 1)
    again = emulator.redeliver(first)  # the same event id, as Slack sends it again
    assert acked_at_once(again)
    emulator.clear_faults()
    again = emulator.redeliver(first)  # and once Slack answers users.info again: still told before, nothing done
    assert acked_at_once(again)
    later = emulator.send_message(SISTER, dm, "wie weet iets over deelfietsen?", channel_type="im")
    later_ts = later.payload["event"]["ts"]
    emulator.wait_for(lambda: [m for m in emulator.thread(dm, later_ts) if m.get("bot_id")])
    assert len(told(emulator, dm)) == 1 and len(failures(bot)) == 1
    assert [m for m in emulator.thread(dm, first.payload["event"]["ts"]) if m.get("bot_id")] == []
    assert stored_counts(demo_db_url)["SearchLog"] == 1  # the later question only
