"""End to end: a private answer whose response_url Slack no longer takes (older than 30 minutes, used 5 times) is
sent by DM instead, once — the user still gets it. Through the real bot process and the emulator."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.emulator import SlackEmulator

QUESTION = "wie weet iets over leegstandsheffing?"


@pytest.mark.postgres_too
def test_an_answer_for_an_expired_response_url_goes_by_dm(bot: BotProcess, emulator: SlackEmulator) -> None:
    emulator.config.response_url_ttl = 0.0  # the bot answers after the response_url expired (e.g. a long outage)
    emulator.send_command(NL_USER, CHANNEL, text=QUESTION)
    dm = emulator.dm_channel_with(NL_USER)
    [answer] = emulator.wait_for(lambda: [m for m in emulator.messages(dm) if m.get("blocks")], timeout=30)
    assert "leegstand" in flat(answer["blocks"]).lower() and "Wie weet:" in flat(answer["blocks"])
    assert emulator.response_posts == []  # Slack took none of the response_url posts
    assert emulator.messages(CHANNEL) == []  # still private: nothing in the channel
    emulator.wait_for(lambda: "response_url unusable" in bot.log(), timeout=15)
    assert len([m for m in emulator.messages(dm) if m.get("blocks")]) == 1  # once
