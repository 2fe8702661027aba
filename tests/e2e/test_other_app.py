"""End to end: a request signed with wieweet's signing secret but for another Slack app (its ``api_app_id``) is
acknowledged and dropped with one warning line (``handlers.own_app``): an event, a button click and a command get
no answer, nothing is recorded; the app's own requests go on."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from handlers import ids
from storage.models import InboxRequest, Question, SearchLog
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.emulator import SlackEmulator

OTHER_APP = "A0OTHERAP1"
QUESTION = "wie weet iets over leegstandsheffing?"


def stored(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return {
                model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (InboxRequest, Question, SearchLog)
            }
    finally:
        engine.dispose()


def dropped(bot: BotProcess) -> list[str]:
    return [line for line in bot.log().splitlines() if "dropped a request for another app" in line]


@pytest.mark.postgres_too
def test_requests_for_another_app_are_acked_and_dropped(
    bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    dm = emulator.dm_channel_with(NL_USER)
    asked = emulator.send_message(NL_USER, dm, QUESTION, channel_type="im")
    ts = asked.payload["event"]["ts"]
    answer = emulator.wait_for(lambda: [m for m in emulator.thread(dm, ts) if m.get("bot_id")])[0]
    emulator.wait_for(lambda: stored(demo_db_url)["SearchLog"] == 1)  # the app's own question, answered and logged
    before, calls = stored(demo_db_url), emulator.call_count

    emulator.name_app(OTHER_APP)
    event = emulator.send_message(NL_USER, dm, "wie weet iets over huurpremies?", channel_type="im")
    click = emulator.click_button(NL_USER, ids.ACTION_MORE, message=answer["ts"], channel=dm)
    command = emulator.send_command(NL_USER, dm, text=QUESTION)
    assert event.acked and click.acked and command.acked
    assert len(event.attempts) == len(click.attempts) == len(command.attempts) == 1  # acked in time: no retry
    assert command.ack_body in (None, "", {})  # no answer in the ack
    emulator.wait_for(lambda: len(dropped(bot)) == 3)
    lines = dropped(bot)
    assert all(f"api_app_id='{OTHER_APP}'" in line and "WARNING" in line for line in lines), lines
    kinds = ["kind='event_callback'", "kind='block_actions'", "kind='command'"]
    assert all(kind in line for kind, line in zip(kinds, lines, strict=True)), lines
    assert stored(demo_db_url) == before  # nothing recorded in the inbox, asked or searched

    emulator.name_app(emulator.app_id)  # the app's own request again: answered, so the dropped ones had their chance
    emulator.send_command(NL_USER, dm, text="help")
    emulator.wait_for(lambda: emulator.response_posts)
    assert [p for p in emulator.response_posts if "Experts" in flat(p["body"])] == []  # the dropped command's answer
    assert [m for m in emulator.thread(dm, ts) if m.get("bot_id")] == [answer]  # no "more" after the click
    assert [m for m in emulator.messages(dm, include_replies=False) if m.get("bot_id")] == []  # no answer to the event
    assert "chat.postMessage" not in [c.method for c in emulator.calls[calls:]]
