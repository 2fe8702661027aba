"""End to end: a direct message with a file attached (Slack's ``file_share``: a question with a screenshot) is a
question like any other DM — answered for a member, refused with the message for a person outside the network, and
"could not check who you are" when Slack cannot say who is asking — never acknowledged without a word. The same for
a thread reply also sent to the conversation (``thread_broadcast``); an edit of a question says nothing.

The network's own members are looked up with ``users.info`` here (guests are kept out), so a rate-limited
``users.info`` leaves their question unchecked.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import EN_USER, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_network_unchecked import UNCHECKED, acked_at_once
from tests.e2e.test_outsiders import EXTERNAL, OTHER_TEAM, QUESTION, refusals, stored_counts, told_outside
from tests.emulator import SlackEmulator

FILE = "file_share"
BROADCAST = "thread_broadcast"


@pytest.fixture
def emulator(emulator: SlackEmulator) -> SlackEmulator:
    emulator.add_user(EXTERNAL, name="extern", real_name="Eve Extern", locale="en-GB", team_id=OTHER_TEAM)
    return emulator


def rate_limited(emulator: SlackEmulator) -> None:
    emulator.fail_next("users.info", status=429, retry_after=40, times=20)


def answers(emulator: SlackEmulator, dm: str, ts: str) -> list[object]:
    return [m for m in emulator.thread(dm, ts) if m.get("bot_id") and m.get("ts") != ts]


def told_unchecked(emulator: SlackEmulator, user: str) -> list[object]:
    return [e for e in emulator.ephemerals(user=user) if any(text in flat(e) for text in UNCHECKED)]


@pytest.mark.postgres_too
def test_a_members_dm_with_a_file_is_answered(bot: BotProcess, emulator: SlackEmulator, demo_db_url: str) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    asked = emulator.send_message(NL_USER, dm, QUESTION, channel_type="im", subtype=FILE)
    assert asked.payload["event"]["files"] and acked_at_once(asked)
    reply = emulator.wait_for(lambda: answers(emulator, dm, asked.payload["event"]["ts"]))
    assert len(reply) == 1 and "Experts" in flat(reply[0])
    assert stored_counts(demo_db_url)["SearchLog"] == 1


@pytest.mark.postgres_too
def test_a_dm_with_a_file_that_could_not_be_checked_is_told_so(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    before = stored_counts(demo_db_url)
    rate_limited(emulator)
    asked = emulator.send_message(NL_USER, dm, QUESTION, channel_type="im", subtype=FILE)
    assert acked_at_once(asked)
    told = emulator.wait_for(lambda: told_unchecked(emulator, NL_USER))
    assert len(told) == 1 and told[0]["channel"] == dm
    assert stored_counts(demo_db_url) == before  # nothing recorded or searched: the person asks again
    assert answers(emulator, dm, asked.payload["event"]["ts"]) == []
    emulator.clear_faults()
    again = emulator.send_message(NL_USER, dm, QUESTION, channel_type="im", subtype=FILE)  # asked again: answered
    emulator.wait_for(lambda: answers(emulator, dm, again.payload["event"]["ts"]))
    assert len(told_unchecked(emulator, NL_USER)) == 1


@pytest.mark.postgres_too
def test_a_dm_with_a_file_from_outside_is_refused_with_the_message(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(EXTERNAL)
    before = stored_counts(demo_db_url)
    asked = emulator.send_message(EXTERNAL, dm, QUESTION, channel_type="im", subtype=FILE)
    assert acked_at_once(asked)
    told = emulator.wait_for(lambda: [e for e in emulator.ephemerals(user=EXTERNAL) if told_outside(e)])
    assert len(told) == 1 and told[0]["channel"] == dm
    emulator.wait_for(lambda: refusals(bot))
    assert len(refusals(bot)) == 1 and f"user={EXTERNAL}" in refusals(bot)[0]
    assert stored_counts(demo_db_url) == before
    assert emulator.calls_to("chat.postMessage") == []


def test_a_thread_reply_also_sent_to_the_dm_is_answered_or_told(bot: BotProcess, emulator: SlackEmulator) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    first = emulator.send_message(NL_USER, dm, "wie weet iets over deelfietsen?", channel_type="im")
    root = first.payload["event"]["ts"]
    emulator.wait_for(lambda: answers(emulator, dm, root))
    reply = emulator.send_message(NL_USER, dm, QUESTION, channel_type="im", thread_ts=root, subtype=BROADCAST)
    assert acked_at_once(reply)
    emulator.wait_for(lambda: len(answers(emulator, dm, root)) == 2)  # both questions answered in the thread
    other_dm = emulator.dm_channel_with(EN_USER)  # not looked up yet in this process
    other_root = emulator.add_message(EN_USER, other_dm, "who knows about shared bikes?")["ts"]
    rate_limited(emulator)
    other = emulator.send_message(
        EN_USER, other_dm, QUESTION, channel_type="im", thread_ts=other_root, subtype=BROADCAST
    )
    assert acked_at_once(other)
    emulator.wait_for(lambda: told_unchecked(emulator, EN_USER))
    assert answers(emulator, other_dm, other_root) == [] and told_unchecked(emulator, NL_USER) == []


def test_an_edit_of_a_question_says_nothing_even_when_it_could_not_be_checked(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm, outside_dm = emulator.dm_channel_with(NL_USER), emulator.dm_channel_with(EXTERNAL)
    before = stored_counts(demo_db_url)
    rate_limited(emulator)
    for user, channel, team in ((NL_USER, dm, emulator.team_id), (EXTERNAL, outside_dm, OTHER_TEAM)):
        edit = emulator.send_event(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": channel,
                "channel_type": "im",
                "ts": "1.000002",
                "hidden": True,
                "message": {"type": "message", "text": QUESTION, "user": user, "team": team, "ts": "1.000001"},
                "previous_message": {"type": "message", "text": "wie weet", "user": user, "ts": "1.000001"},
            }
        )
        assert acked_at_once(edit)
    emulator.clear_faults()
    emulator.send_command(NL_USER, dm, text="help")  # a later request: the edits had their chance to run
    emulator.wait_for(lambda: emulator.response_posts)
    assert told_unchecked(emulator, NL_USER) == [] and told_unchecked(emulator, EXTERNAL) == []
    assert [e for e in emulator.ephemerals(user=EXTERNAL) if told_outside(e)] == []
    assert emulator.calls_to("chat.postMessage") == []
    assert stored_counts(demo_db_url) == before
