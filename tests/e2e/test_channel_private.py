"""End to end: Slack says a channel turned private, or is shared with another organisation now (signed events
through the emulator): the answers given there leave the search, in the running bot's index."""

from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.matching.loader import answer_doc
from storage.models import Question
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import BotProcess
from tests.e2e.test_long_answer import answer_in_thread
from tests.emulator import SlackEmulator

ANSWER = "Wij gebruiken een register van leegstaande winkelpanden."


def private_flags(db_url: str) -> list[bool]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(Question).where(Question.channel_id == CHANNEL)).all()
            assert all((answer_doc(q) is None) == q.channel_is_private for q in rows if q.answers)
            return [q.channel_is_private for q in rows]
    finally:
        engine.dispose()


def handled(bot: BotProcess) -> int:
    return len([line for line in bot.log().splitlines() if "handler=handle_channel_private" in line])


def test_a_channel_turned_private_makes_its_answers_private(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    answer_in_thread(emulator, ANSWER)
    assert private_flags(demo_db_url) == [False]
    emulator.send_event({"type": "channel_converted_to_private", "channel": CHANNEL, "user": "U0DEMO001"})
    emulator.wait_for(lambda: private_flags(demo_db_url) == [True], timeout=20)


def test_a_channel_shared_with_another_organisation_makes_its_answers_private(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    answer_in_thread(emulator, ANSWER)
    channel = emulator._state.channel(CHANNEL)
    assert channel is not None
    channel.is_org_shared = True  # shared within the organisation: still public
    emulator.send_event({"type": "channel_shared", "channel": CHANNEL, "connected_team_id": "T0SISTER"})
    emulator.wait_for(lambda: handled(routing_bot) == 1, timeout=20)
    assert private_flags(demo_db_url) == [False]
    channel.is_ext_shared = True  # and now with another organisation (Slack Connect)
    emulator.send_event({"type": "channel_shared", "channel": CHANNEL, "connected_team_id": "T0OTHER1"})
    emulator.wait_for(lambda: private_flags(demo_db_url) == [True], timeout=20)
