"""End to end: an answer that arrives before the question's channel message is posted (Slack failed that post and
it is retried later) reaches the asker by DM at once, and follows in the question's thread once the message is
there — once, saying it was given earlier."""

from __future__ import annotations

import time
from pathlib import Path

from handlers import ids
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_routing import QUESTION, ask, expert_dms, open_requests, questions
from tests.emulator import SlackEmulator

ANSWER = "Wij gebruiken een leegstandsregister."
EARLIER = "eerder al gegeven"


def _channel_posts(emu: SlackEmulator, text: str) -> list[object]:
    return [
        c
        for c in emu.calls_to("chat.postMessage")
        if c.params.get("channel") == CHANNEL and c.status == 200 and text in flat(c.params)
    ]


def test_an_answer_before_the_channel_message_follows_in_its_thread_once(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str, clock_file: Path
) -> None:
    emulator.fail_next("chat.postMessage", status=500, channel=CHANNEL)  # the question's post: retried later
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=90)
    assert questions(demo_db_url)[-1].thread_ts is None  # no channel message yet
    user, channel, message = open_requests(emulator)[0]
    emulator.click_button(user, ids.ACTION_CLAIM, message=message["ts"], channel=channel)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
    emulator.click_button(user, ids.ACTION_ANSWER, message=message["ts"], channel=channel)
    emulator.wait_for(lambda: emulator.views(user))
    emulator.submit_view(user, emulator.views(user)[-1]["id"], {ids.BLOCK_ANSWER_TEXT: ANSWER})
    asker_dm = emulator.dm_channel_with(NL_USER)
    # no thread to answer in: the asker gets the answer (and the rating) by DM
    # (waits of 90 s: room for the 30 s outbox pass on a loaded machine)
    emulator.wait_for(lambda: [m for m in emulator.messages(asker_dm) if ANSWER in flat(m)], timeout=90)
    assert not _channel_posts(emulator, ANSWER)
    clock_file.write_text("2026-11-30T09:40:00+01:00", encoding="utf-8")  # past the post's backoff: retried
    posted = emulator.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("channel") == CHANNEL and ANSWER in flat(c.params), timeout=90
    )
    question = questions(demo_db_url)[-1]
    assert question.thread_ts and posted.params.get("thread_ts") == question.thread_ts
    assert EARLIER in flat(posted.params) and f"<@{NL_USER}>" in flat(posted.params)
    time.sleep(2)  # a few more inbox and outbox runs: nothing twice
    assert len(_channel_posts(emulator, ANSWER)) == 1
    assert len(_channel_posts(emulator, QUESTION)) == 1
    assert len([m for m in emulator.messages(asker_dm) if ANSWER in flat(m)]) == 1  # the DM stays, once
