"""End to end: a control character (a NUL, U+0000, which JSON carries as ``\\u0000``) in what Slack sends, through
the real bot and the emulator, on SQLite and PostgreSQL. PostgreSQL refuses a NUL in a text field: before, the
question was retried and the asker never got an answer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, select

from storage.models import SearchLog
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.emulator import SlackEmulator


def searched(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        queries = list(conn.scalars(select(SearchLog.query).order_by(SearchLog.id)))
    engine.dispose()
    return queries


def answers_in(emu: SlackEmulator, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in emu.thread(channel, thread_ts) if m.get("bot_id") and m.get("ts") != thread_ts]


@pytest.mark.postgres_too
def test_a_nul_in_a_command_is_dropped_and_the_question_answered(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    emulator.send_command(NL_USER, CHANNEL, text="wie weet iets over leegstands\u0000heffing?\u001b")
    post = emulator.wait_for(lambda: [p for p in emulator.response_posts if "blocks" in p["body"]])[0]
    assert "Wie weet:" in flat(post["body"]["blocks"]) and "leegstandsheffing" in flat(post["body"]["blocks"])
    assert searched(demo_db_url) == ["wie weet iets over leegstandsheffing?"]


@pytest.mark.postgres_too
def test_a_nul_in_a_direct_message_is_dropped_and_the_question_answered(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    delivery = emulator.send_message(NL_USER, dm, "iemand ervaring met wijk\u0000werking in Gent?", channel_type="im")
    reply = emulator.wait_for(lambda: answers_in(emulator, dm, delivery.payload["event"]["ts"]))[0]
    assert "Experts" in flat(reply["blocks"])
    assert searched(demo_db_url) == ["iemand ervaring met wijkwerking in Gent?"]
