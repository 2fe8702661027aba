"""End to end: a triage channel that becomes shared with another organisation (Slack Connect) after a staff post
about a practice, an expert profile or a work-session proposal: the post's update there shows only the number and
that it was decided, never the practice, the person, the topic or anyone's name. The decision itself stands and
the people concerned are told as ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers import ids
from storage.db import Database
from storage.models import ProposalStatus, RecordStatus
from tests.e2e.conftest import CHANNEL, NL_USER
from tests.e2e.harness import BotProcess, flat
from tests.e2e.needs_seed import LEAD, add_askers_and_lead
from tests.e2e.staffing import STAFF, TRIAGE, add_staff, staff_bot
from tests.e2e.test_needs import needs_pass, our_proposal, status_of, triage_proposal
from tests.e2e.test_practices import SUMMARY, TITLE, stored, submit_by_command, triage_message
from tests.e2e.test_profiles import expert_of
from tests.emulator import SlackEmulator

SHARED_NL = "gedeeld met een andere organisatie"


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "now.txt"  # a little ahead: what a needs pass (run here, at the real time) queues is due
    path.write_text((datetime.now(UTC) + timedelta(minutes=1)).isoformat(), encoding="utf-8")
    return path


def start(emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path, **env: str) -> BotProcess:
    add_staff(emulator)
    return staff_bot(emulator, demo_db_url, tmp_path, clock_file=clock_file, **env).start()


def share_triage(emulator: SlackEmulator, clock_file: Path) -> None:
    """The triage channel is shared with another organisation; the bot sees it once its cached answer is old."""
    emulator.share_channel(TRIAGE)
    later = datetime.fromisoformat(clock_file.read_text(encoding="utf-8")) + timedelta(minutes=10)
    clock_file.write_text(later.isoformat(), encoding="utf-8")


def updated(emulator: SlackEmulator, ts: str) -> dict[str, Any]:
    """The last ``chat.update`` of the triage message at ``ts`` (waited for)."""
    return dict(
        emulator.wait_for_call(
            "chat.update", lambda c: c.params.get("channel") == TRIAGE and c.params.get("ts") == ts, timeout=30
        ).params
    )


@pytest.mark.postgres_too
def test_a_practice_approved_after_the_triage_channel_became_shared_shows_no_practice_or_names(
    emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path, clock_file: Path
) -> None:
    bot = start(emulator, demo_db_url, tmp_path, clock_file)
    try:
        submit_by_command(emulator, NL_USER, title=TITLE, summary=SUMMARY, city="Mechelen", outcome="good")
        message = triage_message(emulator, TITLE)
        assert TITLE in flat(message["blocks"])  # posted while the channel was the network's alone
        share_triage(emulator, clock_file)
        emulator.click_button(STAFF, ids.ACTION_PRACTICE_APPROVE, message=message["ts"], channel=TRIAGE)
        shown = flat(updated(emulator, message["ts"]))
        assert SHARED_NL in shown and f"#{message_practice_id(db)}" in shown
        assert "Zwerfkatten" not in shown and "Mechelen" not in shown and "Goedgekeurd" not in shown
        assert "<@" not in shown and ids.ACTION_PRACTICE_APPROVE not in shown
        emulator.wait_for(lambda: "is goedgekeurd" in flat(emulator.messages(emulator.dm_channel_with(NL_USER))))
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()


def message_practice_id(db: Database) -> int:
    practice = stored(db, TITLE)
    assert practice is not None and practice.status is RecordStatus.PUBLISHED
    return practice.id


def test_a_profile_approved_after_the_triage_channel_became_shared_shows_no_person(
    emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path, clock_file: Path
) -> None:
    emulator.add_user(NL_USER, name="griet", real_name="Griet Verhoeven", locale="nl-BE", email="griet@gent.be")
    bot = start(emulator, demo_db_url, tmp_path, clock_file, WIEWEET_EXPERT_APPROVAL="true")
    try:
        emulator.send_command(NL_USER, CHANNEL, text="i know about participatory budgeting")
        emulator.wait_for(lambda: emulator.views(NL_USER))
        emulator.submit_view(NL_USER, emulator.views(NL_USER)[-1]["id"], {ids.profile_block("organisation"): "Gent"})
        emulator.wait_for_call(
            "chat.postMessage", lambda c: ids.ACTION_PROFILE_APPROVE in flat(c.params.get("blocks")), timeout=30
        )
        message = [m for m in emulator.messages(TRIAGE) if ids.ACTION_PROFILE_APPROVE in flat(m.get("blocks"))][-1]
        assert "Griet Verhoeven" in flat(message["blocks"])
        share_triage(emulator, clock_file)
        emulator.click_button(STAFF, ids.ACTION_PROFILE_APPROVE, message=message["ts"], channel=TRIAGE)
        shown = flat(updated(emulator, message["ts"]))
        expert = expert_of(db, slack_user_id=NL_USER)
        assert expert.status is RecordStatus.PUBLISHED
        assert SHARED_NL in shown and f"#{expert.id}" in shown
        assert "Griet" not in shown and "participatory" not in shown and "Gent" not in shown
        assert "<@" not in shown and "Goedgekeurd" not in shown and ids.ACTION_PROFILE_APPROVE not in shown
        emulator.wait_for_call("chat.postMessage", lambda c: "is goedgekeurd" in flat(c.params), timeout=30)
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()


def test_a_proposal_dismissed_after_the_triage_channel_became_shared_shows_no_topic_or_names(
    emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path, clock_file: Path
) -> None:
    add_askers_and_lead(emulator, db, now=datetime.now(UTC))
    bot = start(emulator, demo_db_url, tmp_path, clock_file)
    try:
        needs_pass(db)
        proposal = our_proposal(db)
        message = triage_proposal(emulator, proposal.id)
        assert "zwerfkatten" in flat(message["blocks"]).lower() and f"<@{LEAD}>" in flat(message["blocks"])
        share_triage(emulator, clock_file)
        emulator.click_button(
            STAFF, ids.ACTION_NEEDS_DISMISS, value=str(proposal.id), message=message["ts"], channel=TRIAGE
        )
        shown = flat(updated(emulator, message["ts"]))
        assert status_of(db, proposal.id) == ProposalStatus.DISMISSED
        assert SHARED_NL in shown and f"#{proposal.id}" in shown
        assert "zwerfkatten" not in shown.lower() and "Kortrijk" not in shown and "Gent" not in shown
        assert "<@" not in shown and ids.ACTION_NEEDS_DISMISS not in shown
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()
