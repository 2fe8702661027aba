"""End to end: a proposed work session posted in the triage channel quotes the questions of its topic; once a
question is withdrawn, or its channel turns private, the post is updated from the stored state: the question is
still counted, no longer quoted, and its asker no longer named as having asked in public."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Question
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import BotProcess, flat
from tests.e2e.test_needs import ASKERS, TRIAGE, needs_bot, needs_pass, our_proposal, triage_proposal
from tests.e2e.test_staff_told import withdraw
from tests.emulator import SlackEmulator

__all__ = ["needs_bot"]  # the fixture this module uses (``db`` is the suite's own)
GENT = "U0GENT001"


def post_text(emulator: SlackEmulator, ts: str) -> str:
    return flat(next(m for m in emulator.messages(TRIAGE) if m["ts"] == ts).get("blocks"))


def test_a_withdrawn_question_is_no_longer_quoted_in_the_posted_proposal(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    assert needs_pass(db)
    proposal = our_proposal(db)
    posted = triage_proposal(emulator, proposal.id)
    withdrawn = ASKERS[GENT][2]
    assert withdrawn in flat(posted["blocks"]) and f"<@{GENT}>" in flat(posted["blocks"])
    with db.session() as session:
        question_id = session.scalar(select(Question.id).where(Question.asker_slack_id == GENT))
    assert question_id is not None
    withdraw(emulator, GENT, question_id)
    emulator.wait_for(lambda: withdrawn not in post_text(emulator, posted["ts"]), timeout=20)
    shown = post_text(emulator, posted["ts"])
    assert f"<@{GENT}>" not in shown  # no longer named as having asked in public
    assert ASKERS["U0LEUV001"][2] in shown  # the others are still quoted
    assert "Traceback" not in needs_bot.log()


def test_a_channel_turned_private_is_no_longer_quoted_in_the_posted_proposal(
    needs_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    assert needs_pass(db)
    proposal = our_proposal(db)
    posted = triage_proposal(emulator, proposal.id)
    assert all(text in flat(posted["blocks"]) for _, _, text in ASKERS.values())
    emulator.send_event({"type": "channel_converted_to_private", "channel": CHANNEL, "user": GENT})
    emulator.wait_for(
        lambda: not any(text in post_text(emulator, posted["ts"]) for _, _, text in ASKERS.values()), timeout=20
    )
    shown = post_text(emulator, posted["ts"])
    assert not any(f"<@{slack}>" in shown for slack in ASKERS)
    assert "Traceback" not in needs_bot.log()
