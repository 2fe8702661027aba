"""End to end: an answer as long as the answer form accepts, full of links (every ``&`` costs five characters
once escaped), reaches the asker whole in the question's thread."""

from __future__ import annotations

import re
from typing import Any

from handlers import ids
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_routing import QUESTION, ask, dm_of, expert_dms
from tests.emulator import SlackEmulator
from tests.slack.test_long_texts import LONG, TAIL


def shown(blocks: list[dict[str, Any]]) -> str:
    texts = [b["text"]["text"] for b in blocks if b.get("type") == "section"]
    text = re.sub(r"(^|\n)> ", r"\1", "\n".join(texts))
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def answer_in_thread(emulator: SlackEmulator, answer: str) -> Any:
    """A question asked in ``CHANNEL``, claimed and answered by the first expert asked: the thread post."""
    ask(emulator, NL_USER, QUESTION)
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 1, timeout=20)
    dm = expert_dms(emulator)[0]
    expert = str(dm.params["channel"])
    expert_user = next(u for u in (f"U0DEMO{n:03d}" for n in range(1, 121)) if emulator.dm_channel_with(u) == expert)
    message = dm_of(emulator, dm)
    emulator.click_button(expert_user, ids.ACTION_CLAIM, message=message["ts"], channel=expert)
    emulator.wait_for_call("chat.update", lambda c: ids.ACTION_ANSWER in flat(c.params.get("blocks")))
    emulator.click_button(expert_user, ids.ACTION_ANSWER, message=message["ts"], channel=expert)
    emulator.wait_for(lambda: emulator.views(expert_user))
    view = emulator.views(expert_user)[-1]
    emulator.submit_view(expert_user, view["id"], {ids.BLOCK_ANSWER_TEXT: answer})
    tail = answer[-10:]
    return emulator.wait_for_call(
        "chat.postMessage", lambda c: c.params.get("channel") == CHANNEL and tail in flat(c.params), timeout=20
    )


def test_the_asker_receives_a_long_answer_whole(routing_bot: BotProcess, emulator: SlackEmulator) -> None:
    posted = answer_in_thread(emulator, LONG)
    assert TAIL in flat(posted.params)
    assert f"<@{NL_USER}>" in flat(posted.params)  # the message for the asker
    assert " ".join(LONG.split()) in shown(posted.params["blocks"])
