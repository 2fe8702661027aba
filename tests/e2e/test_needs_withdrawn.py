"""End to end: a proposed work session posted in the triage channel quotes the questions of its topic; once a
question is withdrawn, or its channel turns private, the post is updated from the stored state: the question is
still counted, no longer quoted, and its asker no longer named as having asked in public. The asker's withdrawal
updates it at once; Slack's channel event is recorded, and the job runner's pass updates it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.privacy.channels import REFRESH_DELAY
from storage.db import Database
from storage.models import NeedProposalRefresh, Question
from tests.e2e.conftest import CHANNEL
from tests.e2e.harness import BotProcess, flat
from tests.e2e.needs_seed import ASKERS, add_askers_and_lead
from tests.e2e.staffing import TRIAGE, add_staff, staff_bot
from tests.e2e.test_needs import needs_bot, needs_pass, our_proposal, triage_proposal
from tests.e2e.test_staff_told import withdraw
from tests.emulator import SlackEmulator

__all__ = ["needs_bot"]  # a fixture this module uses
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


@pytest.fixture
def needs_bot_on_clock(
    emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path, clock_file: Path
) -> Iterator[BotProcess]:
    """``needs_bot`` on the injected clock, a minute after the real time (what the needs pass queues is due)."""
    add_staff(emulator)
    add_askers_and_lead(
        emulator, db, now=datetime.now(UTC), lead_expertise=("zwerfkatten", "dierenwelzijn", "sterilisatie")
    )
    clock_file.write_text((datetime.now(UTC) + timedelta(minutes=1)).isoformat(), encoding="utf-8")
    process = staff_bot(emulator, demo_db_url, tmp_path, clock_file=clock_file)
    process.start()
    yield process
    process.stop()


def _recorded(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(NeedProposalRefresh)) or 0)


def test_a_channel_turned_private_is_no_longer_quoted_in_the_posted_proposal(
    needs_bot_on_clock: BotProcess, emulator: SlackEmulator, db: Database, clock_file: Path
) -> None:
    needs_bot = needs_bot_on_clock
    assert needs_pass(db)
    proposal = our_proposal(db)
    posted = triage_proposal(emulator, proposal.id)
    assert all(text in flat(posted["blocks"]) for _, _, text in ASKERS.values())
    emulator.send_event({"type": "channel_converted_to_private", "channel": CHANNEL, "user": GENT})
    emulator.wait_for(lambda: _recorded(db), timeout=20)  # recorded with the change; the post not updated yet
    assert all(text in post_text(emulator, posted["ts"]) for _, _, text in ASKERS.values())
    later = datetime.fromisoformat(clock_file.read_text(encoding="utf-8")) + REFRESH_DELAY + timedelta(seconds=5)
    clock_file.write_text(later.isoformat(), encoding="utf-8")  # the job runner's pass once it is due
    emulator.wait_for(
        lambda: not any(text in post_text(emulator, posted["ts"]) for _, _, text in ASKERS.values()), timeout=20
    )
    shown = post_text(emulator, posted["ts"])
    assert not any(f"<@{slack}>" in shown for slack in ASKERS)
    assert "Traceback" not in needs_bot.log()
