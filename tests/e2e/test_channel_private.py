"""End to end: Slack says a channel turned private, or is shared with another organisation now (signed events
through the emulator), or it turned private while no event reached the bot (the daily reconcile asks Slack): the
answers given there leave the search, in the running bot's index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bot.matching.loader import answer_doc
from storage.models import Question
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_long_answer import answer_in_thread
from tests.e2e.test_routing import QUESTION
from tests.emulator import SlackEmulator

ELSEWHERE = "C0ELDERS1"
ANSWER = "Wij gebruiken een register van leegstaande winkelpanden."


def private_flags(db_url: str) -> list[bool]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(Question).where(Question.channel_id == CHANNEL)).all()
            assert all((answer_doc(q, by_slack={}) is None) == q.channel_is_private for q in rows if q.answers)
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


def found_by_search(emulator: SlackEmulator, user: str) -> bool:
    """Whether ``user``'s "who knows" search in another public channel shows the question answered in ``CHANNEL``."""
    if emulator._state.channel(ELSEWHERE) is None:
        emulator.add_channel(ELSEWHERE, name="elders", members=[user, emulator.bot_user_id])
    before = len(emulator.response_posts)
    emulator.send_command(user, ELSEWHERE, text="leegstandsheffing winkelpanden")
    posts: list[Any] = emulator.wait_for(
        lambda: [p for p in emulator.response_posts[before:] if "blocks" in p["body"]], timeout=20
    )
    return QUESTION in flat(posts[0]["body"]["blocks"])


def reconciled(bot: BotProcess) -> int:
    return len([line for line in bot.log().splitlines() if "channel privacy 20" in line])


def test_a_channel_turned_private_while_no_event_came_is_found_the_next_day(
    routing_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str, clock_file: Path
) -> None:
    answer_in_thread(emulator, ANSWER)
    emulator.wait_for(lambda: reconciled(routing_bot) >= 1, timeout=20)  # today's run: the channel is public
    assert private_flags(demo_db_url) == [False]
    assert found_by_search(emulator, "U0DEMO077")
    channel = emulator._state.channel(CHANNEL)
    assert channel is not None
    channel.is_private = True  # made private while the bot was down: Slack sends no event to it later
    clock_file.write_text("2026-12-01T09:30:00+01:00", encoding="utf-8")  # the next day
    emulator.wait_for(lambda: private_flags(demo_db_url) == [True], timeout=20)
    emulator.wait_for(lambda: reconciled(routing_bot) == 2, timeout=20)
    assert handled(routing_bot) == 0  # no event: the reconcile found it
    emulator.wait_for(lambda: not found_by_search(emulator, "U0DEMO077"), timeout=20)  # out of the running index
