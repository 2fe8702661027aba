"""End to end: a private answer whose response_url Slack no longer takes (older than 30 minutes, used 5 times) is
sent by DM instead, once — the user still gets it. Through the real bot process and the emulator.

The 30 minutes pass on the emulator's test clock (``SlackEmulator.advance_clock``), never by wall time: while Slack
is held the bot's answer cannot reach it, the clock moves past the response_url's life, and Slack is let go.
"""

from __future__ import annotations

import pytest

from tests.e2e.chaos import assert_acked_before_slow_work
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat, warm_up
from tests.emulator import SlackEmulator

QUESTION = "wie weet iets over leegstandsheffing?"


@pytest.mark.postgres_too
def test_an_answer_for_an_expired_response_url_goes_by_dm(bot: BotProcess, emulator: SlackEmulator) -> None:
    warm_up(emulator, NL_USER)
    with emulator.hold_slack():  # the bot answers after the response_url expired (e.g. a long outage)
        command = emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
        assert_acked_before_slow_work(command, database=False)
        emulator.advance_clock(emulator.config.response_url_ttl + 1)
    dm = emulator.dm_channel_with(NL_USER)
    [answer] = emulator.wait_for(lambda: [m for m in emulator.messages(dm) if m.get("blocks")], timeout=30)
    assert "leegstand" in flat(answer["blocks"]).lower() and "Wie weet:" in flat(answer["blocks"])
    # Slack refused the post to the expired response_url, and took none
    assert [r["error"] for r in emulator.response_refusals] == ["expired_url"]
    assert emulator.response_refusals[0]["url_id"] in str(command.response_url)
    assert emulator.response_posts == []
    assert emulator.messages(CHANNEL) == []  # still private: nothing in the channel
    emulator.wait_for(lambda: "response_url unusable" in bot.log(), timeout=15)
    assert len([m for m in emulator.messages(dm) if m.get("blocks")]) == 1  # once
