"""End to end: ``wieweet run`` with nobody as staff and no triage channel starts, and says so at once in WARNING
lines, instead of the first sign being a failed staff post hours later."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import BotProcess
from tests.emulator import SlackEmulator


def test_run_warns_when_nobody_is_staff_and_there_is_no_triage_channel(
    emulator: SlackEmulator, demo_db_url: str, tmp_path: Path
) -> None:
    bot = BotProcess(emulator, database_url=demo_db_url, mode="socket", log_path=tmp_path / "bot.log").start()
    try:
        log = bot.log()
    finally:
        bot.stop()
    staff = [line for line in log.splitlines() if "nor WIEWEET_STAFF_USERGROUP is set: nobody is staff" in line]
    triage = [line for line in log.splitlines() if "WIEWEET_TRIAGE_CHANNEL is not set" in line]
    assert len(staff) == 1 and len(triage) == 1, log
    assert "WARNING" in staff[0] and "WARNING" in triage[0], log
