"""End to end: a triage channel shared with another organisation (Slack Connect) gets nothing for staff.

Escalated questions — private ones too — and reviews are not posted where people outside the network read them:
``wieweet run`` warns at start, and each staff member gets them by DM instead, saying why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers import ids
from tests.e2e.conftest import NL_USER
from tests.e2e.harness import flat
from tests.e2e.staffing import STAFF, TRIAGE
from tests.e2e.test_practices import SUMMARY, TITLE, submit_by_command
from tests.e2e.test_routing import BREAD, ask
from tests.e2e.test_staff_told import STAFF2, _people, staff_alerts, start
from tests.emulator import SlackEmulator

SHARED_NL = "gedeeld met een andere organisatie"
SHARED_EN = "shared with another organisation"
OTHER_ORG_USER = "U0EXTERN1"


@pytest.mark.postgres_too
def test_a_shared_triage_channel_gets_no_staff_post_and_staff_get_dms(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path, clock_file: Path
) -> None:
    _people(emulator)
    emulator.add_user(OTHER_ORG_USER, name="extern", real_name="Eve Extern", team_id="T0OTHER01")
    emulator.add_channel(
        TRIAGE, name="triage", members=[STAFF, OTHER_ORG_USER, emulator.bot_user_id], is_ext_shared=True
    )
    bot = start(emulator, demo_db_url, tmp_path / "bot.log", clock_file)
    try:
        emulator.wait_for(lambda: f"WIEWEET_TRIAGE_CHANNEL {TRIAGE} is shared with another organisation" in bot.log())
        ask(emulator, NL_USER, BREAD, visibility="private")  # nobody in the register matches: straight to staff
        nl = emulator.wait_for(lambda: staff_alerts(emulator, STAFF, SHARED_NL), timeout=30)
        en = emulator.wait_for(lambda: staff_alerts(emulator, STAFF2, SHARED_EN), timeout=30)
        assert f"<#{TRIAGE}>" in nl[0] and "zuurdesembrood" not in nl[0] + en[0]  # private: its text left out
        submit_by_command(emulator, NL_USER, title=TITLE, summary=SUMMARY, city="Mechelen", outcome="good")
        for user, words in ((STAFF, SHARED_NL), (STAFF2, SHARED_EN)):
            emulator.wait_for(
                lambda user=user, words=words: [
                    m
                    for m in emulator.messages(emulator.dm_channel_with(user))
                    if ids.ACTION_PRACTICE_APPROVE in flat(m.get("blocks")) and words in flat(m)
                ],
                timeout=30,
            )
        assert emulator.messages(TRIAGE) == []
        assert [c for c in emulator.calls_to("chat.postMessage") if c.params.get("channel") == TRIAGE] == []
        assert "Traceback" not in bot.log()
    finally:
        bot.stop()
