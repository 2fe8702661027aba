"""End to end: a triage channel shared with another organisation (Slack Connect) gets nothing for staff. A
knowledge-needs report asked there (topics, figures, named people and organisations) goes to the staff member's DM."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import Database
from tests.e2e.harness import BotProcess
from tests.e2e.needs_seed import add_askers_and_lead
from tests.e2e.staffing import STAFF, TRIAGE, staff_bot
from tests.e2e.test_needs import needs_pass, uploaded
from tests.emulator import SlackEmulator

OTHER_ORG_USER = "U0EXTERN1"


@pytest.fixture
def shared_bot(emulator: SlackEmulator, demo_db_url: str, db: Database, tmp_path: Path) -> Iterator[BotProcess]:
    emulator.add_user(STAFF, name="staff", real_name="Kenniscentrum", locale="nl-BE")
    emulator.add_user(OTHER_ORG_USER, name="extern", real_name="Eve Extern", team_id="T0OTHER01")
    add_askers_and_lead(emulator, db, now=datetime.now(UTC))
    emulator.add_channel(
        TRIAGE, name="triage", members=[STAFF, OTHER_ORG_USER, emulator.bot_user_id], is_ext_shared=True
    )
    process = staff_bot(emulator, demo_db_url, tmp_path)
    process.start()
    yield process
    process.stop()


def test_a_report_asked_in_a_shared_triage_channel_goes_to_the_staff_members_dm(
    shared_bot: BotProcess, emulator: SlackEmulator, db: Database
) -> None:
    warning = f"WIEWEET_TRIAGE_CHANNEL {TRIAGE} is shared with another organisation"
    emulator.wait_for(lambda: warning in shared_bot.log())
    needs_pass(db)
    emulator.send_command(STAFF, TRIAGE, text="rapport")
    files = emulator.wait_for(lambda: uploaded(emulator, ".xlsx"), timeout=30)
    assert TRIAGE not in files[-1]["channels"]  # the other organisation's member never gets the report
    [dm] = files[-1]["channels"]
    assert dm.startswith("D")
    assert all(TRIAGE not in f["channels"] for f in emulator.files())  # nor the chart
