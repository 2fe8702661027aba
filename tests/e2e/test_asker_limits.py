"""End to end: one member cannot use up the experts. With a cap of one question with experts and two new
questions per hour, the second question is kept (the asker told why), the third refused on the ask form before
anything is recorded or posted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from handlers import ids
from storage.models import Question, QuestionStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.staffing import STAFF, TRIAGE, run_routing_bot
from tests.e2e.test_routing import ask, expert_dms
from tests.emulator import SlackEmulator


@pytest.fixture
def limited_bot(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path) -> Iterator[BotProcess]:
    yield from run_routing_bot(
        emulator,
        demo_db_url,
        tmp_path,
        clock_file,
        WIEWEET_MAX_OPEN_PER_ASKER="1",
        WIEWEET_MAX_QUESTIONS_PER_HOUR="2",
    )


def _questions(url: str) -> list[Question]:
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            return list(s.scalars(select(Question).order_by(Question.id)))
    finally:
        engine.dispose()


def _dm_texts(emu: SlackEmulator, user: str) -> str:
    return flat(emu.messages(emu.dm_channel_with(user)))


def test_a_member_over_the_cap_waits_and_over_the_rate_is_refused(
    limited_bot: BotProcess, emulator: SlackEmulator, demo_db_url: str
) -> None:
    before = len(_questions(demo_db_url))
    ask(emulator, NL_USER, "Hoe pakken jullie leegstandsheffing op winkelpanden aan?")
    emulator.wait_for(lambda: len(expert_dms(emulator)) >= 2, timeout=20)
    asked = len(expert_dms(emulator))
    ask(emulator, NL_USER, "Hoe innen jullie de leegstandsheffing bij tweede verblijven?")
    emulator.wait_for(lambda: "houden we deze vraag even bij" in _dm_texts(emulator, NL_USER), timeout=20)
    third = "En de leegstandsheffing op kantoren, wie weet daar iets over?"
    emulator.send_command(NL_USER, CHANNEL, text=f"vraag {third}")
    emulator.wait_for(lambda: emulator.views(NL_USER))
    refused = emulator.submit_view(
        NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.BLOCK_ASK_TEXT: third, ids.BLOCK_ASK_VISIBILITY: "public"}
    )
    # refused on the form itself, under the question: the modal stays open with the text typed (nothing lost)
    assert refused.response_action == "errors"
    assert "maximum aantal vragen per uur (2)" in flat((refused.ack_body or {}).get("errors"))
    questions = _questions(demo_db_url)[before:]
    assert [q.status for q in questions] == [QuestionStatus.ROUTED, QuestionStatus.OPEN]  # the third: not recorded
    assert len(expert_dms(emulator)) == asked  # the held question went to no expert ...
    assert not [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == TRIAGE]  # nor staff
    posted = [m for m in emulator.messages(CHANNEL) if "kantoren" in flat(m)]
    assert posted == []  # the refused question was not posted in the channel either
    # staff see the held question in /wieweet beheer, as on their Home tab (not yet theirs: not escalated)
    shown = len(emulator.response_posts)
    emulator.send_command(STAFF, CHANNEL, text="beheer")
    emulator.wait_for(lambda: len(emulator.response_posts) > shown, timeout=20)
    overview = flat([p["body"] for p in emulator.response_posts[shown:]])
    held = questions[1]
    assert "Bijgehouden tot de vrager weer ruimte heeft bij experts (1)" in overview
    assert f"#{held.id} Hoe innen jullie de leegstandsheffing bij tweede verblijven?" in overview
